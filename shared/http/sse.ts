// Server-sent events in the two framings of the wire contract.
//
// Session stream (notebook chat): one `data:` line per frame; newlines inside a token are sent as
// the two characters `\` `n`; whitespace-only payloads are never sent (clients drop them), so
// whitespace is carried over to the next token.
// Generic stream (chat/summarize/qa): multi-line text becomes consecutive `data:` lines of one
// event, as the SSE specification says, so no line of output is ever outside a `data:` field.
import type { Context } from "hono";

export type SseFraming = "session" | "generic";

const LINE_BREAK = /\r\n|\r|\n/g;

/** Encodes one session-stream frame (the payload must not be whitespace-only). */
export function encodeSessionData(text: string): string {
  return `data: ${text.replace(LINE_BREAK, "\\n")}\n\n`;
}

/** Encodes one generic-stream event whose data may span several lines. */
export function encodeGenericData(text: string, event?: string): string {
  const lines = text.split(LINE_BREAK).map((line) => `data: ${line}\n`);
  return `${event ? `event: ${event}\n` : ""}${lines.join("")}\n`;
}

/** Encodes a named event whose data is one line (JSON or a short value). */
export function encodeEvent(event: string, data: string): string {
  return `event: ${event}\ndata: ${data.replace(LINE_BREAK, " ")}\n\n`;
}

export const DONE_FRAME = "event: done\ndata: \n\n";

/** The writing side of an SSE response; `aborted` turns true when the client goes away. */
export interface SseSink {
  /**
   * Takes a chunk. Returns a promise only when the producer has to wait (the client is slower than
   * the stream, or the write failed); `undefined` means taken at once. Tokens are written hundreds
   * of times per second per stream, and a promise awaited for each is measurable.
   */
  write(chunk: string): Promise<void> | undefined;
  readonly aborted: boolean;
  onAbort(listener: () => void): void;
}

/** Bytes a stream may hold back before its producer has to wait for the client. */
const MAX_BUFFERED_CHARS = 64 * 1024;

/** Sinks holding frames until the end of the current turn of the event loop, drained by one callback. */
const sinksAwaitingTurnEnd: CoalescingSink[] = [];

function drainAtTurnEnd(): void {
  for (const sink of sinksAwaitingTurnEnd.splice(0)) sink.turnEnded();
}

/**
 * A sink that sends the frames written in the same turn of the event loop as one write. Tokens
 * that arrive together (several in one network read of the model's stream, or queued while the
 * loop was busy) then cost one trip through the response stream and one socket write instead of
 * one each; a token arriving alone still leaves at the end of its turn, and the stream's first frame
 * leaves at once. One callback at the end of the turn drains every stream's sink. Frames stay in
 * order, and a producer waits only when a slow client lets MAX_BUFFERED_CHARS pile up. A failed
 * write is raised by the next write or flush.
 */
export class CoalescingSink implements SseSink {
  private buffer = "";
  private scheduled = false;
  private started = false;
  /** The target's write that made the stream wait; what is buffered meanwhile follows it. */
  private waiting: Promise<void> | undefined;
  private failure: unknown;

  constructor(private readonly target: SseSink) {}

  get aborted(): boolean {
    return this.target.aborted;
  }

  onAbort(listener: () => void): void {
    this.target.onAbort(listener);
  }

