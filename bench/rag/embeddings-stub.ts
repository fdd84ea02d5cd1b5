// A loopback OpenAI-compatible embeddings server for the quality benchmark, so the
// OpenAI-compatible adapter (LangChain's OpenAIEmbeddings: batched requests, `dimensions`, float
// encoding) runs end to end without a model download or network.
//
// The model behind it is real, if small: latent semantic analysis fitted on the corpus paragraphs.
// Paragraphs become log-tf·idf vectors over the engine's own analyzer (stemmed content words); the
// leading singular directions of that paragraph × term matrix become the embedding axes, and a text
// is embedded by projecting its tf·idf vector onto them. Terms that co-occur in paragraphs share
// axes, so a question can match a passage through related words it does not contain. It is
// deterministic and sees no question. A `dimensions` request keeps the leading axes, which carry
// the most variance (truncating an SVD is the principled way to shorten its vectors).
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { analyzeTerms } from "#shared/embeddings/local.ts";

export interface LsaModel {
  /** Axes fitted (the most a request may ask for). */
  readonly dimensions: number;
  /** Vocabulary size. */
  readonly terms: number;
  /** Projection of one text on the leading `dimensions` axes (not normalised). */
  embed(text: string, dimensions?: number): Float32Array;
}

/** Eigen-decomposition of a symmetric matrix (cyclic Jacobi); the input is overwritten. */
function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const vectors = new Float64Array(n * n);
  for (let i = 0; i < n; i++) vectors[i * n + i] = 1;
  const at = (i: number, j: number) => matrix[i * n + j] ?? 0;
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += at(i, j) ** 2;
    if (off < 1e-18) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = at(p, q);
        if (Math.abs(apq) < 1e-15) continue;
        const theta = (at(q, q) - at(p, p)) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = at(k, p);
          const akq = at(k, q);
          matrix[k * n + p] = c * akp - s * akq;
          matrix[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = at(p, k);
          const aqk = at(q, k);
          matrix[p * n + k] = c * apk - s * aqk;
          matrix[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = vectors[k * n + p] ?? 0;
          const vkq = vectors[k * n + q] ?? 0;
          vectors[k * n + p] = c * vkp - s * vkq;
          vectors[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = at(i, i);
  return { values, vectors };
}

/** Paragraphs of Markdown documents, headings left out: the units LSA learns co-occurrence from. */
export function paragraphsOf(documents: string[]): string[] {
  return documents.flatMap((text) =>
    text
      .split(/\n\s*\n/)
      .map((paragraph) =>
        paragraph
          .split("\n")
          .filter((line) => !/^#{1,6}\s/.test(line.trim()))
          .join(" ")
          .trim(),
      )
      .filter((paragraph) => analyzeTerms(paragraph).length > 0),
  );
}

/** Fits LSA with at most `dimensions` axes on the given paragraphs. */
export function fitLsaModel(paragraphs: string[], dimensions: number): LsaModel {
  const vocabulary = new Map<string, number>();
  const counts = paragraphs.map((paragraph) => {
    const tf = new Map<number, number>();
    for (const term of analyzeTerms(paragraph)) {
      let id = vocabulary.get(term);
      if (id === undefined) {
        id = vocabulary.size;
        vocabulary.set(term, id);
      }
      tf.set(id, (tf.get(id) ?? 0) + 1);
    }
    return tf;
  });
  const n = paragraphs.length;
  const df = new Float64Array(vocabulary.size);
  for (const tf of counts) for (const id of tf.keys()) df[id] = (df[id] ?? 0) + 1;
  const idf = Float64Array.from(df, (d) => Math.log(n / d));
  const weigh = (tf: Map<number, number>) =>
    [...tf].map(([id, count]) => ({ id, weight: (1 + Math.log(count)) * (idf[id] ?? 0) }));
  const rows = counts.map(weigh);

  // The paragraphs' Gram matrix is small (paragraphs², not terms²); its eigenvectors give the
  // right singular vectors as V = Aᵀ U Σ⁻¹.
  const dense = rows.map((row) => {
    const values = new Float64Array(vocabulary.size);
    for (const { id, weight } of row) values[id] = weight;
    return values;
  });
  const gram = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let sum = 0;
      for (const { id, weight } of rows[i] ?? []) sum += weight * (dense[j]?.[id] ?? 0);
      gram[i * n + j] = sum;
      gram[j * n + i] = sum;
    }
  }
  const { values, vectors } = symmetricEigen(gram, n);
  const order = [...values.keys()]
    .filter((i) => (values[i] ?? 0) > 1e-9)
    .sort((a, b) => (values[b] ?? 0) - (values[a] ?? 0));
  const kept = order.slice(0, dimensions);
  const axes = kept.length;
  // termAxes[term * axes + a]: the term's coordinate on axis a (columns of V).
  const termAxes = new Float32Array(vocabulary.size * axes);
  kept.forEach((eigen, a) => {
    const sigma = Math.sqrt(values[eigen] ?? 1);
    for (let i = 0; i < n; i++) {
      const u = (vectors[i * n + eigen] ?? 0) / sigma;
      if (u === 0) continue;
      for (const { id, weight } of rows[i] ?? []) termAxes[id * axes + a] = (termAxes[id * axes + a] ?? 0) + weight * u;
    }
  });

  return {
    dimensions: axes,
    terms: vocabulary.size,
    embed(text, wanted = axes) {
      const size = Math.min(wanted, axes);
      const tf = new Map<number, number>();
      for (const term of analyzeTerms(text)) {
        const id = vocabulary.get(term);
        // Words the corpus never used carry no co-occurrence evidence.
        if (id !== undefined) tf.set(id, (tf.get(id) ?? 0) + 1);
      }
      const vector = new Float32Array(size);
      for (const { id, weight } of weigh(tf)) {
        for (let a = 0; a < size; a++) vector[a] = (vector[a] ?? 0) + weight * (termAxes[id * axes + a] ?? 0);
      }
      return vector;
    },
  };
}

export interface EmbeddingsStub {
  /** Base URL for an OpenAI-compatible client, ending in /v1. */
  baseUrl: string;
  model: string;
  /** Requests answered, texts embedded and the largest batch seen (to show the client batches). */
  stats: { requests: number; texts: number; largestBatch: number; dimensionsRequested: number[] };
  close(): Promise<void>;
}

class BadRequest extends Error {}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of request) parts.push(part as Buffer);
  try {
    return JSON.parse(Buffer.concat(parts).toString("utf8"));
  } catch {
    throw new BadRequest("the body is not JSON");
  }
}

