// Ingestion of one document: extract → chunk → embed → FAISS shard → publish. Idempotent and
// crash-safe: the shard and its chunks are written under a new version key and only then
// published by a conditional update of the record, so a retried message rebuilds the same
// version (same chunk ids, no duplicates) and a crash never leaves a half shard visible.
import { createHash } from "node:crypto";
import type { BlobStore } from "../blobs/blobs.ts";
import { type Chunk, createChunker } from "../chunking/chunk.ts";
import { type DocumentRecord, type DocumentRecords, indexPrefix } from "../documents/records.ts";
import type { Embedder } from "../embeddings/embeddings.ts";
import { ExtractionError } from "../extraction/errors.ts";
import type { DocumentPages, ExtractedPage, ExtractionLimits } from "../extraction/types.ts";
import type { Logger } from "../observability/logger.ts";
import { createShardBuilder, type ShardBuilder } from "../vector-index/shard.ts";
import { type StoredChunk, shardFiles } from "./layout.ts";

export { type StoredChunk, shardFiles } from "./layout.ts";

export interface IngestionDeps {
  records: DocumentRecords;
  blobs: BlobStore;
  embedder: Embedder;
  limits: ExtractionLimits;
  logger: Logger;
  /** Chunks per embedding call (bounded memory and request size). */
  embedBatchSize?: number;
  now?: () => Date;
}

export interface IngestJob {
  userId: string;
  documentId: string;
}

export type IngestOutcome = "ready" | "failed" | "skipped";

/** Ingests one document; throws only on transient failures that a retry may fix. */
export async function ingestDocument(deps: IngestionDeps, job: IngestJob): Promise<IngestOutcome> {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger;
  const record = await deps.records.find(job.userId, job.documentId);
  // Deleted meanwhile, or already finished by an earlier delivery of the same message.
  if (!record || record.status === "ready" || record.status === "failed") return "skipped";

  const started = now();
  await deps.records.update(job.userId, job.documentId, {
    status: "processing",
    started_at: started,
    attempts: record.attempts + 1,
  });

  const fail = async (reason: string): Promise<IngestOutcome> => {
    await deps.records.update(job.userId, job.documentId, { status: "failed", error: reason, completed_at: now() });
    logger.info("ingestion failed", { document_id: job.documentId, reason });
    return "failed";
  };
  const extractionFailed = (error: unknown): Promise<IngestOutcome> => {
    if (error instanceof ExtractionError) return fail(error.message);
    logger.error("extraction crashed", { document_id: job.documentId, error: error as Error });
    return fail("The file could not be read. It may be corrupt or in a format that is not supported.");
  };

  const opened = await openUpload(deps, record);
  if ("failure" in opened) return fail(opened.failure);
  if ("error" in opened) return extractionFailed(opened.error);
  const { document, sha256, size } = opened;

  const version = record.index_version + 1;
  // Versions live under the document's own folder, so a replaced document of the same source can
  // never write into (or delete) the folder of the document that replaced it.
  const indexKey = `${indexPrefix(job.userId, record.source_id)}${record._id}/v${version}/`;
  const files = shardFiles(indexKey);

  // Pages stream through chunking and embedding: each batch of chunks is embedded, added to the
  // shard and serialised, then dropped, so a long document never holds all its page texts, chunks
  // and vectors at once.
  const chunker = createChunker({ sourceId: record.source_id });
  // Built with the first vectors: an OpenAI-compatible embedder learns its dimensions from its first
  // answer (0 before it), which in a fresh worker is this document's first batch.
  let shard: ShardBuilder | undefined;
  const stored = storedChunksWriter();
  const batchSize = deps.embedBatchSize ?? 128;
  let batch: Chunk[] = [];
  const embedBatch = async () => {
    const vectors = await deps.embedder.embed(batch.map((chunk) => chunk.text));
    shard ??= createShardBuilder(deps.embedder.dimensions || (vectors[0]?.length ?? 0));
    shard.add(vectors);
    stored.add(batch);
    batch = [];
  };
  let pageCount = 0;
  const pages = document.pages[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<ExtractedPage>;
      try {
        next = await pages.next();
      } catch (error) {
        return await extractionFailed(error);
      }
      if (next.done) break;
      pageCount++;
      for (const chunk of chunker.chunkPage(next.value)) {
        if (!answersSomething(chunk)) continue;
        batch.push(chunk);
        if (batch.length >= batchSize) await embedBatch();
      }
    }
    if (batch.length > 0) await embedBatch();
  } finally {
    // An embedding failure leaves the pages unfinished: the parser must still be released.
    await pages.return?.();
    await document.close();
  }
  if (stored.count === 0 || !shard) return fail("No readable text was found in this file.");

  // Blobs first, record last: until the conditional update below, nothing points at them.
  await deps.blobs.put(files.chunks, stored.bytes(), { contentType: "application/json" });
  await deps.blobs.put(files.shard, shard.toBuffer(), { contentType: "application/octet-stream" });

  const published = await deps.records.update(
    job.userId,
    job.documentId,
    {
      status: "ready",
      detected_type: document.type,
      sha256,
      size,
      pages: pageCount,
      chunk_count: stored.count,
      embedding_model: deps.embedder.model,
      embedding_dims: deps.embedder.dimensions,
      index_key: indexKey,
      index_version: version,
      completed_at: now(),
    },
    { index_version: record.index_version, status: "processing" },
  );
  if (!published) {
    // Deleted or published by a concurrent delivery: our version must not linger. A concurrent
    // delivery of the same message writes the same version key, so the files are deleted only when
    // no record of the source points at them (else the published shard would vanish under it).
    const owners = await deps.records.list(job.userId, { sourceIds: [record.source_id] });
    if (!owners.some((owner) => owner.index_key === indexKey)) await deps.blobs.deletePrefix(indexKey);
    return "skipped";
  }
  await removeOldVersions(deps.blobs, published, indexKey);
  logger.info("ingestion finished", {
    document_id: job.documentId,
    pages: pageCount,
    chunks: stored.count,
    duration_ms: now().getTime() - started.getTime(),
  });
  return "ready";
}

