// Circuit breaker + offline fallback around the chat model endpoint.
//
// Policy (why it is shaped this way):
// - One breaker per wrapped model, and the engine wraps one model per endpoint, so the breaker is
//   per endpoint. Its state lives in the process: each Lambda instance learns about a dead endpoint
//   on its own after `failureThreshold` failures, which costs a few failed requests, not an outage.
// - Failures are what says the endpoint is unwell: ModelUnavailableError, ModelTimeoutError and raw
//   network errors. A caller's abort (student went away) and other errors never count.
// - Closed: a failure below the threshold surfaces as the typed error (502/504), exactly as without
//   the breaker, so a single blip or a misconfiguration stays visible instead of being masked by
//   canned answers. The request whose failure opens the circuit, and every request while it is
//   open, is answered by the fallback (the offline engine): once the endpoint is known to be down,
//   an honest offline answer now beats an error or a 30 s wait.
// - Open: requests go to the fallback at once, without touching the endpoint. After `openMs` the
//   circuit is half-open: `halfOpenProbes` requests (default 1) try the endpoint, the others keep
//   going to the fallback; a probe that succeeds closes the circuit, one that fails re-opens it.
// - A stream that already yielded text and then fails counts as a failure but is never replayed on
//   the fallback (the student already saw part of the answer): the error propagates and the copilot
//   stores the partial answer marked incomplete.
// - A fallback answer announces itself: its first chunk (stream) or its result (complete) carries
//   `degraded: {reason}`, read with `degradedNoticeOf`, so callers can tell the student.
import type { ChatChunk, ChatModel, ChatModelInfo, ChatRequest, ChatResult } from "./chat-model.ts";
import { ModelTimeoutError, ModelUnavailableError } from "./errors.ts";

export type CircuitState = "closed" | "open" | "half-open";

/** Why a fallback answered instead of the model; `reason` is safe to show to the student. */
export interface DegradedNotice {
  reason: string;
}

/** What the breaker reports to the composition root (metrics, logs). */
export type ResilienceEvent =
  | { type: "failure"; consecutiveFailures: number; error: unknown }
  | { type: "circuit"; from: CircuitState; to: CircuitState }
  | { type: "fallback"; reason: string; circuit: CircuitState };

export interface ResilienceOptions {
  /** Consecutive endpoint failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before a half-open probe. */
  openMs: number;
  /** Requests allowed to probe the endpoint while half-open; default 1. */
  halfOpenProbes?: number;
  /** Clock in milliseconds (tests); default Date.now. */
  now?: () => number;
  onEvent?: (event: ResilienceEvent) => void;
}

/** A chat model behind a circuit breaker; `circuit()` is the breaker's state for /health. */
export interface ResilientChatModel extends ChatModel {
  circuit(): CircuitState;
}

interface DegradedChunk extends ChatChunk {
  degraded: DegradedNotice;
}

interface DegradedResult extends ChatResult {
  degraded: DegradedNotice;
}

// Breaker state by the wrapped model's `info` object: wrappers that forward `info` unchanged (usage
// metering) keep the state reachable without knowing about breakers.
const circuits = new WeakMap<ChatModelInfo, () => CircuitState>();

const OPEN_REASON = "The language model is unavailable right now, so the offline engine answered.";

// Codes Node and undici put on errors when the endpoint cannot be reached at all.
const NETWORK_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** The notice a fallback attached to a chunk or result, if any. */
export function degradedNoticeOf(value: ChatChunk | ChatResult): DegradedNotice | undefined {
  if (!("degraded" in value)) return undefined;
  const notice: unknown = value.degraded;
  if (typeof notice !== "object" || notice === null || !("reason" in notice)) return undefined;
  return typeof notice.reason === "string" ? { reason: notice.reason } : undefined;
}

/** The breaker state of a model built by `withResilience` (or a wrapper forwarding its `info`), else undefined. */
export function circuitStateOf(model: ChatModel): CircuitState | undefined {
  const registered = circuits.get(model.info);
  if (registered) return registered();
  if (!("circuit" in model) || typeof model.circuit !== "function") return undefined;
  const state: unknown = model.circuit();
  return state === "closed" || state === "open" || state === "half-open" ? state : undefined;
}

/** True for errors that say the endpoint is unwell (counted by the breaker). */
export function isEndpointFailure(error: unknown): boolean {
  if (error instanceof ModelUnavailableError || error instanceof ModelTimeoutError) return true;
  if (typeof error !== "object" || error === null) return false;
  const code = "code" in error ? error.code : undefined;
  if (typeof code === "string" && NETWORK_ERROR_CODES.has(code)) return true;
  // fetch() reports an unreachable host as TypeError("fetch failed") with the network error as cause.
  return "cause" in error && error.cause !== error && isEndpointFailure(error.cause);
}

interface Ticket {
  route: "primary" | "fallback";
  probe: boolean;
  /** Set once success/failure/release was recorded, so a ticket settles exactly once. */
  settled: boolean;
}

class CircuitBreaker {
  private state: CircuitState = "closed";
  private failures = 0;
  private openedAt = 0;
  private probesInFlight = 0;

