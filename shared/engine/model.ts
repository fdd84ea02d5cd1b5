// The chat model and the embedder chosen from the configuration, shared by every composition root.
// The OpenAI-compatible clients come from the composition root (ModelClientFactories): linked into
// the bundle where every request calls the model, imported on first use elsewhere; this module
// imports neither, so that choice stays the root's.
import type { Config } from "../config/config.ts";
import { resolveSecret } from "../config/secrets.ts";
import { withEmbeddingCache } from "../embeddings/cache.ts";
import type { Embedder } from "../embeddings/embeddings.ts";
import { createLocalEmbedder } from "../embeddings/local.ts";
import type { OpenAICompatibleEmbedderOptions } from "../embeddings/openai-compatible.ts";
import type { ChatModel } from "../llm/chat-model.ts";
import { resolveModelEndpoint } from "../llm/endpoint.ts";
import { createOfflineChatModel } from "../llm/offline.ts";
import { createOfflineFallbackChatModel } from "../llm/offline-fallback.ts";
import type { OpenAICompatibleChatModelOptions } from "../llm/openai-compatible.ts";
import { withResilience } from "../llm/resilient.ts";
import type { ThreadedChatModel } from "../llm/threaded.ts";
import type { Logger } from "../observability/logger.ts";
import type { EngineMetrics } from "../observability/metrics.ts";

/** Where a composition root gets the OpenAI-compatible clients from (model-clients.ts, model-clients-on-demand.ts). */
export interface ModelClientFactories {
  chat(): Promise<(options: OpenAICompatibleChatModelOptions) => ChatModel>;
  embedder(): Promise<(options: OpenAICompatibleEmbedderOptions) => Embedder>;
}

/**
 * Where the OpenAI-compatible client runs: on the caller's thread (Lambda), or a thread of its own
 * (local runtime, which passes createThreadedChatModel: Lambda bundles never contain it).
 */
export interface ModelPlacement {
  startThread?: (options: OpenAICompatibleChatModelOptions) => ThreadedChatModel;
  /** Receives the function that stops the model thread, for the runtime's shutdown. */
  onClose(close: () => Promise<void>): void;
}

/** Builds the chat model the configuration asks for: an OpenAI-compatible endpoint behind a circuit breaker, else the offline engine. */
export async function createChatModel(
  config: Config,
  clients: ModelClientFactories,
  observers: { logger?: Logger; metrics?: EngineMetrics } = {},
  placement?: ModelPlacement,
): Promise<ChatModel> {
  if (!config.LLM_BASE_URL && !config.OLLAMA_BASE_URL) return createOfflineChatModel();
  // The client is built where it runs, when a model endpoint is configured: on this thread, or only
  // on the model thread (which loads LangChain itself).
  const inThread = async (options: OpenAICompatibleChatModelOptions) => (await clients.chat())(options);
  const apiKey = await resolveSecret("LLM_API_KEY", config.LLM_API_KEY, config.LLM_API_KEY_SECRET_ARN);
  const endpoint = resolveModelEndpoint({ ...config, ...(apiKey ? { LLM_API_KEY: apiKey } : {}) });
  if (!endpoint) return createOfflineChatModel();
  const clientOptions = {
    ...endpoint,
    timeoutMs: config.LLM_TIMEOUT_MS,
    firstTokenTimeoutMs: config.LLM_FIRST_TOKEN_TIMEOUT_MS,
    maxRetries: config.LLM_MAX_RETRIES,
  };
  let primary: ChatModel;
  if (placement?.startThread) {
    const threaded = placement.startThread(clientOptions);
    placement.onClose(() => threaded.close());
    try {
      // Ready before the engine is: the first request must not pay for starting the thread.
      await threaded.ready();
      primary = threaded;
    } catch (error) {
      observers.logger?.warn("model thread did not start; the model client runs on the main thread", {
        error: error instanceof Error ? error.message : String(error),
      });
      await threaded.close();
      primary = await inThread(clientOptions);
    }
  } else {
    primary = await inThread(clientOptions);
  }
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
export async function createEmbedder(
  config: Config,
  clients: Pick<ModelClientFactories, "embedder">,
): Promise<Embedder> {
  if (!config.EMBEDDINGS_MODEL) return withEmbeddingCache(createLocalEmbedder());
  const createOpenAICompatibleEmbedder = await clients.embedder();
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
