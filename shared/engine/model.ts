// The chat model and the embedder chosen from the configuration, shared by every composition root.
// LangChain is imported only when a model endpoint is configured: a bundle still contains it (esbuild
// inlines `import()`), but its module code does not run at start-up of a function that never calls it.
import type { Config } from "../config/config.ts";
import { resolveSecret } from "../config/secrets.ts";
import { withEmbeddingCache } from "../embeddings/cache.ts";
import type { Embedder } from "../embeddings/embeddings.ts";
import { createLocalEmbedder } from "../embeddings/local.ts";
import type { ChatModel } from "../llm/chat-model.ts";
import { createOfflineChatModel } from "../llm/offline.ts";
import { createOfflineFallbackChatModel } from "../llm/offline-fallback.ts";
import type { OpenAICompatibleChatModelOptions } from "../llm/openai-compatible.ts";
import { withResilience } from "../llm/resilient.ts";
import type { ThreadedChatModel } from "../llm/threaded.ts";
import type { Logger } from "../observability/logger.ts";
import type { EngineMetrics } from "../observability/metrics.ts";

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
  observers: { logger?: Logger; metrics?: EngineMetrics } = {},
  placement?: ModelPlacement,
): Promise<ChatModel> {
  if (!config.LLM_BASE_URL && !config.OLLAMA_BASE_URL) return createOfflineChatModel();
  const { resolveModelEndpoint } = await import("../llm/endpoint.ts");
  // LangChain is loaded only where the client runs, when a model endpoint is configured (it costs
  // ~0.5 s of cold start): on this thread, or only on the model thread.
  const inThread = async (options: OpenAICompatibleChatModelOptions) =>
    (await import("../llm/openai-compatible.ts")).createOpenAICompatibleChatModel(options);
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
export async function createEmbedder(config: Config): Promise<Embedder> {
  if (!config.EMBEDDINGS_MODEL) return withEmbeddingCache(createLocalEmbedder());
  const { resolveModelEndpoint } = await import("../llm/endpoint.ts");
  const { createOpenAICompatibleEmbedder } = await import("../embeddings/openai-compatible.ts");
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