  constructor(
    private readonly threshold: number,
    private readonly openMs: number,
    private readonly maxProbes: number,
    private readonly now: () => number,
    private readonly emit: (event: ResilienceEvent) => void,
  ) {}

  current(): CircuitState {
    if (this.state === "open" && this.now() - this.openedAt >= this.openMs) return "half-open";
    return this.state;
  }

  admit(): Ticket {
    if (this.state === "open" && this.now() - this.openedAt >= this.openMs) this.move("half-open");
    if (this.state === "closed") return { route: "primary", probe: false, settled: false };
    if (this.state === "half-open" && this.probesInFlight < this.maxProbes) {
      this.probesInFlight += 1;
      return { route: "primary", probe: true, settled: false };
    }
    return { route: "fallback", probe: false, settled: true };
  }

  succeeded(ticket: Ticket): void {
    if (!this.settle(ticket)) return;
    this.failures = 0;
    if (this.state !== "closed") this.move("closed");
  }

  failed(ticket: Ticket, error: unknown): void {
    if (!this.settle(ticket)) return;
    this.failures += 1;
    this.emit({ type: "failure", consecutiveFailures: this.failures, error });
    if (ticket.probe || (this.state === "closed" && this.failures >= this.threshold)) {
      this.openedAt = this.now();
      this.move("open");
    }
  }

  /** The request ended without telling anything about the endpoint (caller abort, foreign error). */
  released(ticket: Ticket): void {
    this.settle(ticket);
  }

  private settle(ticket: Ticket): boolean {
    if (ticket.settled) return false;
    ticket.settled = true;
    if (ticket.probe) this.probesInFlight -= 1;
    return true;
  }

  private move(to: CircuitState): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    this.emit({ type: "circuit", from, to });
  }
}

/** Wraps the endpoint's model in a circuit breaker that routes to `fallback` when it is down (policy above). */
export function withResilience(
  primary: ChatModel,
  fallback: ChatModel,
  options: ResilienceOptions,
): ResilientChatModel {
  if (!Number.isInteger(options.failureThreshold) || options.failureThreshold < 1) {
    throw new RangeError("failureThreshold must be a positive integer");
  }
  if (!(options.openMs > 0)) throw new RangeError("openMs must be a positive number of milliseconds");
  const emit = (event: ResilienceEvent) => {
    // A broken metrics or log sink must never break an answer.
    try {
      options.onEvent?.(event);
    } catch {}
  };
  const breaker = new CircuitBreaker(
    options.failureThreshold,
    options.openMs,
    options.halfOpenProbes ?? 1,
    options.now ?? Date.now,
    emit,
  );

  function notice(reason: string): DegradedNotice {
    emit({ type: "fallback", reason, circuit: breaker.current() });
    return { reason };
  }

  async function* fallbackStream(request: ChatRequest, reason: string): AsyncIterable<ChatChunk> {
    const first: DegradedChunk = { text: "", degraded: notice(reason) };
    yield first;
    yield* fallback.stream(request);
  }

  async function fallbackComplete(request: ChatRequest, reason: string): Promise<ChatResult> {
    const result: DegradedResult = { ...(await fallback.complete(request)), degraded: notice(reason) };
    return result;
  }

  /** Records the outcome; returns true when the caller should be answered by the fallback. */
  function onError(ticket: Ticket, request: ChatRequest, error: unknown, textSent: boolean): boolean {
    if (request.signal?.aborted || !isEndpointFailure(error)) {
      breaker.released(ticket);
      return false;
    }
    breaker.failed(ticket, error);
    return !textSent && breaker.current() !== "closed";
  }

  const info: ChatModelInfo = { ...primary.info };
  circuits.set(info, () => breaker.current());

  return {
    info,

    circuit: () => breaker.current(),

    async *stream(request: ChatRequest): AsyncIterable<ChatChunk> {
      const ticket = breaker.admit();
      if (ticket.route === "fallback") {
        yield* fallbackStream(request, OPEN_REASON);
        return;
      }
      let textSent = false;
      try {
        for await (const chunk of primary.stream(request)) {
          if (chunk.text !== "") textSent = true;
          yield chunk;
        }
        breaker.succeeded(ticket);
      } catch (error) {
        if (!onError(ticket, request, error, textSent)) throw error;
        yield* fallbackStream(request, reasonOf(error));
      } finally {
        // The caller stopped iterating early: text that flowed proves the endpoint works.
        if (textSent) breaker.succeeded(ticket);
        else breaker.released(ticket);
      }
    },

    async complete(request: ChatRequest): Promise<ChatResult> {
      const ticket = breaker.admit();
      if (ticket.route === "fallback") return fallbackComplete(request, OPEN_REASON);
      try {
        const result = await primary.complete(request);
        breaker.succeeded(ticket);
        return result;
      } catch (error) {
        if (!onError(ticket, request, error, false)) throw error;
        return fallbackComplete(request, reasonOf(error));
      }
    },

    health: () => primary.health(),
  };
}

// The typed model errors are written for students; anything else gets a generic reason.
function reasonOf(error: unknown): string {
  const cause =
    error instanceof ModelUnavailableError || error instanceof ModelTimeoutError
      ? error.message.replace(/\.$/, "")
      : "The language model could not be reached";
  return `${cause}, so the offline engine answered.`;
}
