// Composition root: picks one adapter per port from the configuration. Lambda handlers build one
// engine per cold start; the local runtime builds one for every feature.
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { createTokenVerifier, type TokenVerifier } from "./auth/jwt.ts";
import type { BlobStore } from "./blobs/blobs.ts";
import type { Config } from "./config/config.ts";
import { resolveSecret } from "./config/secrets.ts";
import { createSessionStore, ensureConversationIndexes, type SessionStore } from "./conversations/session-store.ts";
import { type Copilot, createCopilot } from "./copilot/copilot.ts";
import { createDocumentRecords, type DocumentRecords, ensureDocumentIndexes } from "./documents/records.ts";
import { createDocumentService, type DocumentService } from "./documents/service.ts";
import { withEmbeddingCache } from "./embeddings/cache.ts";
import type { Embedder } from "./embeddings/embeddings.ts";
import { createLocalEmbedder } from "./embeddings/local.ts";
import type { ExtractionLimits } from "./extraction/extract.ts";
import { createRateLimiter, ensureRateLimitIndexes, type RateLimiter } from "./limits/rate-limit.ts";
import type { ChatModel } from "./llm/chat-model.ts";
import { createOfflineChatModel } from "./llm/offline.ts";
import { createOfflineFallbackChatModel } from "./llm/offline-fallback.ts";
import { type CircuitState, circuitStateOf, withResilience } from "./llm/resilient.ts";
import { createLogger, type Logger } from "./observability/logger.ts";
import { createMetrics, type EngineMetrics } from "./observability/metrics.ts";
import type { DeadLetterQueue, JobQueue, QueueConsumer } from "./queue/queue.ts";
import { createRetriever, type Retriever } from "./rag/retrieve.ts";
import type { DocumentStore } from "./store/store.ts";
import { createUsageLedger, ensureUsageIndexes, type UsageLedger } from "./usage/ledger.ts";
import { withUsageMetering } from "./usage/meter.ts";
import { createWebSearch } from "./web/search.ts";

export interface Engine {
  config: Config;
  logger: Logger;
  metrics: EngineMetrics;
  store: DocumentStore;
  model: ChatModel;
  /** The chat model's circuit breaker state (undefined for the offline engine), for /health. */
  modelCircuit(): CircuitState | undefined;
  verifyToken: TokenVerifier;
  /** Per-user request limits by route class, shared through the store. */
  rateLimiter: RateLimiter;
  sessions: SessionStore;
  copilot: Copilot;
  blobs: BlobStore;
  queue: JobQueue;
  /** The in-process consumer and dead-letter queue (local runtime only; SQS has its own). */
  localQueue?: JobQueue & QueueConsumer & DeadLetterQueue;
  records: DocumentRecords;
  documents: DocumentService;
  embedder: Embedder;
  retriever: Retriever;
  /** AI usage logs, daily statistics and quota resets. */
  usage: UsageLedger;
  extractionLimits: ExtractionLimits;
  /** Signs local presigned-upload policies (filesystem blobs only; S3 signs its own). */
  localUploadSecret?: string;
  startedAt: Date;
  close(): Promise<void>;
}

/** How long AI usage may wait in memory before it is written (see shared/usage/ledger.ts). */
const USAGE_FLUSH_INTERVAL_MS = 1_000;

export interface EngineOverrides {
  logger?: Logger;
  metrics?: EngineMetrics;
  /** The JWT secret when the caller resolved it (the local runtime may generate one). */
  jwtSecret?: string;
  model?: ChatModel;
  store?: DocumentStore;
  embedder?: Embedder;
}

