// Retrieval latency on synthetic libraries of one user (1k / 10k / 100k chunks). Shards are built
// with the real buildShard from clustered vectors and published exactly as ingestion publishes
// them (blob layout and record fields), so `retrieve` cannot tell them from ingested documents;
// embedding 100k chunk texts would only add minutes without changing what is measured.
import faiss from "faiss-node";
import { indexPrefix } from "#shared/documents/records.ts";
import { normalizeInPlace } from "#shared/embeddings/embeddings.ts";
import { type StoredChunk, shardFiles } from "#shared/ingestion/ingest.ts";
import { createRetriever } from "#shared/rag/retrieve.ts";
import { buildShard } from "#shared/vector-index/shard.ts";
import { type BenchEnvironment, elapsedMs, gaussian, peakRssMb, percentile, round, seededRandom } from "./harness.ts";

const DEPTH = 10;
const TOPICS = 64;
// The retriever's default cache (shared/rag/retrieve.ts); reported so a library that would not
// stay cached under the default is visible.
const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;
const FAISS_ADD_BATCH = 2048;
const FLOOR_REPEATS = 10;

export interface LibrarySpec {
  chunks: number;
  sources: number;
}

export const LIBRARIES: LibrarySpec[] = [
  { chunks: 1_000, sources: 10 },
  { chunks: 10_000, sources: 100 },
  { chunks: 100_000, sources: 1_000 },
];

interface Timing {
  p50: number;
  p95: number;
  mean: number;
}

export interface LibraryReport {
  chunks: number;
  sources: number;
  build_s: number;
  stored_mb: { shards: number; chunks: number };
  /** Bytes the retriever's cache accounts for this library, against its 256 MiB default. */
  cache_mb_needed: number;
  fits_default_cache: boolean;
  queries: number;
  cold_first_query_ms: number;
  retrieve_ms: Timing;
  /** Parts of a cached query, measured alone: listing the user's ready records and embedding the question. */
  records_list_ms: Timing;
  query_embed_ms: Timing;
  /** One exact top-10 scan in TypeScript over a single Float32Array of all vectors. */
  typescript_exact_scan_ms: Timing;
  /** One FAISS IndexFlatIP over all vectors (what a single per-user index would cost). */
  faiss_single_index_ms: Timing;
  /** Reading every float once (a sum, best of 10): the memory-bandwidth floor of any exact scan. */
  read_floor_ms: number;
  /** Resident memory once the library is built, once it is loaded (cached) by the retriever, and at the end. */
  rss_mb: { after_build: number; after_cold_query: number; after_queries: number };
  peak_rss_mb: number;
}

function rssMb(): number {
  return round(process.memoryUsage().rss / 1_048_576, 1);
}

function summarise(values: number[]): Timing {
  return {
    p50: round(percentile(values, 50)),
    p95: round(percentile(values, 95)),
    mean: round(values.reduce((sum, value) => sum + value, 0) / values.length),
  };
}

/** Unit vectors clustered like real embeddings: each source mixes two topic centroids plus noise. */
function clusteredVectors(spec: LibrarySpec, dims: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const normal = gaussian(random);
  const centroids = Array.from({ length: TOPICS }, () =>
    normalizeInPlace(Float32Array.from({ length: dims }, () => normal())),
  );
  const all = new Float32Array(spec.chunks * dims);
  const perSource = spec.chunks / spec.sources;
  const noise = 0.9 / Math.sqrt(dims);
  for (let source = 0; source < spec.sources; source++) {
    const main = centroids[Math.floor(random() * TOPICS)] ?? new Float32Array(dims);
    const side = centroids[Math.floor(random() * TOPICS)] ?? new Float32Array(dims);
    for (let chunk = 0; chunk < perSource; chunk++) {
      const mix = 0.3 + 0.5 * random();
      const row = all.subarray((source * perSource + chunk) * dims, (source * perSource + chunk + 1) * dims);
      for (let i = 0; i < dims; i++) row[i] = (main[i] ?? 0) + mix * (side[i] ?? 0) + noise * normal();
      normalizeInPlace(row);
    }
  }
  return all;
}

