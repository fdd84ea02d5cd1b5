// The OpenAI-compatible chat model on its own thread, for the local runtime.
//
// The local runtime serves every request on one event loop. Streaming a model's answer through
// LangChain's ChatOpenAI costs that loop, per token, the HTTP read, the OpenAI SDK's SSE parsing
// and LangChain's chunk objects; at 100 concurrent streams this was about a third of the engine's
// main-thread CPU, the part the second core could do. Here the same client (same options, timeouts
// and retries) runs in a worker thread; the main thread sends each request's messages and receives
// the chunks, several per message when they arrive together. A Lambda serves one request per
// instance and keeps the model on its own thread (createOpenAICompatibleChatModel directly).
import { Worker } from "node:worker_threads";
import type { ChatChunk, ChatModel, ChatRequest, ChatResult } from "./chat-model.ts";
import { probeModelEndpoint, trimTrailingSlashes } from "./endpoint.ts";
import { ModelTimeoutError, ModelUnavailableError } from "./errors.ts";
import type { OpenAICompatibleChatModelOptions } from "./openai-compatible.ts";

/**
 * Young generation of the model thread's heap (V8's default is 48 MB: two 16 MB semi-spaces and
 * the new large-object space). Each stream in flight keeps its prompt, its LangChain messages and
 * the SDK's request alive until the answer ends, so with many concurrent streams most of what a
 * scavenge finds is still live: it is copied, then promoted, then marked again by a major GC.
 * Semi-spaces about 2.7 times larger let most streams end between two scavenges: at 100
 * concurrent streams the thread scavenged 3 to 4 times less often, copied 45% fewer bytes and
 * promoted 65% fewer per stream, and paused half as long, for 30–45 MB more peak RSS.
 */
const MODEL_THREAD_YOUNG_GENERATION_MB = 128;

/** A request as it crosses to the model thread (an AbortSignal cannot; aborts are messages). */
export type WireRequest = Omit<ChatRequest, "signal">;

export type ToModelThread =
  | { type: "stream" | "complete"; id: number; request: WireRequest }
  | { type: "abort"; id: number };

export interface WireError {
  name: string;
  message: string;
}

export type FromModelThread =
  | { type: "ready" }
  | { type: "chunks"; id: number; chunks: ChatChunk[] }
  | { type: "result"; id: number; result: ChatResult }
  | { type: "end"; id: number }
  | { type: "error"; id: number; error: WireError };

/** The model's own error classes survive the crossing, so fallbacks and status codes stay the same. */
export function reviveError(error: WireError): Error {
  let revived: Error;
  if (error.name === "ModelUnavailableError") revived = new ModelUnavailableError("");
  else if (error.name === "ModelTimeoutError") revived = new ModelTimeoutError("");
  else if (error.name === "AbortError") return new DOMException(error.message, "AbortError");
  else {
    revived = new Error("");
    revived.name = error.name;
  }
  revived.message = error.message;
  return revived;
}

/** One chunk holding the text of `chunks` in order, with the last usage reported among them. */
function joinChunks(chunks: ChatChunk[]): ChatChunk {
  const [first] = chunks;
  if (chunks.length === 1 && first) return first;
  let text = "";
  let usage: ChatChunk["usage"];
  for (const chunk of chunks) {
    text += chunk.text;
    if (chunk.usage) usage = chunk.usage;
  }
  return usage ? { text, usage } : { text };
}

/** Chunks of one call, delivered by the thread, read by the caller. */
class CallChannel {
  private readonly queue: ChatChunk[] = [];
  private waiter: (() => void) | undefined;
  ended = false;
  failure: Error | undefined;
  result: ChatResult | undefined;

  push(chunks: ChatChunk[]): void {
    for (const chunk of chunks) this.queue.push(chunk);
    this.wake();
  }

  finish(result?: ChatResult): void {
    this.ended = true;
    this.result = result;
    this.wake();
  }

  fail(error: Error): void {
    this.ended = true;
    this.failure = error;
    this.wake();
  }

