import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BlobStore } from "#shared/blobs/blobs.ts";
import type { DocumentRecords } from "#shared/documents/records.ts";
import { type Embedder, EmbeddingError } from "#shared/embeddings/embeddings.ts";
import { createLocalEmbedder } from "#shared/embeddings/local.ts";
import { type ExtractionLimits, extractDocument } from "#shared/extraction/extract.ts";
import { type IngestionDeps, ingestDocument, type StoredChunk, shardFiles } from "#shared/ingestion/ingest.ts";
import { createLogger } from "#shared/observability/logger.ts";
import { loadShard } from "#shared/vector-index/shard.ts";
import { makeTextPdf } from "#test/fixtures/documents/make-documents.ts";
import { type DocumentsTestEnv, openDocumentsTestEnv } from "#test/support/published-sources.ts";

const USER = "student-1";
const limits: ExtractionLimits = {
  maxBytes: 5_000_000,
  maxPages: 50,
  maxChars: 200_000,
  maxDocxUncompressedBytes: 1_000_000,
  ocrTimeoutMs: 15_000,
};

/** Page texts long enough for several chunks each, with a distinct word per page. */
function pageTexts(count: number): string[] {
  return Array.from({ length: count }, (_, page) =>
    Array.from(
      { length: 24 },
      (_, line) => `Page ${page + 1} line ${line + 1}: mitochondria turn glucose into ATP in the cell.`,
    ).join("\n"),
  );
}

let env: DocumentsTestEnv;
let records: DocumentRecords;
let blobs: BlobStore;

beforeEach(async () => {
  env = await openDocumentsTestEnv("ingest");
  ({ records, blobs } = env);
});

afterEach(async () => {
  await env.close();
});

function deps(overrides: Partial<IngestionDeps> = {}): IngestionDeps {
  return {
    records,
    blobs,
    embedder: createLocalEmbedder(),
    limits,
    logger: createLogger({ service: "test", level: "SILENT" }),
    ...overrides,
  };
}

async function upload(bytes: Uint8Array, filename = "notes.pdf") {
  const record = await records.create(USER, { filename, content_type: "application/pdf", origin: "test" });
  await blobs.put(record.blob_key, bytes, { contentType: "application/pdf" });
  return record;
}

describe("ingestDocument: pages streamed through chunking and embedding", () => {
  it("stores every chunk with its page and offsets and one vector per chunk, across embedding batches", async () => {
    // Prepare
    const pdf = await makeTextPdf(pageTexts(4));
    const pages = (await extractDocument(pdf, { limits })).pages;
    const record = await upload(pdf);
    const calls: number[] = [];
    const local = createLocalEmbedder();
    const embedder: Embedder = {
      model: local.model,
      dimensions: local.dimensions,
      embed: (texts) => {
        calls.push(texts.length);
        return local.embed(texts);
      },
    };

    // Act
    const outcome = await ingestDocument(deps({ embedder, embedBatchSize: 2 }), {
      userId: USER,
      documentId: record._id,
    });

    // Assess
    const ready = await records.find(USER, record._id);
    expect(outcome).toBe("ready");
    expect(ready?.pages).toBe(4);
    const files = shardFiles(ready?.index_key ?? "");
    const json = new TextDecoder().decode(await blobs.get(files.chunks));
    const stored = JSON.parse(json) as StoredChunk[];
    // Written batch by batch, yet byte for byte what one JSON.stringify of the list gives.
    expect(json).toBe(JSON.stringify(stored));
    expect(stored).toHaveLength(ready?.chunk_count ?? -1);
    expect(new Set(stored.map((chunk) => chunk.page))).toEqual(new Set([1, 2, 3, 4]));
    for (const chunk of stored) {
      const pageText = pages.find((page) => page.page === chunk.page)?.text ?? "";
      expect(chunk.text).toBe(pageText.slice(chunk.start, chunk.end));
    }
    expect(calls.every((size) => size <= 2)).toBe(true);
    expect(calls.reduce((sum, size) => sum + size, 0)).toBe(stored.length);
    const shardBytes = await blobs.get(files.shard);
    const shard = loadShard(Buffer.from(shardBytes ?? new Uint8Array()), {
      model: local.model,
      dimensions: local.dimensions,
      count: stored.length,
      version: ready?.index_version ?? 0,
    });
    const [query] = await local.embed([stored[stored.length - 1]?.text ?? ""]);
    expect(shard.search(query ?? new Float32Array(), 1)[0]?.index).toBe(stored.length - 1);
  });

  it("ingests with an embedder that learns its dimensions from its first answer, as a fresh OpenAI-compatible one does", async () => {
    // Prepare
    const pdf = await makeTextPdf(pageTexts(2));
    const record = await upload(pdf);
    const local = createLocalEmbedder();
    let learned = 0;
    const embedder: Embedder = {
      model: "remote-embeddings",
      get dimensions() {
        return learned;
      },
      embed: async (texts) => {
        const vectors = await local.embed(texts);
        learned = vectors[0]?.length ?? learned;
        return vectors;
      },
    };

    // Act
    const outcome = await ingestDocument(deps({ embedder }), { userId: USER, documentId: record._id });

    // Assess
    const ready = await records.find(USER, record._id);
    expect(outcome).toBe("ready");
    expect(ready?.embedding_dims).toBe(local.dimensions);
    expect(ready?.embedding_model).toBe("remote-embeddings");
  });

  it("fails with the extraction's reason when a later page passes the text limit", async () => {
    // Prepare
    const texts = pageTexts(3);
    const record = await upload(await makeTextPdf(texts));
    const firstTwoPages = (texts[0]?.length ?? 0) + (texts[1]?.length ?? 0);

    // Act
    const outcome = await ingestDocument(
      deps({ limits: { ...limits, maxChars: firstTwoPages + 10 }, embedBatchSize: 1 }),
      {
        userId: USER,
        documentId: record._id,
      },
    );

    // Assess
    const failed = await records.find(USER, record._id);
    expect(outcome).toBe("failed");
    expect(failed?.status).toBe("failed");
    expect(failed?.error).toContain(`limit ${firstTwoPages + 10} characters`);
    expect(await blobs.list(`indexes/${USER}/`)).toEqual([]);
  });

  it("leaves the document to a retry, with nothing published, when embedding fails midway", async () => {
    // Prepare
    const record = await upload(await makeTextPdf(pageTexts(3)));
    const local = createLocalEmbedder();
    let calls = 0;
    const flaky: Embedder = {
      model: local.model,
      dimensions: local.dimensions,
      embed: async (texts) => {
        calls += 1;
        if (calls === 2) throw new EmbeddingError("embedding service unavailable");
        return local.embed(texts);
      },
    };

    // Act
    const attempt = ingestDocument(deps({ embedder: flaky, embedBatchSize: 2 }), {
      userId: USER,
      documentId: record._id,
    });

    // Assess
    await expect(attempt).rejects.toThrow("embedding service unavailable");
    const pending = await records.find(USER, record._id);
    expect(pending?.status).toBe("processing");
    expect(pending?.index_key).toBeUndefined();
    const retried = await ingestDocument(deps(), { userId: USER, documentId: record._id });
    expect(retried).toBe("ready");
  });
});