/** Top-k inner products by a plain scan (the baseline the FAISS shards are compared with). */
function exactScan(all: Float32Array, dims: number, query: Float32Array, k: number): number[] {
  const scores: number[] = [];
  const ids: number[] = [];
  const rows = all.length / dims;
  for (let row = 0; row < rows; row++) {
    // Four accumulators break the add-latency chain, as a tuned scalar scan would (dims % 4 === 0).
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    const offset = row * dims;
    for (let i = 0; i < dims; i += 4) {
      s0 += (all[offset + i] ?? 0) * (query[i] ?? 0);
      s1 += (all[offset + i + 1] ?? 0) * (query[i + 1] ?? 0);
      s2 += (all[offset + i + 2] ?? 0) * (query[i + 2] ?? 0);
      s3 += (all[offset + i + 3] ?? 0) * (query[i + 3] ?? 0);
    }
    const score = s0 + s1 + s2 + s3;
    if (scores.length < k || score > (scores[scores.length - 1] ?? -Infinity)) {
      let at = scores.length;
      while (at > 0 && (scores[at - 1] ?? 0) < score) at--;
      scores.splice(at, 0, score);
      ids.splice(at, 0, row);
      if (scores.length > k) {
        scores.pop();
        ids.pop();
      }
    }
  }
  return ids;
}

function readFloor(all: Float32Array): number {
  const times: number[] = [];
  let sink = 0;
  for (let repeat = 0; repeat < FLOOR_REPEATS; repeat++) {
    const start = process.hrtime.bigint();
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let i = 0; i < all.length; i += 4) {
      s0 += all[i] ?? 0;
      s1 += all[i + 1] ?? 0;
      s2 += all[i + 2] ?? 0;
      s3 += all[i + 3] ?? 0;
    }
    times.push(elapsedMs(start));
    sink += s0 + s1 + s2 + s3;
  }
  if (Number.isNaN(sink)) throw new Error("unreachable: the floor sum is NaN");
  return round(Math.min(...times));
}

function singleFaissIndex(all: Float32Array, dims: number): InstanceType<typeof faiss.IndexFlatIP> {
  const index = new faiss.IndexFlatIP(dims);
  const rows = all.length / dims;
  for (let start = 0; start < rows; start += FAISS_ADD_BATCH) {
    const end = Math.min(rows, start + FAISS_ADD_BATCH);
    index.add(Array.from(all.subarray(start * dims, end * dims)));
  }
  return index;
}