  write(chunk: string): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.buffer += chunk;
    if (!this.started) {
      // The first frame (the time to first token the student sees) does not wait for the turn to end:
      // on a busy loop the end of the turn comes after every other stream's I/O callbacks.
      this.started = true;
      this.drain();
      return undefined;
    }
    if (this.buffer.length >= MAX_BUFFERED_CHARS) return this.flush();
    if (!this.scheduled) {
      this.scheduled = true;
      if (sinksAwaitingTurnEnd.push(this) === 1) setImmediate(drainAtTurnEnd);
    }
    return undefined;
  }

  /** Sends everything written so far; resolves once the target has taken it. */
  async flush(): Promise<void> {
    this.drain();
    while (this.waiting) await this.waiting;
    if (this.failure !== undefined) throw this.failure;
  }

  /** The end of the turn in which this sink was scheduled. */
  turnEnded(): void {
    this.scheduled = false;
    this.drain();
  }

  private drain(): void {
    if (this.waiting || this.buffer === "" || this.failure !== undefined) return;
    const data = this.buffer;
    this.buffer = "";
    let taken: Promise<void> | undefined;
    try {
      taken = this.target.write(data);
    } catch (error) {
      this.failure = error;
      return;
    }
    if (!taken) return;
    this.waiting = taken.then(
      () => {
        this.waiting = undefined;
        this.drain();
      },
      (error: unknown) => {
        this.waiting = undefined;
        this.failure = error;
      },
    );
  }
}

/** Frames model tokens for one stream; whitespace in session framing is attached to the next token. */
export class SseWriter {
  private pendingWhitespace = "";
  private wroteText = false;
  private errorText: string | undefined;

  constructor(
    private readonly sink: SseSink,
    readonly framing: SseFraming,
  ) {}

  get aborted(): boolean {
    return this.sink.aborted;
  }

  /**
   * Writes a token as soon as it arrives (no buffering beyond whitespace in session framing).
   * Returns a promise only when the producer has to wait for the client (see SseSink.write).
   */
  token(text: string): Promise<void> | undefined {
    if (text === "") return undefined;
    if (this.framing === "generic") {
      if (text.trim() !== "") this.wroteText = true;
      return this.sink.write(encodeGenericData(text));
    }
    if (text.trim() === "") {
      this.pendingWhitespace += text;
      return undefined;
    }
    const payload = this.pendingWhitespace + text;
    this.pendingWhitespace = "";
    this.wroteText = true;
    return this.sink.write(encodeSessionData(payload));
  }

  /** A named event with a single-line payload (`citations`, `sources`, `file`, `error`). */
  async event(name: string, data: string): Promise<void> {
    if (name === "error") this.errorText ??= errorTextOf(data);
    await this.sink.write(encodeEvent(name, data));
  }

  async error(message: string): Promise<void> {
    await this.event("error", JSON.stringify({ error: message }));
  }

  /** Ends the stream with the contract's `event: done` marker. */
  async done(): Promise<void> {
    await this.sink.write(DONE_FRAME);
  }

  /** True once any visible text was written. */
  get hasText(): boolean {
    return this.wroteText;
  }

  /** The message of the first `error` event written, if any. */
  get firstError(): string | undefined {
    return this.errorText;
  }
}

/** The message of an `error` event's data (`{"error": "..."}`, or the raw text). */
function errorTextOf(data: string): string {
  try {
    const parsed = JSON.parse(data) as { error?: unknown };
    if (typeof parsed.error === "string") return parsed.error;
  } catch {
    // Fall through to the raw text.
  }
  return data || "stream error";
}

/** How an event stream ended: the first error event's message, and whether the client left first. */
export interface StreamEnd {
  error?: string;
  abandoned: boolean;
}

/**
 * Told how a stream built by `sseResponse` ended, before the response body closes (so a Lambda is
 * not frozen with work still pending). Middleware that needs the outcome of a stream (usage
 * records) puts one in the request context under `streamObserver`; `sseResponse` claims it.
 */
export interface StreamObserver {
  claimed: boolean;
  end(outcome: StreamEnd): Promise<void>;
}

function streamObserverOf(c: Context): StreamObserver | undefined {
  const value: unknown = c.get("streamObserver");
  return typeof value === "object" && value !== null && "end" in value ? (value as StreamObserver) : undefined;
}

