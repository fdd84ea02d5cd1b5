// Composition root of the feature Lambdas. Each handler builds only the parts its routes use, from
// the cloud adapters it imports, so that its bundle holds nothing else: esbuild keeps every module a
// handler can reach, `import()` included. Parts are wired by shared/engine/parts.ts, like the local
// runtime's createEngine.
import type { TokenVerifier } from "../auth/jwt.ts";
import { jwtSecretFor, lazyTokenVerifier } from "../auth/verifier.ts";
import type { BlobStore } from "../blobs/blobs.ts";
import type { Config } from "../config/config.ts";
import { resolveSecret } from "../config/secrets.ts";
import type { SessionStore } from "../conversations/session-store.ts";
import type { Copilot } from "../copilot/copilot.ts";
import type { DocumentRecords } from "../documents/records.ts";
import type { DocumentService } from "../documents/service.ts";
import type { Embedder } from "../embeddings/embeddings.ts";
import { ensureRateLimitIndexes, type RateLimiter } from "../limits/rate-limit.ts";
import type { ChatModel } from "../llm/chat-model.ts";
import { probeModelEndpoint, resolveModelEndpoint } from "../llm/endpoint.ts";
import { createOfflineChatModel } from "../llm/offline.ts";
import { type CircuitState, circuitStateOf } from "../llm/resilient.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import { createMetrics, type EngineMetrics } from "../observability/metrics.ts";
import { type Retriever, storedIndexForgetter } from "../rag/retrieve.ts";
import type { DocumentStore } from "../store/store.ts";
import { createUsageLedger, ensureUsageIndexes, type UsageLedger } from "../usage/ledger.ts";
import type { PlatformAdapters } from "./adapters.ts";
import { createChatModel, createEmbedder, type ModelClientFactories } from "./model.ts";
import { chatModelOnFirstUse, embedderOnFirstUse } from "./model-on-first-use.ts";
import {
  copilotFor,
  documentRecordsFor,
  documentServiceFor,
  localUploadSecretFor,
  rateLimiterOver,
  retrieverFor,
  sessionStoreFor,
  usageLedgerFor,
} from "./parts.ts";

/** What every feature function has: configuration, observability, the store, auth, limits and usage. */
export interface LambdaCore {
  config: Config;
  logger: Logger;
  metrics: EngineMetrics;
  store: DocumentStore;
  verifyToken: TokenVerifier;
  rateLimiter: RateLimiter;
  usage: UsageLedger;
  startedAt: Date;
}

export interface LambdaCoreOptions {
  /**
   * Create the limiter's and the ledger's indexes, and fetch the JWT secret, in the background
   * instead of before the first request (meta: /health must answer, and say so, when the store or
   * Secrets Manager does not).
   */
  backgroundIndexes?: boolean;
}

/**
 * The core of a feature function. The JWT secret is fetched while the store opens (every route but
 * meta's needs it), never failing the build: a failed fetch is retried by the first token.
 */
export async function lambdaCore(
  config: Config,
  openStore: PlatformAdapters["openStore"],
  options: LambdaCoreOptions = {},
): Promise<LambdaCore> {
  const logger = createLogger({ service: "collabry-ai", level: config.LOG_LEVEL, stage: config.STAGE });
  const metrics = createMetrics({
    service: process.env.POWERTOOLS_SERVICE_NAME ?? "collabry-ai",
    enabled: config.RUNTIME === "aws",
  });
  const { verifyToken, prefetch } = lazyTokenVerifier(config);
  const secretFetched = prefetch();
  const store = await openStore(config);
  const rateLimiter = rateLimiterOver(store, config);
  let usage: UsageLedger;
  if (options.backgroundIndexes) {
    usage = createUsageLedger(store);
    Promise.all([ensureRateLimitIndexes(store), ensureUsageIndexes(store)]).catch((error: unknown) =>
      logger.warn("indexes not ensured", { error: error as Error }),
    );
  } else {
    [usage] = await Promise.all([usageLedgerFor(store), ensureRateLimitIndexes(store), secretFetched]);
  }
  return { config, logger, metrics, store, verifyToken, rateLimiter, usage, startedAt: new Date() };
}

/**
 * A function's model clients (LangChain): when it builds them — while it starts, for a function
 * whose requests call the model (the client is then ready, built during Lambda's init), or on the
 * first call, for one whose requests mostly do not (its cold start then never loads them) — and
 * where their code comes from (linked into the bundle, shared/engine/model-clients.ts, or imported
 * on first use, model-clients-on-demand.ts; a bundle shared by functions of both kinds takes the
 * latter).
 */
