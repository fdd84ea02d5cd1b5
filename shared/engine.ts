// Composition root of the local runtime (and of tests): every feature's dependencies in one engine,
// one adapter per port picked from the configuration. Lambdas compose only their feature's parts
// (shared/engine/lambda.ts); both wire each part with shared/engine/parts.ts.
import type { TokenVerifier } from "./auth/jwt.ts";
import { jwtSecretFor, tokenVerifierFor } from "./auth/verifier.ts";
import type { BlobStore } from "./blobs/blobs.ts";
import type { Config } from "./config/config.ts";
import type { SessionStore } from "./conversations/session-store.ts";
import type { Copilot } from "./copilot/copilot.ts";
import type { DocumentRecords } from "./documents/records.ts";
import type { DocumentService } from "./documents/service.ts";
import type { Embedder } from "./embeddings/embeddings.ts";
import type { PlatformAdapters } from "./engine/adapters.ts";
import { localAdapters } from "./engine/local-adapters.ts";
import { createChatModel, createEmbedder } from "./engine/model.ts";
import { onDemandModelClients } from "./engine/model-clients-on-demand.ts";
import {
  copilotFor,
  documentRecordsFor,
  documentServiceFor,
  extractionLimitsFor,
  localUploadSecretFor,
  rateLimiterFor,
  retrieverFor,
  sessionStoreFor,
  usageLedgerFor,
} from "./engine/parts.ts";
import type { ExtractionLimits } from "./extraction/types.ts";
import type { RateLimiter } from "./limits/rate-limit.ts";
import type { ChatModel } from "./llm/chat-model.ts";
import { type CircuitState, circuitStateOf } from "./llm/resilient.ts";
import { createThreadedChatModel } from "./llm/threaded.ts";
import { createLogger, type Logger } from "./observability/logger.ts";
import { createMetrics, type EngineMetrics } from "./observability/metrics.ts";
import type { DeadLetterQueue, JobQueue, QueueConsumer } from "./queue/queue.ts";
import type { Retriever } from "./rag/retrieve.ts";
import type { DocumentStore } from "./store/store.ts";
import type { UsageLedger } from "./usage/ledger.ts";

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

/** Creates every dependency of the features from the configuration. */
export async function createEngine(
  config: Config,
  overrides: EngineOverrides = {},
  adapters: PlatformAdapters = localAdapters,
): Promise<Engine> {
  const logger =
    overrides.logger ?? createLogger({ service: "collabry-ai", level: config.LOG_LEVEL, stage: config.STAGE });
  const metrics =
    overrides.metrics ??
    createMetrics({ service: process.env.POWERTOOLS_SERVICE_NAME ?? "collabry-ai", enabled: config.RUNTIME === "aws" });
  const secret = overrides.jwtSecret ?? (await jwtSecretFor(config));
  const verifyToken = tokenVerifierFor(config, secret);
  const store = overrides.store ?? (await adapters.openStore(config));
  const sessions = await sessionStoreFor(store, config);
  // Outermost wrapper: every call, whichever feature makes it, is charged to the current AI request.
  // This process serves many requests at once: the model client gets a thread of its own.
  const closers: Array<() => Promise<void>> = [];
  const model =
    overrides.model ??
    // The offline default never loads LangChain; a configured endpoint loads it when the model is built.
    (await createChatModel(
      config,
      onDemandModelClients,
      { logger, metrics },
      {
        ...(config.LLM_CLIENT_THREAD ? { startThread: createThreadedChatModel } : {}),
        onClose: (close) => closers.push(close),
      },
    ));
  const records = await documentRecordsFor(store);
  const rateLimiter = await rateLimiterFor(store, config);
  // This process lives on: usage is written behind, once a second (a Lambda writes through).
  const usage = await usageLedgerFor(store, { flushIntervalMs: USAGE_FLUSH_INTERVAL_MS, logger });
  const localUploadSecret = config.DATA_BUCKET ? undefined : localUploadSecretFor(secret);
  const blobs = await adapters.openBlobs(config, localUploadSecret);
  const { queue, localQueue } = await adapters.openQueue(config, store, logger);
  const embedder = overrides.embedder ?? (await createEmbedder(config, onDemandModelClients));
  const retriever = retrieverFor(config, { records, blobs, embedder, logger });
  const documents = documentServiceFor(config, { records, blobs, queue, retriever, logger });
  const copilot = await copilotFor(config, { sessions, model, logger, metrics, retriever, records, blobs });
  const extractionLimits = extractionLimitsFor(config);
  return {
    config,
    logger,
    metrics,
    store,
    model,
    modelCircuit: () => circuitStateOf(model),
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
      await Promise.all(closers.map((close) => close()));
    },
  };
}