/** Builds the chat model the configuration asks for: an OpenAI-compatible endpoint behind a circuit breaker, else the offline engine. */
export async function createChatModel(
  config: Config,
  observers: { logger?: Logger; metrics?: EngineMetrics } = {},
): Promise<ChatModel> {
  if (!config.LLM_BASE_URL && !config.OLLAMA_BASE_URL) return createOfflineChatModel();
  // LangChain is loaded only when a model endpoint is configured (it costs ~0.5 s of cold start).
  const { createOpenAICompatibleChatModel, resolveModelEndpoint } = await import("./llm/openai-compatible.ts");
  const apiKey = await resolveSecret("LLM_API_KEY", config.LLM_API_KEY, config.LLM_API_KEY_SECRET_ARN);
  const endpoint = resolveModelEndpoint({ ...config, ...(apiKey ? { LLM_API_KEY: apiKey } : {}) });
  if (!endpoint) return createOfflineChatModel();
  const primary = createOpenAICompatibleChatModel({
    ...endpoint,
    timeoutMs: config.LLM_TIMEOUT_MS,
    firstTokenTimeoutMs: config.LLM_FIRST_TOKEN_TIMEOUT_MS,
    maxRetries: config.LLM_MAX_RETRIES,
  });
  return withResilience(primary, createOfflineFallbackChatModel(), {
    failureThreshold: config.LLM_CIRCUIT_FAILURES,
    openMs: config.LLM_CIRCUIT_OPEN_SECONDS * 1000,
    onEvent: (event) => {
      if (event.type === "fallback") observers.metrics?.record("OfflineFallbacks", 1);
      if (event.type === "circuit") {
        if (event.to === "open") observers.metrics?.record("CircuitOpen", 1);
        observers.logger?.warn("model circuit changed", { from: event.from, to: event.to, model: endpoint.model });
      }
    },
  });
}

/** The embedder the configuration asks for: an OpenAI-compatible model, else the local embedder. */
export async function createEmbedder(config: Config): Promise<Embedder> {
  if (!config.EMBEDDINGS_MODEL) return withEmbeddingCache(createLocalEmbedder());
  const { resolveModelEndpoint } = await import("./llm/openai-compatible.ts");
  const { createOpenAICompatibleEmbedder } = await import("./embeddings/openai-compatible.ts");
  const apiKey =
    config.EMBEDDINGS_API_KEY ??
    (await resolveSecret("LLM_API_KEY", config.LLM_API_KEY, config.LLM_API_KEY_SECRET_ARN));
  const chat = resolveModelEndpoint({ ...config, ...(apiKey ? { LLM_API_KEY: apiKey } : {}) });
  const baseUrl = config.EMBEDDINGS_BASE_URL ?? chat?.baseUrl;
  if (!baseUrl) throw new Error("EMBEDDINGS_MODEL is set but neither EMBEDDINGS_BASE_URL nor a chat model endpoint is");
  return withEmbeddingCache(
    createOpenAICompatibleEmbedder({ baseUrl, model: config.EMBEDDINGS_MODEL, ...(apiKey ? { apiKey } : {}) }),
  );
}

// Adapters are imported on demand: a Lambda loads the AWS clients and MongoDB driver, the local
// runtime SQLite and the filesystem, and neither pays for the other's modules at cold start.
async function createBlobs(config: Config, signingSecret: string | undefined): Promise<BlobStore> {
  if (config.DATA_BUCKET) {
    const { createS3BlobStore } = await import("./blobs/s3.ts");
    return createS3BlobStore({
      bucket: config.DATA_BUCKET,
      ...(config.AWS_REGION ? { region: config.AWS_REGION } : {}),
      ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT, forcePathStyle: true } : {}),
    });
  }
  if (!signingSecret) throw new Error("local blob store needs an upload signing secret");
  const { createFilesystemBlobStore } = await import("./blobs/filesystem.ts");
  return createFilesystemBlobStore({
    root: join(config.DATA_DIR, "blobs"),
    publicBaseUrl: config.PUBLIC_BASE_URL ?? `http://localhost:${config.PORT}`,
    signingSecret,
  });
}

async function createStore(config: Config): Promise<DocumentStore> {
  const uri = await resolveSecret("MONGO_URI", config.MONGO_URI, config.MONGO_URI_SECRET_ARN);
  if (uri) {
    const { createMongoStore } = await import("./store/mongodb.ts");
    return createMongoStore({ uri, dbName: config.MONGO_DB });
  }
  const { openEmbeddedStore } = await import("./store/embedded.ts");
  return openEmbeddedStore({ dir: config.DATA_DIR });
}