export interface ModelClients {
  build: "at-start" | "on-first-use";
  factories: ModelClientFactories;
}

/** The feature's chat model (endpoint behind the circuit breaker, else offline); routes meter it per request (requestModel). */
export async function lambdaModel(
  core: LambdaCore,
  clients: ModelClients,
): Promise<{ model: ChatModel; modelCircuit: () => CircuitState | undefined }> {
  const observers = { logger: core.logger, metrics: core.metrics };
  const model =
    clients.build === "on-first-use"
      ? chatModelOnFirstUse(core.config, clients.factories, observers)
      : await createChatModel(core.config, clients.factories, observers);
  return { model, modelCircuit: () => circuitStateOf(model) };
}

/**
 * The model as /health reports it: the configured endpoint's identity and probe, or the offline
 * engine. No client is built (the meta function never generates).
 */
export function modelStatus(config: Config): Pick<ChatModel, "info" | "health"> {
  const endpoint = resolveModelEndpoint(config);
  if (!endpoint) return createOfflineChatModel();
  return {
    info: { kind: "openai-compatible", model: endpoint.model, baseUrl: endpoint.baseUrl },
    health: async () => {
      const apiKey = await resolveSecret("LLM_API_KEY", config.LLM_API_KEY, config.LLM_API_KEY_SECRET_ARN).catch(
        () => undefined,
      );
      return probeModelEndpoint({ baseUrl: endpoint.baseUrl, ...(apiKey ? { apiKey } : {}) });
    },
  };
}

export interface LambdaRetrieval {
  records: DocumentRecords;
  blobs: BlobStore;
  embedder: Embedder;
  retriever: Retriever;
}

/** The user's documents and their indexes: records, blobs, embedder and retriever. */
export async function lambdaRetrieval(
  core: LambdaCore,
  openBlobs: PlatformAdapters["openBlobs"],
  clients: ModelClients,
): Promise<LambdaRetrieval> {
  const { config, logger } = core;
  const [records, blobs, embedder] = await Promise.all([
    documentRecordsFor(core.store),
    openLambdaBlobs(config, openBlobs),
    clients.build === "on-first-use"
      ? embedderOnFirstUse(config, clients.factories)
      : createEmbedder(config, clients.factories),
  ]);
  return { records, blobs, embedder, retriever: retrieverFor(config, { records, blobs, embedder, logger }) };
}

/**
 * The document service of a function that never searches an index (documents, the buffered
 * sessions routes): no shard is cached there, but a removed document's text still leaves the
 * user's stored library indexes.
 */
export async function lambdaDocuments(
  core: LambdaCore,
  adapters: Pick<PlatformAdapters, "openBlobs" | "openQueue">,
): Promise<{ records: DocumentRecords; documents: DocumentService }> {
  const { config, logger } = core;
  const [records, blobs, { queue }] = await Promise.all([
    documentRecordsFor(core.store),
    openLambdaBlobs(config, adapters.openBlobs),
    adapters.openQueue(config, core.store, logger),
  ]);
  const retriever = storedIndexForgetter(blobs);
  return { records, documents: documentServiceFor(config, { records, blobs, queue, retriever, logger }) };
}

/** Blobs for a function; S3 needs no signing key, filesystem blobs (local adapters) derive one. */
export async function openLambdaBlobs(config: Config, openBlobs: PlatformAdapters["openBlobs"]): Promise<BlobStore> {
  return openBlobs(config, config.DATA_BUCKET ? undefined : localUploadSecretFor(await jwtSecretFor(config)));
}

/** The study copilot of the chat and sessions functions, with the parts it is made of. */
export async function lambdaCopilot(
  core: LambdaCore,
  openBlobs: PlatformAdapters["openBlobs"],
  clients: ModelClients,
): Promise<{ sessions: SessionStore; copilot: Copilot; retrieval: LambdaRetrieval }> {
  const { config, logger, metrics } = core;
  const [{ model }, retrieval, sessions] = await Promise.all([
    lambdaModel(core, clients),
    lambdaRetrieval(core, openBlobs, clients),
    sessionStoreFor(core.store, config),
  ]);
  const copilot = await copilotFor(config, { ...retrieval, sessions, model, logger, metrics });
  return { sessions, copilot, retrieval };
}