type OpenedUpload =
  | { document: DocumentPages; sha256: string; size: number }
  | { failure: string }
  | { error: unknown };

/**
 * Reads the upload and opens it for extraction. The bytes are hashed first and then handed over to
 * the parser, so they are referenced nowhere else once this returns.
 */
async function openUpload(deps: IngestionDeps, record: DocumentRecord): Promise<OpenedUpload> {
  const bytes = await deps.blobs.get(record.blob_key);
  if (!bytes)
    return { failure: "The uploaded file was not found. The upload may not have finished; please upload it again." };
  if (bytes.byteLength > deps.limits.maxBytes) {
    return {
      failure: `The file is ${formatBytes(bytes.byteLength)}, above the ${formatBytes(deps.limits.maxBytes)} limit for documents.`,
    };
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const size = bytes.byteLength;
  try {
    // Loaded on first use: the parsers (PDF, DOCX, OCR) are heavy and only the worker needs them.
    const { openDocument } = await import("../extraction/extract.ts");
    const document = await openDocument(bytes, {
      filenameHint: record.filename,
      limits: deps.limits,
      transferBytes: true,
    });
    return { document, sha256, size };
  } catch (error) {
    return { error };
  }
}

/** A chunk holding only a heading (a title directly followed by a subheading) answers nothing. */
function answersSomething(chunk: Chunk): boolean {
  return chunk.text.split("\n").some((line) => line.trim() !== "" && !/^#{1,6}\s/.test(line.trim()));
}

/**
 * `chunks.json` serialised batch by batch: the same bytes as JSON.stringify of the whole array,
 * without building one string of the document's entire text (and its encoded copy) at the end.
 */
function storedChunksWriter() {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  let count = 0;
  let length = 0;
  return {
    get count() {
      return count;
    },
    add(chunks: readonly Chunk[]) {
      const json = chunks.map((chunk) => {
        const stored: StoredChunk = {
          chunk_id: chunk.chunkId,
          page: chunk.page,
          start: chunk.startOffset,
          end: chunk.endOffset,
          heading_path: chunk.headingPath,
          text: chunk.text,
        };
        return JSON.stringify(stored);
      });
      const part = encoder.encode(`${count === 0 ? "" : ","}${json.join(",")}`);
      parts.push(part);
      length += part.byteLength;
      count += chunks.length;
    },
    bytes(): Uint8Array {
      const out = new Uint8Array(length + 2);
      out[0] = 0x5b; // [
      let offset = 1;
      for (const part of parts) {
        out.set(part, offset);
        offset += part.byteLength;
      }
      out[offset] = 0x5d; // ]
      return out;
    },
  };
}

async function removeOldVersions(blobs: BlobStore, record: DocumentRecord, current: string): Promise<void> {
  const prefix = indexPrefix(record.user_id, record.source_id);
  for (const key of await blobs.list(prefix)) {
    if (!key.startsWith(current)) await blobs.delete(key);
  }
}

/** Marks a document failed after its message exhausted its retries (called by the worker). */
export async function markIngestionAbandoned(deps: Pick<IngestionDeps, "records">, job: IngestJob): Promise<void> {
  await deps.records.update(
    job.userId,
    job.documentId,
    {
      status: "failed",
      error: "Processing failed repeatedly because a service was unavailable. Please upload the file again later.",
      completed_at: new Date(),
    },
    { status: { $in: ["pending", "processing"] } },
  );
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}
