// What every part of the RAG benchmark shares: an offline engine slice (embedded store, filesystem
// blobs, local embedder) in a throw-away directory, a seeded PRNG and the summary statistics.
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

/** mulberry32: a tiny, fast PRNG, so every run builds the same synthetic data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Standard normal samples (Box–Muller) from a uniform source. */
export function gaussian(random: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const u = Math.max(random(), Number.EPSILON);
    const v = random();
    const radius = Math.sqrt(-2 * Math.log(u));
    spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  };
}

/** Nearest-rank percentile (p in 0..100) of a non-empty sample. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function peakRssMb(): number {
  // maxRSS is in kilobytes.
  return round(process.resourceUsage().maxRSS / 1024, 1);
}
