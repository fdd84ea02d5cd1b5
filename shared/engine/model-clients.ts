// The OpenAI-compatible clients (LangChain) linked into a bundle's start-up graph, for a function
// whose every request calls the model (chat, qa, quiz, summarize, mind map, study plan). esbuild
// turns a module reached through `import()` into a lazily initialised closure, and V8 then parses
// LangChain, the OpenAI SDK and langsmith twice: pre-parsed with the bundle, parsed again when the
// closure runs. Linked statically they are evaluated as the bundle's top-level code, parsed once
// (a model function's cold start 26–40 ms shorter: paired medians of 12 interleaved cold starts).
// A function that rarely calls the model takes model-clients-on-demand.ts instead, and does not
// evaluate them at start.
import { createOpenAICompatibleEmbedder } from "../embeddings/openai-compatible.ts";
import { createOpenAICompatibleChatModel } from "../llm/openai-compatible.ts";
import type { ModelClients } from "./lambda.ts";
import type { ModelClientFactories } from "./model.ts";

export const linkedModelClients: ModelClientFactories = {
  chat: async () => createOpenAICompatibleChatModel,
  embedder: async () => createOpenAICompatibleEmbedder,
};

/** For a function whose every request calls the model: the clients linked in and built while it starts. */
export const modelClientsAtStart: ModelClients = { build: "at-start", factories: linkedModelClients };
