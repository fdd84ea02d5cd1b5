// The configured chat model and embedder with their clients (LangChain, ~60 ms to load and build)
// made on first use instead of at composition: for a function whose requests mostly never call the
// model (the flashcards function), its cold start then does not load them.
import type { Config } from "../config/config.ts";
import type { Embedder } from "../embeddings/embeddings.ts";
import type { ChatModel } from "../llm/chat-model.ts";
import { resolveModelEndpoint } from "../llm/endpoint.ts";
import { createOfflineChatModel } from "../llm/offline.ts";
import { type CircuitState, circuitStateOf } from "../llm/resilient.ts";
import type { Logger } from "../observability/logger.ts";
import type { EngineMetrics } from "../observability/metrics.ts";
import { onDemand } from "../on-demand.ts";
import { createChatModel, createEmbedder, type ModelClientFactories } from "./model.ts";

/** Built once, on first use (a failed build is retried by the next use), and the value once built. */
function onFirstUse<T>(build: () => Promise<T>): { get(): Promise<T>; built(): T | undefined } {
  let value: T | undefined;
  const get = onDemand(async () => {
    value = await build();
    return value;
  });
  return { get, built: () => value };
}

/** The configured chat model, built on its first call; identity and circuit state read as the model's own. */
export function chatModelOnFirstUse(
  config: Config,
  clients: ModelClientFactories,
  observers: { logger?: Logger; metrics?: EngineMetrics } = {},
): ChatModel {
  const endpoint = resolveModelEndpoint(config);
  if (!endpoint) return createOfflineChatModel();
  const model = onFirstUse(() => createChatModel(config, clients, observers));
  const lazy: ChatModel & { circuit(): CircuitState | undefined } = {
    info: { kind: "openai-compatible", model: endpoint.model, baseUrl: endpoint.baseUrl },
    async *stream(request) {
      yield* (await model.get()).stream(request);
    },
    complete: async (request) => (await model.get()).complete(request),
    health: async () => (await model.get()).health(),
    // Read by circuitStateOf: the breaker of the model once it is built.
    circuit: () => {
      const built = model.built();
      return built ? circuitStateOf(built) : undefined;
    },
  };
  return lazy;
}

/** The configured embedder, its OpenAI-compatible client built on its first call. */
export async function embedderOnFirstUse(config: Config, clients: ModelClientFactories): Promise<Embedder> {
  const remoteModel = config.EMBEDDINGS_MODEL;
  if (!remoteModel) return createEmbedder(config, clients);
  const embedder = onFirstUse(() => createEmbedder(config, clients));
  return {
    model: remoteModel,
    /** Learned from the first answer (0 before it), as the client's own. */
    get dimensions() {
      return embedder.built()?.dimensions ?? 0;
    },
    embed: async (texts) => (await embedder.get()).embed(texts),
  };
}