  /**
   * The next chunk, or undefined once the call ended (rejects with its error). Chunks that arrived
   * while the caller was busy come as one: every layer above (metering, fallback, the copilot, SSE)
   * then handles them once, and token boundaries mean nothing to a client.
   */
  async next(): Promise<ChatChunk | undefined> {
    for (;;) {
      if (this.queue.length > 0) return joinChunks(this.queue.splice(0));
      if (this.failure) throw this.failure;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

export interface ThreadedChatModel extends ChatModel {
  /** Resolves once the thread has loaded the client (rejects if it could not start). */
  ready(): Promise<void>;
  /** Stops the model thread; calls still running fail as unavailable. */
  close(): Promise<void>;
}

/** Creates the OpenAI-compatible chat model in a worker thread (started at once, restarted on the next call if it dies). */
export function createThreadedChatModel(options: OpenAICompatibleChatModelOptions): ThreadedChatModel {
  const baseUrl = trimTrailingSlashes(options.baseUrl);
  const calls = new Map<number, CallChannel>();
  let nextId = 1;
  let worker: Worker | undefined;
  let closed = false;
  let readiness: Promise<void> = Promise.resolve();

  const failAll = (error: Error) => {
    for (const channel of calls.values()) channel.fail(error);
    calls.clear();
  };

  const thread = (): Worker => {
    if (closed) throw new ModelUnavailableError("the engine is shutting down");
    if (worker) return worker;
    const started = new Worker(new URL("./model-thread.mjs", import.meta.url), {
      workerData: options,
      resourceLimits: { maxYoungGenerationSizeMb: MODEL_THREAD_YOUNG_GENERATION_MB },
    });
    // The thread never keeps the process alive on its own; the runtime closes it on shutdown.
    started.unref();
    readiness = new Promise<void>((resolve, reject) => {
      started.once("message", () => resolve());
      started.once("error", reject);
      started.once("exit", (code) => reject(new Error(`model thread exited with code ${code} before it was ready`)));
    });
    // A start failure is reported by ready(); the calls it affects fail on their own.
    readiness.catch(() => undefined);
    started.on("message", (message: FromModelThread) => {
      if (message.type === "ready") return;
      const channel = calls.get(message.id);
      if (!channel) return;
      if (message.type === "chunks") {
        channel.push(message.chunks);
        return;
      }
      calls.delete(message.id);
      if (message.type === "error") channel.fail(reviveError(message.error));
      else channel.finish(message.type === "result" ? message.result : undefined);
    });
    const lost = () => {
      if (worker === started) worker = undefined;
      failAll(new ModelUnavailableError("the model client stopped"));
    };
    started.on("error", lost);
    started.on("exit", lost);
    worker = started;
    return started;
  };

  /** Sends one call to the thread; aborting the caller's signal aborts it there. */
  const start = (type: "stream" | "complete", request: ChatRequest) => {
    request.signal?.throwIfAborted();
    const id = nextId++;
    const channel = new CallChannel();
    const target = thread();
    calls.set(id, channel);
    const { signal, ...wire } = request;
    target.postMessage({ type, id, request: wire } satisfies ToModelThread);
    /** Stops the call on the thread if it is still running there. */
    const stopThere = () => {
      if (calls.delete(id)) target.postMessage({ type: "abort", id } satisfies ToModelThread);
    };
    const abort = () => {
      stopThere();
      // An answer that already came to its end is still handed over whole.
      if (!channel.ended) {
        channel.fail((signal?.reason as Error | undefined) ?? new DOMException("The call was aborted", "AbortError"));
      }
    };
    signal?.addEventListener("abort", abort, { once: true });
    return {
      channel,
      /** Ends the call: the thread stops it if it is still running (the caller stopped early). */
      release: () => {
        signal?.removeEventListener("abort", abort);
        stopThere();
      },
    };
  };

  thread();

  return {
    info: { kind: "openai-compatible", model: options.model, baseUrl },

    ready: () => readiness,

    async *stream(request: ChatRequest): AsyncIterable<ChatChunk> {
      const { channel, release } = start("stream", request);
      try {
        for (;;) {
          const chunk = await channel.next();
          if (chunk === undefined) return;
          yield chunk;
        }
      } finally {
        release();
      }
    },

    async complete(request: ChatRequest): Promise<ChatResult> {
      const { channel, release } = start("complete", request);
      try {
        while ((await channel.next()) !== undefined) {
          // A completion sends no chunks; only its result.
        }
        return channel.result ?? { text: "" };
      } finally {
        release();
      }
    },

    health() {
      return probeModelEndpoint({ baseUrl, ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }) });
    },

    async close() {
      closed = true;
      const running = worker;
      worker = undefined;
      failAll(new ModelUnavailableError("the engine is shutting down"));
      await running?.terminate();
    },
  };
}