/**
 * A platform's own way to send an event stream's body, in place of a web ReadableStream that the
 * platform's adapter reads back chunk by chunk. The local runtime offers one that writes to Node's
 * response directly: at 100 concurrent chat streams the stream machinery between the two was ~10 %
 * of its main thread's CPU. A channel takes writes at once; the platform sends them, after the
 * status and headers, once the middleware has finished with the response.
 */
export interface SseChannel extends SseSink {
  /** Ends the body after everything written so far. */
  close(): void;
}

/** What a platform puts in a request's bindings (`c.env`) to offer a channel. */
export interface SseChannelBindings {
  openSseChannel?: () => SseChannel;
}

/** Marks the response of a stream whose body goes through the platform's channel (never sent to clients). */
export const SSE_CHANNEL_HEADER = "x-collabry-sse-channel";

/**
 * The response body of an event stream: text written to it is encoded and queued straight into one
 * ReadableStream that the server (Node adapter or Lambda streaming) reads. A write waits while the
 * client has not taken the previous chunk; when the client goes away, writes are dropped and the
 * abort listeners run.
 */
class SseBody implements SseSink {
  readonly stream: ReadableStream<Uint8Array>;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private readonly encoder = new TextEncoder();
  private readonly abortListeners: Array<() => void> = [];
  private resumeWriter: (() => void) | undefined;
  private isAborted = false;
  private closed = false;

  constructor() {
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      pull: () => this.resume(),
      cancel: () => this.abort(),
    });
  }

  get aborted(): boolean {
    return this.isAborted;
  }

  onAbort(listener: () => void): void {
    this.abortListeners.push(listener);
  }

  write(chunk: string): Promise<void> | undefined {
    const controller = this.controller;
    if (this.isAborted || this.closed || controller === undefined) return undefined;
    controller.enqueue(this.encoder.encode(chunk));
    if ((controller.desiredSize ?? 1) > 0) return undefined;
    return new Promise<void>((resolve) => {
      this.resumeWriter = resolve;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.resume();
    if (!this.isAborted) this.controller?.close();
  }

  private resume(): void {
    const resume = this.resumeWriter;
    this.resumeWriter = undefined;
    resume?.();
  }

  private abort(): void {
    if (this.isAborted) return;
    this.isAborted = true;
    this.resume();
    for (const listener of this.abortListeners) {
      try {
        listener();
      } catch {
        // A listener's failure must not stop the others.
      }
    }
  }
}

/** Starts an SSE response; `produce` writes frames while the response is already flowing to the client. */
export function sseResponse(
  c: Context,
  framing: SseFraming,
  produce: (writer: SseWriter) => Promise<void>,
  onFailure: (error: unknown, writer: SseWriter) => Promise<void>,
): Response {
  c.header("Content-Type", "text/event-stream; charset=utf-8");
  c.header("Cache-Control", "no-cache");
  // Proxies (nginx, some load balancers) buffer responses unless told not to.
  c.header("X-Accel-Buffering", "no");
  const channel = (c.env as SseChannelBindings | undefined)?.openSseChannel?.();
  const body = channel ?? new SseBody();
  const observer = streamObserverOf(c);
  if (observer) observer.claimed = true;
  const sink = new CoalescingSink(body);
  const writer = new SseWriter(sink, framing);
  const run = async () => {
    let failed = false;
    try {
      try {
        await produce(writer);
      } catch (error) {
        await onFailure(error, writer);
      }
    } catch {
      // onFailure could not even write its error frame: the stream still ends, as a failure.
      failed = true;
    }
    // What is still buffered goes first; then the observer, then the end of the body.
    await sink.flush().catch(() => undefined);
    const error = writer.firstError ?? (failed ? "stream failed" : undefined);
    await observer?.end({ abandoned: body.aborted, ...(error !== undefined ? { error } : {}) }).catch(() => undefined);
    body.close();
  };
  void run();
  if (body instanceof SseBody) return c.body(body.stream);
  c.header(SSE_CHANNEL_HEADER, "1");
  return c.body(null);
}
