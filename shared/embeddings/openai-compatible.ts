// Embeddings from any OpenAI-compatible endpoint (Ollama `/v1`, OpenAI, vLLM, …) via LangChain.
import { OpenAIEmbeddings } from "@langchain/openai";
import { type Embedder, EmbeddingError, normalizeInPlace } from "./embeddings.ts";

export interface OpenAICompatibleEmbedderOptions {
  /** e.g. "http://gpu-host:11434/v1" */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Requested (and then required) vector size; omit for models with a fixed size such as Ollama's. */
  dimensions?: number;
  /** Texts per request (default 64). */
  batchSize?: number;
  /** Retries per request on transient failures (default 2). */
  maxRetries?: number;
  timeoutMs?: number;
}

/** An Embedder backed by an OpenAI-compatible `/embeddings` endpoint; vectors are normalised and checked. */
export function createOpenAICompatibleEmbedder(options: OpenAICompatibleEmbedderOptions): Embedder {
  const client = new OpenAIEmbeddings({
    model: options.model,
    // Local servers ignore the key, but the client refuses to start without one and would otherwise
    // pick up OPENAI_API_KEY from the environment and send it to whatever baseUrl is configured.
    apiKey: options.apiKey ?? "no-key",
    ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions }),
    batchSize: options.batchSize ?? 64,
    maxRetries: options.maxRetries ?? 2,
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    // The default (base64) silently yields empty vectors from servers that answer with float arrays.
    encodingFormat: "float",
    configuration: { baseURL: options.baseUrl },
  });
  let dimensions = options.dimensions ?? 0;

  return {
    model: options.model,
    /** Known from the options, or learned from the first response (0 before it). */
    get dimensions() {
      return dimensions;
    },
    async embed(texts) {
      if (texts.length === 0) return [];
      let raw: number[][];
      try {
        raw = await client.embedDocuments(texts);
      } catch (error) {
        throw new EmbeddingError(`embedding request to ${options.model} failed`, { cause: error });
      }
      if (raw.length !== texts.length) {
        throw new EmbeddingError(`expected ${texts.length} embeddings from ${options.model}, got ${raw.length}`);
      }
      return raw.map((values) => {
        if (values.length === 0) throw new EmbeddingError(`${options.model} returned an empty embedding`);
        if (dimensions === 0) dimensions = values.length;
        if (values.length !== dimensions) {
          throw new EmbeddingError(`${options.model} returned ${values.length} dimensions, expected ${dimensions}`);
        }
        if (!values.every(Number.isFinite))
          throw new EmbeddingError(`${options.model} returned a non-numeric embedding`);
        return normalizeInPlace(Float32Array.from(values));
      });
    },
  };
}
