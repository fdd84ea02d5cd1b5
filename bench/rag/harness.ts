// What every part of the RAG benchmark shares: an offline engine slice (embedded store, filesystem
// blobs, local embedder) in a throw-away directory; the statistics come from bench/stats.ts.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BlobStore } from "#shared/blobs/blobs.ts";
import { createFilesystemBlobStore } from "#shared/blobs/filesystem.ts";
import { createDocumentRecords, type DocumentRecords } from "#shared/documents/records.ts";
import type { Embedder } from "#shared/embeddings/embeddings.ts";
import { createLocalEmbedder } from "#shared/embeddings/local.ts";
import type { ExtractionLimits } from "#shared/extraction/extract.ts";
import { createLogger, type Logger } from "#shared/observability/logger.ts";
import { openEmbeddedStore } from "#shared/store/embedded.ts";
import type { DocumentStore } from "#shared/store/store.ts";

export interface BenchEnvironment {
  dir: string;
  store: DocumentStore;
  records: DocumentRecords;
  blobs: BlobStore;
  embedder: Embedder;
  logger: Logger;
  limits: ExtractionLimits;
  close(): Promise<void>;
}

// The engine's configuration defaults (shared/config/config.ts), so ingestion runs as it would locally.
const DEFAULT_LIMITS: ExtractionLimits = {
  maxBytes: 25 * 1024 * 1024,
  maxPages: 500,
  maxChars: 3_000_000,
  maxDocxUncompressedBytes: 100 * 1024 * 1024,
  ocrTimeoutMs: 120_000,
};

/** Opens the embedded adapters in a fresh temp directory, removed again by `close`. */
export async function openBenchEnvironment(name: string): Promise<BenchEnvironment> {
  const dir = await mkdtemp(join(tmpdir(), `collabry-bench-${name}-`));
  const store = await openEmbeddedStore({ dir: join(dir, "store") });
  const blobs = createFilesystemBlobStore({ root: join(dir, "blobs"), signingSecret: "bench-signing-secret" });
  return {
    dir,
    store,
    records: createDocumentRecords(store),
    blobs,
    embedder: createLocalEmbedder(),
    logger: createLogger({ service: "bench-rag", level: "SILENT" }),
    limits: DEFAULT_LIMITS,
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export { elapsedMs, gaussian, median, peakRssMb, percentile, round, seededRandom } from "../stats.ts";