/** Creates every dependency of the features from the configuration. */
export async function createEngine(config: Config, overrides: EngineOverrides = {}): Promise<Engine> {
  const logger =
    overrides.logger ?? createLogger({ service: "collabry-ai", level: config.LOG_LEVEL, stage: config.STAGE });
  const metrics =
    overrides.metrics ??
    createMetrics({ service: process.env.POWERTOOLS_SERVICE_NAME ?? "collabry-ai", enabled: config.RUNTIME === "aws" });
  const secret =
    overrides.jwtSecret ?? (await resolveSecret("JWT_SECRET_KEY", config.JWT_SECRET_KEY, config.JWT_SECRET_ARN));
  if (!secret) throw new Error("JWT_SECRET_KEY is not configured");
  const verifyToken = createTokenVerifier({
    secret,
    clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
  });
  const store = overrides.store ?? (await createStore(config));
  await ensureConversationIndexes(store);
  // Outermost wrapper: every call, whichever feature makes it, is charged to the current AI request.
  const endpointModel = overrides.model ?? (await createChatModel(config, { logger, metrics }));
  const model = withUsageMetering(endpointModel);
  await ensureDocumentIndexes(store);
  await ensureRateLimitIndexes(store);
  const rateLimiter = createRateLimiter(store, {
    limits: {
      chat: config.RATE_LIMIT_CHAT_PER_MINUTE,
      generate: config.RATE_LIMIT_GENERATE_PER_MINUTE,
      upload: config.RATE_LIMIT_UPLOAD_PER_MINUTE,
      read: config.RATE_LIMIT_READ_PER_MINUTE,
    },
  });
  await ensureUsageIndexes(store);
  // This process lives on: usage is written behind, once a second (a Lambda writes through).
  const usage = createUsageLedger(store, { flushIntervalMs: USAGE_FLUSH_INTERVAL_MS, logger });
  const sessions = createSessionStore(store, { maxSessionsPerUser: config.MAX_SESSIONS_PER_USER });
  // A key of its own for upload policies, derived so that it never equals the JWT secret.
  const localUploadSecret = config.DATA_BUCKET
    ? undefined
    : createHmac("sha256", secret).update("collabry-local-uploads").digest("hex");
  const blobs = await createBlobs(config, localUploadSecret);
  let queue: JobQueue;
  let localQueue: (JobQueue & QueueConsumer & DeadLetterQueue) | undefined;
  if (config.INGEST_QUEUE_URL) {
    const { createSqsQueue } = await import("./queue/sqs.ts");
    queue = createSqsQueue({
      queueUrl: config.INGEST_QUEUE_URL,
      ...(config.AWS_REGION ? { region: config.AWS_REGION } : {}),
    });
  } else {
    const { createInProcessQueue } = await import("./queue/in-process.ts");
    localQueue = createInProcessQueue({
      store,
      name: "ingest",
      visibilityTimeoutMs: config.INGEST_VISIBILITY_TIMEOUT_SECONDS * 1000,
      maxReceives: config.INGEST_MAX_RECEIVES,
      onError: (error) => logger.error("ingestion queue error", { error: error as Error }),
    });
    queue = localQueue;
  }
  const records = createDocumentRecords(store);
  const embedder = overrides.embedder ?? (await createEmbedder(config));
  const retriever = createRetriever({ records, blobs, embedder, logger, cacheBytes: config.SHARD_CACHE_BYTES });
  const documents = createDocumentService({
    records,
    blobs,
    queue,
    retriever,
    logger,
    limits: { maxUploadBytes: config.MAX_UPLOAD_BYTES, maxMultipartBytes: config.MAX_MULTIPART_BYTES },
  });
  const webSearch = await createWebSearch(config);
  const copilot = createCopilot({
    sessions,
    model,
    logger,
    metrics,
    retriever,
    historyTokenBudget: config.CHAT_HISTORY_TOKEN_BUDGET,
    artifacts: { model, records, blobs, retriever, webSearch },
  });
  const extractionLimits: ExtractionLimits = {
    maxBytes: config.MAX_UPLOAD_BYTES,
    maxPages: config.MAX_DOCUMENT_PAGES,
    maxChars: config.MAX_EXTRACTED_CHARS,
    maxDocxUncompressedBytes: config.MAX_DOCX_UNCOMPRESSED_BYTES,
    ocrTimeoutMs: config.OCR_TIMEOUT_MS,
  };
  return {
    config,
    logger,
    metrics,
    store,
    model,
    modelCircuit: () => circuitStateOf(endpointModel),
    verifyToken,
    rateLimiter,
    sessions,
    copilot,
    blobs,
    queue,
    ...(localQueue ? { localQueue } : {}),
    records,
    documents,
    embedder,
    retriever,
    usage,
    extractionLimits,
    ...(localUploadSecret ? { localUploadSecret } : {}),
    startedAt: new Date(),
    close: async () => {
      await localQueue?.stop();
      // Usage still in memory is written before the store closes.
      await usage
        .close()
        .catch((error: unknown) => logger.error("usage not written at shutdown", { error: error as Error }));
      await store.close();
    },
  };
}
