// The OpenAI-compatible embeddings client (LangChain) linked into the ingestion worker's bundle: the
// worker embeds every document it ingests, and the stack always gives it an embeddings endpoint, so
// it builds the client while it starts. Reached through `import()` (model-clients-on-demand.ts),
// esbuild wrapped @langchain/openai and the OpenAI SDK in lazily initialised closures that V8 parsed
// twice (see model-clients.ts); linked, they are parsed once. Apart from model-clients.ts so that the
// worker, which never chats, holds no chat client.
import { createOpenAICompatibleEmbedder } from "../embeddings/openai-compatible.ts";
import type { ModelClientFactories } from "./model.ts";

export const linkedEmbedderClient: Pick<ModelClientFactories, "embedder"> = {
  embedder: async () => createOpenAICompatibleEmbedder,
};
