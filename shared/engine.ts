// Composition root: picks one adapter per port from the configuration. Lambda handlers build one
// engine per cold start; the local runtime builds one for every feature.
import { createTokenVerifier, type TokenVerifier } from "./auth/jwt.ts";
import type { Config } from "./config/config.ts";
import { resolveSecret } from "./config/secrets.ts";
import { createSessionStore, ensureConversationIndexes, type SessionStore } from "./conversations/session-store.ts";
import { type Copilot, createCopilot } from "./copilot/copilot.ts";
import type { ChatModel } from "./llm/chat-model.ts";
import { createOfflineChatModel } from "./llm/offline.ts";
import { createOpenAICompatibleChatModel, resolveModelEndpoint } from "./llm/openai-compatible.ts";
import { createLogger, type Logger } from "./observability/logger.ts";
import { createMetrics, type EngineMetrics } from "./observability/metrics.ts";
import { openEmbeddedStore } from "./store/embedded.ts";
import { createMongoStore } from "./store/mongodb.ts";
import type { DocumentStore } from "./store/store.ts";

export interface Engine {
  config: Config;
  logger: Logger;
  metrics: EngineMetrics;
  store: DocumentStore;
  model: ChatModel;
  verifyToken: TokenVerifier;
  sessions: SessionStore;
  copilot: Copilot;
  startedAt: Date;
  close(): Promise<void>;
}

export interface EngineOverrides {
  logger?: Logger;
  metrics?: EngineMetrics;
  /** The JWT secret when the caller resolved it (the local runtime may generate one). */
  jwtSecret?: string;
  model?: ChatModel;
  store?: DocumentStore;
}

/** Builds the chat model the configuration asks for: an OpenAI-compatible endpoint, else the offline engine. */
export async function createChatModel(config: Config): Promise<ChatModel> {
  const apiKey = await resolveSecret("LLM_API_KEY", config.LLM_API_KEY, config.LLM_API_KEY_SECRET_ARN);
  const endpoint = resolveModelEndpoint({ ...config, ...(apiKey ? { LLM_API_KEY: apiKey } : {}) });
  if (!endpoint) return createOfflineChatModel();
  return createOpenAICompatibleChatModel({
    ...endpoint,
    timeoutMs: config.LLM_TIMEOUT_MS,
    firstTokenTimeoutMs: config.LLM_FIRST_TOKEN_TIMEOUT_MS,
    maxRetries: config.LLM_MAX_RETRIES,
  });
}

async function createStore(config: Config): Promise<DocumentStore> {
  const uri = await resolveSecret("MONGO_URI", config.MONGO_URI, config.MONGO_URI_SECRET_ARN);
  if (uri) return createMongoStore({ uri, dbName: config.MONGO_DB });
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
  const model = overrides.model ?? (await createChatModel(config));
  const sessions = createSessionStore(store, { maxSessionsPerUser: config.MAX_SESSIONS_PER_USER });
  const copilot = createCopilot({
    sessions,
    model,
    logger,
    metrics,
    historyTokenBudget: config.CHAT_HISTORY_TOKEN_BUDGET,
  });
  return {
    config,
    logger,
    metrics,
    store,
    model,
    verifyToken,
    sessions,
    copilot,
    startedAt: new Date(),
    close: () => store.close(),
  };
}
