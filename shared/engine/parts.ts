// The parts an engine is made of, each built from the configuration and the parts it depends on.
// Every composition root uses these: the local runtime's createEngine (all features) and each
// Lambda's (only the parts its feature uses), so a part is wired the same way everywhere.
import { createHmac } from "node:crypto";
import type { BlobStore } from "../blobs/blobs.ts";
import type { Config } from "../config/config.ts";
import { createSessionStore, ensureConversationIndexes, type SessionStore } from "../conversations/session-store.ts";
import { type Copilot, createCopilot } from "../copilot/copilot.ts";
import { createDocumentRecords, type DocumentRecords, ensureDocumentIndexes } from "../documents/records.ts";
import { createDocumentService, type DocumentService } from "../documents/service.ts";
import type { Embedder } from "../embeddings/embeddings.ts";
import type { ExtractionLimits } from "../extraction/types.ts";
import { createRateLimiter, ensureRateLimitIndexes, type RateLimiter } from "../limits/rate-limit.ts";
import type { ChatModel } from "../llm/chat-model.ts";
import type { Logger } from "../observability/logger.ts";
import type { EngineMetrics } from "../observability/metrics.ts";
import type { JobQueue } from "../queue/queue.ts";
import { createRetriever, type Retriever } from "../rag/retrieve.ts";
import type { DocumentStore } from "../store/store.ts";
import { createUsageLedger, ensureUsageIndexes, type UsageLedger, type UsageLedgerOptions } from "../usage/ledger.ts";
import { createWebSearch } from "../web/search.ts";

/** A key of its own for local upload policies, derived so that it never equals the JWT secret. */
export function localUploadSecretFor(secret: string): string {
  return createHmac("sha256", secret).update("collabry-local-uploads").digest("hex");
}

export async function rateLimiterFor(store: DocumentStore, config: Config): Promise<RateLimiter> {
  await ensureRateLimitIndexes(store);
  return rateLimiterOver(store, config);
}

/** The limiter without creating its indexes (the caller ensures them). */
export function rateLimiterOver(store: DocumentStore, config: Config): RateLimiter {
  return createRateLimiter(store, {
    limits: {
      chat: config.RATE_LIMIT_CHAT_PER_MINUTE,
      generate: config.RATE_LIMIT_GENERATE_PER_MINUTE,
      upload: config.RATE_LIMIT_UPLOAD_PER_MINUTE,
      read: config.RATE_LIMIT_READ_PER_MINUTE,
    },
  });
}

export async function usageLedgerFor(store: DocumentStore, options: UsageLedgerOptions = {}): Promise<UsageLedger> {
  await ensureUsageIndexes(store);
  return createUsageLedger(store, options);
}

export async function sessionStoreFor(store: DocumentStore, config: Config): Promise<SessionStore> {
  await ensureConversationIndexes(store);
  return createSessionStore(store, { maxSessionsPerUser: config.MAX_SESSIONS_PER_USER });
}

export async function documentRecordsFor(store: DocumentStore): Promise<DocumentRecords> {
  await ensureDocumentIndexes(store);
  return createDocumentRecords(store);
}

export function extractionLimitsFor(config: Config): ExtractionLimits {
  return {
    maxBytes: config.MAX_UPLOAD_BYTES,
    maxPages: config.MAX_DOCUMENT_PAGES,
    maxChars: config.MAX_EXTRACTED_CHARS,
    maxDocxUncompressedBytes: config.MAX_DOCX_UNCOMPRESSED_BYTES,
    ocrTimeoutMs: config.OCR_TIMEOUT_MS,
  };
}

export function retrieverFor(
  config: Config,
  deps: { records: DocumentRecords; blobs: BlobStore; embedder: Embedder; logger: Logger },
): Retriever {
  // In AWS only the ingestion worker builds library indexes (query functions read the bucket only).
  return createRetriever({
    ...deps,
    cacheBytes: config.SHARD_CACHE_BYTES,
    libraryBuilds: config.RUNTIME === "aws" ? "off" : "background",
  });
}

export function documentServiceFor(
  config: Config,
  deps: {
    records: DocumentRecords;
    blobs: BlobStore;
    queue: JobQueue;
    retriever: Pick<Retriever, "forget">;
    logger: Logger;
  },
): DocumentService {
  return createDocumentService({
    ...deps,
    limits: { maxUploadBytes: config.MAX_UPLOAD_BYTES, maxMultipartBytes: config.MAX_MULTIPART_BYTES },
  });
}

export async function copilotFor(
  config: Config,
  deps: {
    sessions: SessionStore;
    model: ChatModel;
    logger: Logger;
    metrics: EngineMetrics;
    retriever: Retriever;
    records: DocumentRecords;
    blobs: BlobStore;
  },
): Promise<Copilot> {
  const { sessions, model, logger, metrics, retriever, records, blobs } = deps;
  const webSearch = await createWebSearch(config);
  return createCopilot({
    sessions,
    model,
    logger,
    metrics,
    retriever,
    historyTokenBudget: config.CHAT_HISTORY_TOKEN_BUDGET,
    artifacts: { model, records, blobs, retriever, webSearch },
  });
}
