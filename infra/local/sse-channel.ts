// Event-stream bodies written straight to Node's response (see SseChannel in shared/http/sse.ts).
//
// A route's stream starts producing while the request's middleware is still running: its writes
// are held until the app has returned the final response, whose status and headers (CORS, request
// id, …) are then sent, followed by what was held. From there on a write goes to the socket at
// once, and waits only while the client is slower than the stream (Node's buffer is full). When
// the client goes away, the channel reports it as aborted, like the web stream it replaces.
import { ServerResponse } from "node:http";
import type { Http2Bindings, HttpBindings } from "@hono/node-server";
import type { Hono } from "hono";
import { SSE_CHANNEL_HEADER, type SseChannel, type SseChannelBindings } from "#shared/http/sse.ts";

/** @hono/node-server sends nothing for a response with this header: the body went out another way. */
const ALREADY_SENT_HEADER = "x-hono-already-sent";

export class NodeSseChannel implements SseChannel {
  private held: string[] = [];
  private started = false;
  private closed = false;
  private isAborted = false;
  private readonly abortListeners: Array<() => void> = [];
  private readonly drainWaiters: Array<() => void> = [];

  constructor(private readonly out: ServerResponse) {
    out.once("close", () => {
      if (!out.writableFinished) this.abort();
    });
    out.on("drain", () => this.wake());
  }

  get aborted(): boolean {
    return this.isAborted;
  }

  onAbort(listener: () => void): void {
    this.abortListeners.push(listener);
  }

  write(chunk: string): Promise<void> | undefined {
    if (this.isAborted || this.closed) return undefined;
    // The socket can be gone before its response's close event has been delivered.
    if (this.out.destroyed) {
      this.abort();
      return undefined;
    }
    if (!this.started) {
      this.held.push(chunk);
      return undefined;
    }
    if (this.out.write(chunk)) return undefined;
    return new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.started && !this.isAborted) this.out.end();
  }

  /** Sends the final status and headers, then what was written meanwhile (and the end, if it came). */
  start(status: number, headers: Headers): void {
    if (this.started || this.isAborted) return;
    if (this.out.destroyed) {
      this.abort();
      return;
    }
    this.started = true;
    const record: Record<string, string | string[]> = {};
    headers.forEach((value, name) => {
      if (name !== SSE_CHANNEL_HEADER) record[name] = value;
    });
    const cookies = headers.getSetCookie();
    if (cookies.length > 0) record["set-cookie"] = cookies;
    this.out.writeHead(status, record);
    const held = this.held.join("");
    this.held = [];
    if (held !== "") this.out.write(held);
    // The client learns at once that its stream is open, before the first frame.
    else this.out.flushHeaders();
    if (this.closed) this.out.end();
  }

  /** The app answered with another response after all: the stream's producer stops as if the client had left. */
  discard(): void {
    this.held = [];
    this.abort();
  }

  private wake(): void {
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  private abort(): void {
    if (this.isAborted) return;
    this.isAborted = true;
    this.wake();
    for (const listener of this.abortListeners) {
      try {
        listener();
      } catch {
        // A listener's failure must not stop the others.
      }
    }
  }
}

/** The response `sseResponse` made for a channel: marked, without a body of its own, an event stream. */
function isChannelResponse(response: Response): boolean {
  return (
    response.headers.has(SSE_CHANNEL_HEADER) &&
    response.body === null &&
    (response.headers.get("content-type") ?? "").startsWith("text/event-stream")
  );
}

/** A response @hono/node-server leaves alone (status, headers and body were written by the channel). */
function alreadySent(): Response {
  // Not a Response instance on purpose: the adapter's own lightweight Response class would be
  // answered through its cache path, which does not look at the header.
  return { status: 200, headers: new Headers({ [ALREADY_SENT_HEADER]: "1" }), body: null } as unknown as Response;
}

/**
 * The fetch callback for @hono/node-server that offers `app`'s routes a channel to Node's response
 * for their event streams, and starts it once the app's response is final.
 */
export function fetchWithSseChannels(app: Pick<Hono, "fetch">) {
  return async (request: Request, bindings: HttpBindings | Http2Bindings): Promise<Response> => {
    const { outgoing } = bindings;
    // HTTP/2 responses keep the web stream.
    if (!(outgoing instanceof ServerResponse)) return app.fetch(request, bindings);
    let channel: NodeSseChannel | undefined;
    const env: (HttpBindings | Http2Bindings) & SseChannelBindings = {
      ...bindings,
      openSseChannel: () => {
        channel ??= new NodeSseChannel(outgoing);
        return channel;
      },
    };
    const response = await app.fetch(request, env);
    if (!channel) return response;
    if (!isChannelResponse(response)) {
      // A middleware answered otherwise (Hono carries the old response's headers over to it).
      channel.discard();
      response.headers.delete(SSE_CHANNEL_HEADER);
      return response;
    }
    channel.start(response.status, response.headers);
    return alreadySent();
  };
}