/** Publishes a synthetic library for one user and times retrieval over it. */
export async function measureLibrary(
  env: BenchEnvironment,
  spec: LibrarySpec,
  chunkTexts: string[],
  questions: string[],
): Promise<LibraryReport> {
  const dims = env.embedder.dimensions;
  const userId = `bench-library-${spec.chunks}`;
  const perSource = spec.chunks / spec.sources;
  const buildStart = process.hrtime.bigint();
  const all = clusteredVectors(spec, dims, 0x5eed + spec.chunks);
  let shardBytes = 0;
  let chunkBytes = 0;
  for (let source = 0; source < spec.sources; source++) {
    const sourceId = `synthetic-${String(source).padStart(4, "0")}`;
    const record = await env.records.create(userId, {
      filename: `${sourceId}.pdf`,
      source_id: sourceId,
      content_type: "application/pdf",
      origin: "bench",
    });
    // Same layout as ingestDocument: indexes/{user}/{source}/{document}/v{n}/.
    const indexKey = `${indexPrefix(userId, sourceId)}${record._id}/v1/`;
    const vectors = Array.from({ length: perSource }, (_, chunk) =>
      all.subarray((source * perSource + chunk) * dims, (source * perSource + chunk + 1) * dims),
    );
    const stored: StoredChunk[] = vectors.map((_, chunk) => {
      const text = chunkTexts[(source * perSource + chunk) % chunkTexts.length] ?? "";
      return {
        chunk_id: `${sourceId}:${chunk}`,
        page: 1 + Math.floor(chunk / 4),
        start: 0,
        end: text.length,
        heading_path: [],
        text,
      };
    });
    const chunkJson = new TextEncoder().encode(JSON.stringify(stored));
    const shard = buildShard(vectors, dims);
    shardBytes += shard.byteLength;
    chunkBytes += chunkJson.byteLength;
    const files = shardFiles(indexKey);
    await env.blobs.put(files.chunks, chunkJson, { contentType: "application/json" });
    await env.blobs.put(files.shard, shard, { contentType: "application/octet-stream" });
    await env.records.update(userId, record._id, {
      status: "ready",
      detected_type: "pdf",
      pages: Math.ceil(perSource / 4),
      chunk_count: perSource,
      embedding_model: env.embedder.model,
      embedding_dims: dims,
      index_key: indexKey,
      index_version: 1,
      completed_at: new Date(),
    });
  }
  const buildS = elapsedMs(buildStart) / 1000;
  const rssAfterBuild = rssMb();

  // Same accounting as the retriever's cache: the shard and its serialised copy (kept for merging
  // large scopes) + three times the chunk JSON (parsed chunks and their lexical index).
  const cacheNeeded = shardBytes * 2 + chunkBytes * 3;
  const retriever = createRetriever({
    records: env.records,
    blobs: env.blobs,
    embedder: env.embedder,
    logger: env.logger,
    cacheBytes: Math.max(DEFAULT_CACHE_BYTES, Math.ceil(cacheNeeded * 1.25)),
  });
  const coldStart = process.hrtime.bigint();
  const cold = await retriever.retrieve({ userId }, questions[0] ?? "warm-up", DEPTH);
  const coldMs = elapsedMs(coldStart);
  if (cold.searched !== spec.sources || cold.passages.length !== DEPTH) {
    throw new Error(`library ${spec.chunks}: searched ${cold.searched} sources, got ${cold.passages.length} passages`);
  }

  const rssAfterCold = rssMb();
  const retrieveMs: number[] = [];
  for (const question of questions) {
    const start = process.hrtime.bigint();
    await retriever.retrieve({ userId }, question, DEPTH);
    retrieveMs.push(elapsedMs(start));
  }
  const rssAfterQueries = rssMb();
  const listMs: number[] = [];
  const embedMs: number[] = [];
  const scanMs: number[] = [];
  const faissMs: number[] = [];
  const single = singleFaissIndex(all, dims);
  for (const question of questions) {
    let start = process.hrtime.bigint();
    await env.records.list(userId, { status: "ready" });
    listMs.push(elapsedMs(start));
    start = process.hrtime.bigint();
    const [query] = await env.embedder.embed([question]);
    embedMs.push(elapsedMs(start));
    if (!query) throw new Error("the embedder returned no vector");
    start = process.hrtime.bigint();
    exactScan(all, dims, query, DEPTH);
    scanMs.push(elapsedMs(start));
    start = process.hrtime.bigint();
    single.search(Array.from(query), DEPTH);
    faissMs.push(elapsedMs(start));
  }

  return {
    chunks: spec.chunks,
    sources: spec.sources,
    build_s: round(buildS, 1),
    stored_mb: { shards: round(shardBytes / 1_048_576, 1), chunks: round(chunkBytes / 1_048_576, 1) },
    cache_mb_needed: round(cacheNeeded / 1_048_576, 1),
    fits_default_cache: cacheNeeded <= DEFAULT_CACHE_BYTES,
    queries: questions.length,
    cold_first_query_ms: round(coldMs, 1),
    retrieve_ms: summarise(retrieveMs),
    records_list_ms: summarise(listMs),
    query_embed_ms: summarise(embedMs),
    typescript_exact_scan_ms: summarise(scanMs),
    faiss_single_index_ms: summarise(faissMs),
    read_floor_ms: readFloor(all),
    rss_mb: { after_build: rssAfterBuild, after_cold_query: rssAfterCold, after_queries: rssAfterQueries },
    peak_rss_mb: peakRssMb(),
  };
}

const LEAK_PROBE_CALLS = 50_000;

/**
 * Resident bytes that stay allocated per FAISS search call. faiss-node 0.5.1 copies the query into
 * a `new float[]` it never frees, so each shard searched by `retrieve` leaks dims × 4 bytes; this
 * probe shows whether an upgrade or a patch fixed it (near 0 when fixed). It reads RSS, so it must
 * run before the process has freed memory that malloc could hand back out.
 */
export function measureSearchLeak(dims: number): number {
  const index = new faiss.IndexFlatIP(dims);
  const random = seededRandom(7);
  index.add(Array.from({ length: 100 * dims }, () => random()));
  const query = Array.from({ length: dims }, () => random());
  for (let i = 0; i < 1_000; i++) index.search(query, DEPTH);
  const before = process.memoryUsage();
  for (let i = 0; i < LEAK_PROBE_CALLS; i++) index.search(query, DEPTH);
  const after = process.memoryUsage();
  // The JavaScript heap's own growth (uncollected result arrays) is not a native leak.
  const native = after.rss - before.rss - Math.max(0, after.heapTotal - before.heapTotal);
  return Math.max(0, Math.round(native / LEAK_PROBE_CALLS));
}
