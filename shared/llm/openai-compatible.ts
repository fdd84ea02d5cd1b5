// Chat model adapter for any OpenAI-compatible endpoint (Ollama /v1, OpenAI, Groq, vLLM…) via LangChain.
import { AIMessage, type BaseMessage, HumanMessage, SystemMessage } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import type { ChatChunk, ChatModel, ChatRequest, ChatResult, ChatTurn, TokenUsage } from "./chat-model.ts";
import { probeModelEndpoint, trimTrailingSlashes } from "./endpoint.ts";
import { ModelTimeoutError, ModelUnavailableError } from "./errors.ts";
import { createHttpFetch } from "./http-fetch.ts";

export { resolveModelEndpoint } from "./endpoint.ts";

export interface OpenAICompatibleChatModelOptions {
  /** API root including the version segment, e.g. `http://gpu-host:11434/v1`. */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** complete(): deadline of the whole request. stream(): the longest silence allowed between two tokens. */
  timeoutMs: number;
  /** Attempts after the first one; only made while no token has reached the caller. */
  maxRetries: number;
  /** stream(): deadline of the first token (defaults to timeoutMs); a cold Ollama model may need longer. */
  firstTokenTimeoutMs?: number;
}

// Without an explicit key the OpenAI client reads OPENAI_API_KEY from the environment and would send
// that real key to whatever endpoint is configured (e.g. an Ollama host); keyless servers ignore this one.
const PLACEHOLDER_API_KEY = "ollama";
const RETRY_BASE_DELAY_MS = 150;
const RETRY_MAX_DELAY_MS = 2_000;
// Requests differ only by temperature, max tokens and response format, which ChatOpenAI fixes per instance.
const MAX_CACHED_CLIENTS = 16;

/** Creates a chat model backed by an OpenAI-compatible endpoint, with real token streaming, timeouts and retries. */
export function createOpenAICompatibleChatModel(options: OpenAICompatibleChatModelOptions): ChatModel {
  if (!(options.timeoutMs > 0)) throw new RangeError("timeoutMs must be a positive number of milliseconds");
  if (!Number.isInteger(options.maxRetries) || options.maxRetries < 0) {
    throw new RangeError("maxRetries must be a non-negative integer");
  }
  const baseUrl = trimTrailingSlashes(options.baseUrl);
  const firstTokenTimeoutMs = options.firstTokenTimeoutMs ?? options.timeoutMs;
  const clients = new Map<string, ChatOpenAI>();
  // One pool of kept-alive connections to the endpoint, shared by every client below.
  const transport = createHttpFetch();

  function clientFor(request: ChatRequest): ChatOpenAI {
    const key = `${request.temperature ?? ""}|${request.maxTokens ?? ""}|${request.responseFormat ?? ""}`;
    const cached = clients.get(key);
    if (cached !== undefined) return cached;
    if (clients.size >= MAX_CACHED_CLIENTS) clients.clear();
    const client = new ChatOpenAI({
      model: options.model,
      apiKey: options.apiKey ?? PLACEHOLDER_API_KEY,
      configuration: { baseURL: baseUrl, fetch: transport },
      // Retries are ours: LangChain's caller could re-send a request whose stream had already started.
      maxRetries: 0,
      streamUsage: true,
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.maxTokens === undefined ? {} : { maxTokens: request.maxTokens }),
      ...(request.responseFormat === "json" ? { modelKwargs: { response_format: { type: "json_object" } } } : {}),
    });
    clients.set(key, client);
    return client;
  }

  return {
    info: { kind: "openai-compatible", model: options.model, baseUrl },

    async *stream(request: ChatRequest): AsyncIterable<ChatChunk> {
      const client = clientFor(request);
      const messages = toLangChainMessages(request.messages);
      for (let attempt = 0; ; attempt += 1) {
        request.signal?.throwIfAborted();
        const guard = new AttemptGuard(request.signal);
        let yielded = false;
        try {
          guard.arm(firstTokenTimeoutMs, "no first token");
          const iterator = (await guard.race(messageChunks(client, messages, guard.signal)))[Symbol.asyncIterator]();
          let usage: TokenUsage | undefined;
          for (;;) {
            const next = await guard.race(iterator.next());
            if (next.done) break;
            const message = messageOf(next.value);
            usage = usageOf(message.usage_metadata) ?? usage;
            const text = textOf(message.content);
            if (text.length === 0) continue;
            // The silence timer must not count the time the caller spends on the chunk.
            guard.pause();
            yielded = true;
            yield { text };
            guard.arm(options.timeoutMs, "the answer stalled");
          }
          // LangChain ends an aborted stream quietly; an abort must not look like a complete answer.
          guard.throwIfStopped();
          guard.finished();
          // Text was forwarded as it came, so the usage the endpoint reports last rides on an empty chunk.
          if (usage !== undefined) yield { text: "", usage };
          return;
        } catch (error) {
          const failure = guard.translate(error);
          if (yielded || attempt >= options.maxRetries || !isRetryable(failure)) throw failure;
        } finally {
          // Also runs when the caller stops iterating early: aborting releases the HTTP connection.
          guard.dispose();
        }
        await retryPause(attempt, request.signal);
      }
    },

    async complete(request: ChatRequest): Promise<ChatResult> {
      const client = clientFor(request);
      const messages = toLangChainMessages(request.messages);
      for (let attempt = 0; ; attempt += 1) {
        request.signal?.throwIfAborted();
        const guard = new AttemptGuard(request.signal);
        try {
          guard.arm(options.timeoutMs, "no answer");
          const message = await guard.race(client.invoke(messages, { signal: guard.signal }));
          guard.throwIfStopped();
          guard.finished();
          const usage = usageOf(message.usage_metadata);
          const text = textOf(message.content);
          return usage === undefined ? { text } : { text, usage };
        } catch (error) {
          const failure = guard.translate(error);
          if (attempt >= options.maxRetries || !isRetryable(failure)) throw failure;
        } finally {
          guard.dispose();
        }
        await retryPause(attempt, request.signal);
      }
    },

    health() {
      return probeModelEndpoint({ baseUrl, ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }) });
    },
  };
}

