// Offline chat model: the embedded default when no language model is configured. It never pretends
// to generate an answer; it says what it is, what still works and how to enable generated answers.
import type { ChatChunk, ChatModel, ChatRequest, ChatResult, ChatTurn, TokenUsage } from "./chat-model.ts";
import { estimateTokens } from "./prompts.ts";

const QUOTE_MAX_CHARS = 120;

/** Creates the offline chat model: deterministic, instant, honest that no language model is configured. */
export function createOfflineChatModel(): ChatModel {
  return {
    info: { kind: "offline", model: "offline-engine" },

    async *stream(request: ChatRequest): AsyncIterable<ChatChunk> {
      request.signal?.throwIfAborted();
      const answer = composeOfflineAnswer(request.messages);
      const words = splitIntoWords(answer);
      const usage = countUsage(request.messages, answer);
      for (const [index, word] of words.entries()) {
        // Checked per word so a client that went away stops the stream at once.
        request.signal?.throwIfAborted();
        yield index === words.length - 1 ? { text: word, usage } : { text: word };
      }
    },

    async complete(request: ChatRequest): Promise<ChatResult> {
      request.signal?.throwIfAborted();
      const answer = composeOfflineAnswer(request.messages);
      return { text: answer, usage: countUsage(request.messages, answer) };
    },

    async health() {
      return { status: "ok" };
    },
  };
}

function composeOfflineAnswer(messages: ChatTurn[]): string {
  const question = lastUserMessage(messages);
  const quoted = question === undefined ? "" : quoteSafely(question);
  const opening =
    quoted.length > 0
      ? `I'm your study copilot, but no language model is configured on this engine, so I can't write a generated answer to your question: "${quoted}"`
      : "I'm your study copilot, but no language model is configured on this engine, so I can't write generated answers yet.";
  return [
    opening,
    "",
    "Here is what still works:",
    "- This session and its history are saved, so you can pick up where you left off once answers are enabled.",
    "- Questions about your own notes are still answered, quoted from them with citations: add notes to this session (or use question answering over your documents) and ask about them.",
    "",
    "To enable generated answers, whoever runs this engine can set `LLM_BASE_URL` and `LLM_MODEL` (any OpenAI-compatible endpoint) or `OLLAMA_BASE_URL` (an Ollama server).",
  ].join("\n");
}

function lastUserMessage(messages: ChatTurn[]): string | undefined {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const turn = messages[index];
    if (turn?.role === "user") return turn.content;
  }
  return undefined;
}

// The quote is echoed into Markdown that the frontend renders: collapse whitespace and control
// characters onto one line and neutralise characters that could open HTML, code spans or break the quote.
function quoteSafely(text: string): string {
  const flattened = text
    .replace(/[\p{Cc}\p{Cf}\s]+/gu, " ")
    .replace(/</g, "‹")
    .replace(/>/g, "›")
    .replace(/[`"]/g, "'")
    .trim();
  // Array.from splits by code point, so an emoji is never cut in half.
  const characters = Array.from(flattened);
  if (characters.length <= QUOTE_MAX_CHARS) return flattened;
  return `${characters.slice(0, QUOTE_MAX_CHARS).join("").trimEnd()}…`;
}

// Tokens are words with their following whitespace, so concatenating them gives back the answer.
function splitIntoWords(text: string): string[] {
  const leading = /^\s*/.exec(text)?.[0] ?? "";
  const words = text.slice(leading.length).match(/\S+\s*/g) ?? [];
  const first = words[0];
  if (first !== undefined) words[0] = leading + first;
  return words;
}

function countUsage(messages: ChatTurn[], answer: string): TokenUsage {
  const inputTokens = messages.reduce((sum, turn) => sum + estimateTokens(turn.content), 0);
  return { inputTokens, outputTokens: estimateTokens(answer) };
}
