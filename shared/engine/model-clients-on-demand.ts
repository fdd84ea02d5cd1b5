// The OpenAI-compatible clients (LangChain) imported on first use: for the local runtime (offline by
// default) and the functions whose requests mostly never call the model. A bundle that imports this
// module evaluates none of LangChain at start (see model-clients.ts for the other choice).
import type { ModelClients } from "./lambda.ts";
import type { ModelClientFactories } from "./model.ts";

export const onDemandModelClients: ModelClientFactories = {
  chat: async () => (await import("../llm/openai-compatible.ts")).createOpenAICompatibleChatModel,
  embedder: async () => (await import("../embeddings/openai-compatible.ts")).createOpenAICompatibleEmbedder,
};

/** For a function whose requests mostly never call the model: the clients imported and built on the first call. */
export const modelClientsOnFirstUse: ModelClients = { build: "on-first-use", factories: onDemandModelClients };