/** Serves `POST /v1/embeddings` for `model` on 127.0.0.1 (a free port). */
export async function startEmbeddingsStub(lsa: LsaModel, model = "corpus-lsa"): Promise<EmbeddingsStub> {
  const stats: EmbeddingsStub["stats"] = { requests: 0, texts: 0, largestBatch: 0, dimensionsRequested: [] };
  const server: Server = createServer((request, response) => {
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (request.method !== "POST" || request.url !== "/v1/embeddings") {
      reply(404, { error: { message: "only POST /v1/embeddings is served" }, detail: "not found" });
      return;
    }
    readJson(request)
      .then((body) => {
        const { input, dimensions } = (body ?? {}) as { input?: unknown; dimensions?: unknown };
        const texts = typeof input === "string" ? [input] : input;
        if (!Array.isArray(texts) || texts.length === 0 || !texts.every((text) => typeof text === "string")) {
          throw new BadRequest("input must be a string or a non-empty array of strings");
        }
        if (dimensions !== undefined && (!Number.isInteger(dimensions) || (dimensions as number) < 1)) {
          throw new BadRequest("dimensions must be a positive integer");
        }
        const size = (dimensions as number | undefined) ?? lsa.dimensions;
        if (size > lsa.dimensions) throw new BadRequest(`dimensions must be at most ${lsa.dimensions}`);
        stats.requests++;
        stats.texts += texts.length;
        stats.largestBatch = Math.max(stats.largestBatch, texts.length);
        if (dimensions !== undefined && !stats.dimensionsRequested.includes(size)) stats.dimensionsRequested.push(size);
        const tokens = texts.reduce((sum, text) => sum + text.split(/\s+/).filter(Boolean).length, 0);
        reply(200, {
          object: "list",
          model,
          data: texts.map((text, index) => ({ object: "embedding", index, embedding: [...lsa.embed(text, size)] })),
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        });
      })
      .catch((error: unknown) => {
        if (error instanceof BadRequest) reply(400, { error: { message: error.message }, detail: error.message });
        else reply(500, { error: { message: "embedding failed" }, detail: "embedding failed" });
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    model,
    stats,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