/** What the stream loop reads of a LangChain message chunk. */
interface MessageChunk {
  content: unknown;
  usage_metadata?: { input_tokens: number; output_tokens: number } | undefined;
}

// LangSmith tracing (the only callbacks this engine could have) is read from the environment once;
// LangChain itself re-reads it on every streamed chunk.
const TRACING_VARIABLES = ["LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2", "LANGSMITH_TRACING", "LANGCHAIN_TRACING"];
const tracingConfigured = TRACING_VARIABLES.some((name) => process.env[name] === "true");

/**
 * The answer's message chunks. `.stream()` wraps the provider's chunk generator in the Runnable
 * machinery, which per chunk configures a callback manager, pulls through a web ReadableStream and
 * concatenates every chunk so far into one message for `handleLLMEnd` (quadratic in the answer's
 * length); with no tracer to feed, that was most of the engine's CPU per token under load. So
 * without tracing the stream reads ChatOpenAI's own chunk generator — the same request, parsing and
 * chunk conversion — and with tracing configured it keeps `.stream()` so runs are still recorded.
 */
async function messageChunks(
  client: ChatOpenAI,
  messages: BaseMessage[],
  signal: AbortSignal,
): Promise<AsyncIterable<MessageChunk | { message: MessageChunk }>> {
  if (tracingConfigured) return client.stream(messages, { signal });
  return client._streamResponseChunks(messages, { signal });
}

/** The message of a provider generation chunk (fast path), or the message chunk itself (`.stream()`). */
function messageOf(value: MessageChunk | { message: MessageChunk }): MessageChunk {
  return "message" in value ? value.message : value;
}

// One attempt's deadline and abort wiring: the caller's signal and our timers both abort the request,
// and we remember which one did so that the error says the right thing. Per token the deadline only
// moves (a timestamp), and the one timer re-checks it when it fires: creating and clearing a timer per
// token costs more than the rest of the token's handling in this file.
class AttemptGuard {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  /** When the running timer fires (Date.now() clock). */
  private timerDue = 0;
  private limitMs = 0;
  private reason = "";
  /** Start of the current wait; the deadline is since + limitMs. */
  private since = 0;
  /** The caller holds a chunk: its time does not count. */
  private paused = true;
  private done = false;
  private timeoutReason: string | undefined;
  private rejectPending: ((error: unknown) => void) | undefined;
  private readonly onCallerAbort = () => this.controller.abort();
  private readonly onTimer = () => {
    this.timer = undefined;
    if (this.controller.signal.aborted) return;
    const now = Date.now();
    if (this.paused) return this.schedule(now + this.limitMs);
    const due = this.since + this.limitMs;
    if (now < due) return this.schedule(due);
    this.timeoutReason = `${this.reason} within ${this.limitMs} ms`;
    this.controller.abort();
  };

