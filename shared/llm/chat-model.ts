// Chat model port: an OpenAI-compatible endpoint in production, the offline engine otherwise.

export type ChatRole = "system" | "user" | "assistant";

export interface ChatTurn {
  role: ChatRole;
  content: string;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface ChatRequest {
  messages: ChatTurn[];
  /** Aborts generation (client went away, deadline passed). */
  signal?: AbortSignal;
  temperature?: number;
  maxTokens?: number;
  /** Ask for a JSON object (OpenAI `response_format: json_object`, which Ollama and vLLM also accept). */
  responseFormat?: "json";
}

/** One streamed piece of the answer; `usage` arrives on the last chunk when the endpoint reports it. */
export interface ChatChunk {
  text: string;
  usage?: TokenUsage;
}

export interface ChatResult {
  text: string;
  usage?: TokenUsage;
}

export interface ChatModelInfo {
  /** "openai-compatible" or "offline". */
  kind: "openai-compatible" | "offline";
  model: string;
  baseUrl?: string;
}

export interface ChatModel {
  readonly info: ChatModelInfo;
  /** Streams the answer as the model produces it. */
  stream(request: ChatRequest): AsyncIterable<ChatChunk>;
  /** Produces the whole answer. */
  complete(request: ChatRequest): Promise<ChatResult>;
  /** Health probe for /health: resolves "ok" or "down" (never throws), within a short timeout. */
  health(): Promise<{ status: "ok" | "down"; detail?: string }>;
}
