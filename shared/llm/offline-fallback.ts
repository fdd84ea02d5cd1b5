// The offline engine in its fallback role: a model IS configured but unavailable, so the plain
// offline model's "no language model is configured" text would mislead the student and point the
// operator at the wrong fix. Same shape (deterministic, instant, word-by-word), honest words.
import type { ChatChunk, ChatModel, ChatRequest, ChatResult, ChatTurn, TokenUsage } from "./chat-model.ts";
import { ModelUnavailableError } from "./errors.ts";
import { estimateTokens } from "./prompts.ts";

const FALLBACK_ANSWER = [
  "The language model behind your study copilot is unavailable right now, so I can't write a generated answer to this message.",
  "",
  "Your message is saved in this session. Ask again in a minute or two: the copilot switches back to the model as soon as it answers again.",
].join("\n");

/** Creates the offline engine used while the configured chat model is unavailable (circuit open). */
export function createOfflineFallbackChatModel(): ChatModel {
  return {
    info: { kind: "offline", model: "offline-engine" },

    async *stream(request: ChatRequest): AsyncIterable<ChatChunk> {
      request.signal?.throwIfAborted();
      const words = FALLBACK_ANSWER.match(/\S+\s*/g) ?? [];
      const usage = countUsage(request.messages, FALLBACK_ANSWER);
      for (const [index, word] of words.entries()) {
        request.signal?.throwIfAborted();
        yield index === words.length - 1 ? { text: word, usage } : { text: word };
      }
    },

    async complete(request: ChatRequest): Promise<ChatResult> {
      request.signal?.throwIfAborted();
      // Structured callers parse JSON: prose would only fail later, as a confusing parse error.
      if (request.responseFormat === "json") {
        throw new ModelUnavailableError("structured answers need the model, which is not answering");
      }
      return { text: FALLBACK_ANSWER, usage: countUsage(request.messages, FALLBACK_ANSWER) };
    },

    async health() {
      return { status: "ok" };
    },
  };
}

function countUsage(messages: ChatTurn[], answer: string): TokenUsage {
  const inputTokens = messages.reduce((sum, turn) => sum + estimateTokens(turn.content), 0);
  return { inputTokens, outputTokens: estimateTokens(answer) };
}