  constructor(private readonly callerSignal: AbortSignal | undefined) {
    this.controller.signal.addEventListener(
      "abort",
      () => {
        const reject = this.rejectPending;
        this.rejectPending = undefined;
        reject?.(new Error("attempt stopped"));
      },
      { once: true },
    );
    callerSignal?.addEventListener("abort", this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Starts a wait of at most `ms`, from now. */
  arm(ms: number, reason: string): void {
    const now = Date.now();
    this.limitMs = ms;
    this.reason = reason;
    this.since = now;
    this.paused = false;
    if (this.timer === undefined || this.timerDue > now + ms) this.schedule(now + ms);
  }

  /** Stops counting until the next arm(). */
  pause(): void {
    this.paused = true;
  }

  /** The attempt ran to its end: nothing is left to abort. */
  finished(): void {
    this.done = true;
  }

  /** Settles with the promise, or rejects as soon as the attempt is aborted (LangChain may not notice). */
  race<T>(promise: Promise<T>): Promise<T> {
    if (this.controller.signal.aborted) {
      promise.catch(() => undefined);
      return Promise.reject(new Error("attempt stopped"));
    }
    return new Promise<T>((resolve, reject) => {
      this.rejectPending = reject;
      promise.then(
        (value) => {
          this.rejectPending = undefined;
          resolve(value);
        },
        (error: unknown) => {
          this.rejectPending = undefined;
          reject(error);
        },
      );
    });
  }

  throwIfStopped(): void {
    if (this.controller.signal.aborted) throw new Error("attempt stopped");
  }

  /** Maps whatever the attempt threw to the caller's abort reason, a ModelTimeoutError or a ModelUnavailableError. */
  translate(error: unknown): unknown {
    if (this.callerSignal?.aborted) return this.callerSignal.reason;
    if (this.timeoutReason !== undefined) return new ModelTimeoutError(this.timeoutReason, { cause: error });
    if (error instanceof ModelUnavailableError || error instanceof ModelTimeoutError) return error;
    if (error instanceof Error && error.name === "TimeoutError") {
      return new ModelTimeoutError("the model endpoint timed out", { cause: error });
    }
    return toUnavailable(error);
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.callerSignal?.removeEventListener("abort", this.onCallerAbort);
    // A finished response has released its connection already; aborting it would only build an error.
    if (!this.done) this.controller.abort();
  }

  private schedule(due: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(this.onTimer, Math.max(0, due - Date.now()));
  }
}

class RetryableModelUnavailableError extends ModelUnavailableError {}

// The endpoint's own error text is not copied: an OpenAI 401 body quotes part of the key.
function toUnavailable(error: unknown): ModelUnavailableError {
  const status = statusOf(error);
  if (status === undefined) {
    if (error instanceof Error && error.name === "ContextOverflowError") {
      return new ModelUnavailableError("the conversation is too long for the model", { cause: error });
    }
    return new RetryableModelUnavailableError("the model endpoint could not be reached", { cause: error });
  }
  if (status === 401 || status === 403) {
    return new ModelUnavailableError(`the model endpoint refused the credentials (HTTP ${status})`, { cause: error });
  }
  if (status === 404) {
    return new ModelUnavailableError("the model or its endpoint was not found (HTTP 404)", { cause: error });
  }
  if (status === 429) {
    return new RetryableModelUnavailableError("the model endpoint is rate limiting requests (HTTP 429)", {
      cause: error,
    });
  }
  const reason = `the model endpoint answered HTTP ${status}`;
  return status === 408 || status === 409 || status >= 500
    ? new RetryableModelUnavailableError(reason, { cause: error })
    : new ModelUnavailableError(reason, { cause: error });
}

function isRetryable(error: unknown): boolean {
  return error instanceof RetryableModelUnavailableError;
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("status" in error)) return undefined;
  return typeof error.status === "number" ? error.status : undefined;
}

async function retryPause(attempt: number, signal: AbortSignal | undefined): Promise<void> {
  const ms = Math.min(RETRY_MAX_DELAY_MS, RETRY_BASE_DELAY_MS * 2 ** attempt);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
  signal?.throwIfAborted();
}

function toLangChainMessages(turns: ChatTurn[]): BaseMessage[] {
  return turns.map((turn) => {
    if (turn.role === "system") return new SystemMessage(turn.content);
    if (turn.role === "assistant") return new AIMessage(turn.content);
    return new HumanMessage(turn.content);
  });
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let text = "";
  for (const part of content) {
    if (typeof part === "object" && part !== null && "type" in part && part.type === "text" && "text" in part) {
      if (typeof part.text === "string") text += part.text;
    }
  }
  return text;
}

function usageOf(usage: { input_tokens: number; output_tokens: number } | undefined): TokenUsage | undefined {
  if (usage === undefined) return undefined;
  if (usage.input_tokens === 0 && usage.output_tokens === 0) return undefined;
  return { inputTokens: usage.input_tokens, outputTokens: usage.output_tokens };
}
