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
  write(chunk: string): Promise<void>;
  readonly aborted: boolean;
  onAbort(listener: () => void): void;
}

/** Bytes a stream may hold back before its producer has to wait for the client. */
const MAX_BUFFERED_CHARS = 64 * 1024;

/**
 * A sink that sends the frames written in the same turn of the event loop as one write. Tokens
 * that arrive together (several in one network read of the model's stream, or queued while the
 * loop was busy) then cost one trip through the response stream and one socket write instead of
 * one each; a token arriving alone still leaves at the end of its turn, and the stream's first frame
 * leaves at once. Frames stay in order, and a
 * producer waits only when a slow client lets MAX_BUFFERED_CHARS pile up. A failed write is
 * raised by the next write or flush.
 */
export class CoalescingSink implements SseSink {
  private buffer = "";
  private scheduled = false;
  private started = false;
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(private readonly target: SseSink) {}

  get aborted(): boolean {
    return this.target.aborted;
  }

  onAbort(listener: () => void): void {
    this.target.onAbort(listener);
  }

  async write(chunk: string): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.buffer += chunk;
    if (!this.started) {
      // The first frame (the time to first token the student sees) does not wait for the turn to end:
      // on a busy loop the end of the turn comes after every other stream's I/O callbacks.
      this.started = true;
      this.drain();
      return;
    }
    if (this.buffer.length >= MAX_BUFFERED_CHARS) {
      await this.flush();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  /** Sends everything written so far; resolves once the target has taken it. */
  async flush(): Promise<void> {
    this.drain();
    await this.tail;
    if (this.failure !== undefined) throw this.failure;
  }

  private drain(): void {
    this.tail = this.tail.then(async () => {
      const data = this.buffer;
      this.buffer = "";
      if (data === "" || this.failure !== undefined) return;
      try {
        await this.target.write(data);
      } catch (error) {
        this.failure = error;
      }
    });
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

  /** Writes a token as soon as it arrives (no buffering beyond whitespace in session framing). */
  async token(text: string): Promise<void> {
    if (text === "") return;
    if (this.framing === "generic") {
      if (text.trim() !== "") this.wroteText = true;
      await this.sink.write(encodeGenericData(text));
      return;
    }
    if (text.trim() === "") {
      this.pendingWhitespace += text;
      return;
    }
    const payload = this.pendingWhitespace + text;
    this.pendingWhitespace = "";
    this.wroteText = true;
    await this.sink.write(encodeSessionData(payload));
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

  async write(chunk: string): Promise<void> {
    const controller = this.controller;
    if (this.isAborted || this.closed || controller === undefined) return;
    controller.enqueue(this.encoder.encode(chunk));
    if ((controller.desiredSize ?? 1) > 0) return;
    await new Promise<void>((resolve) => {
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
