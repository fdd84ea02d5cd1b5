// The transport of the chat model client: a `fetch` over node:http(s) with kept-alive connections.
//
// The OpenAI SDK under LangChain's ChatOpenAI takes any fetch (`configuration.fetch`). Node's own
// fetch (undici) runs the whole Fetch algorithm per request and carries every chunk of a streamed
// answer through its byte-stream machinery; on the chat path that was about a fifth of the engine's
// CPU per streamed reply. This one sends the SDK's request (a string or bytes body) as it is and
// hands back a standard Response whose body is fed straight from the socket, paused while the
// reader is behind. Anything else (a stream or form body, a Request object) goes to Node's fetch.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";

/** Statuses whose response has no body (a Response with a body for them cannot be built). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
/** Chunks a reader may fall behind by before the socket is paused. */
const HIGH_WATER_CHUNKS = 16;
const KEEP_ALIVE_MS = 30_000;

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("This operation was aborted", "AbortError");
}

function headersOf(init: RequestInit["headers"]): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  if (init === undefined) return headers;
  if (init instanceof Headers || Array.isArray(init)) {
    for (const [name, value] of init) headers[name] = value;
    return headers;
  }
  for (const [name, value] of Object.entries(init as Record<string, string>)) headers[name.toLowerCase()] = value;
  return headers;
}

function responseHeaders(raw: string[]): Headers {
  const headers = new Headers();
  for (let index = 0; index + 1 < raw.length; index += 2) headers.append(raw[index] ?? "", raw[index + 1] ?? "");
  return headers;
}

function decoded(response: IncomingMessage): Readable {
  switch (response.headers["content-encoding"]?.trim().toLowerCase()) {
    case "gzip":
    case "x-gzip":
      return response.pipe(createGunzip());
    case "deflate":
      return response.pipe(createInflate());
    case "br":
      return response.pipe(createBrotliDecompress());
    default:
      return response;
  }
}

/**
 * The chunks of `source` as an async iterator, the socket paused while the reader is
 * HIGH_WATER_CHUNKS behind; `return` (the reader stopped early) cancels the request.
 */
function sourceIterator(
  source: Readable,
  onCancel: () => void,
  failure: (error: unknown) => unknown,
): AsyncIterableIterator<Uint8Array> {
  const queue: Uint8Array[] = [];
  let ended = false;
  let error: unknown;
  let reader: { resolve: (result: IteratorResult<Uint8Array>) => void; reject: (error: unknown) => void } | undefined;
  const settle = () => {
    const waiting = reader;
    if (!waiting) return;
    const chunk = queue.shift();
    if (chunk) {
      reader = undefined;
      waiting.resolve({ done: false, value: chunk });
    } else if (ended) {
      reader = undefined;
      if (error === undefined) waiting.resolve({ done: true, value: undefined });
      else waiting.reject(error);
    }
  };
  source.on("data", (chunk: Buffer) => {
    queue.push(chunk);
    if (queue.length >= HIGH_WATER_CHUNKS) source.pause();
    settle();
  });
  source.once("end", () => {
    ended = true;
    settle();
  });
  source.once("error", (cause) => {
    ended = true;
    error = failure(cause);
    settle();
  });
  return {
    next() {
      const chunk = queue.shift();
      if (chunk) {
        if (source.isPaused() && queue.length < HIGH_WATER_CHUNKS) source.resume();
        return Promise.resolve({ done: false, value: chunk });
      }
      if (ended) return error === undefined ? Promise.resolve({ done: true, value: undefined }) : Promise.reject(error);
      if (source.isPaused()) source.resume();
      return new Promise((resolve, reject) => {
        reader = { resolve, reject };
      });
    },
    return() {
      if (!ended) {
        ended = true;
        onCancel();
      }
      queue.length = 0;
      return Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * The body of a response, fed by `source`. Read as a web stream, it is paused while its reader is
 * HIGH_WATER_CHUNKS behind. Iterated with `for await` (as the OpenAI SDK reads a streamed answer),
 * it gives the socket's chunks straight from `source`, without the web stream's queue and read
 * requests per chunk (at 100 concurrent chat streams, the model client thread spent ~5 % less CPU
 * per answer). The first way of reading it takes the source.
 */
function responseBody(source: Readable, onCancel: () => void, signal: AbortSignal | null | undefined) {
  const failure = (error: unknown) => (signal?.aborted ? abortReason(signal) : error);
  let taken = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      // Called only once a reader asks for data (a high-water mark of 0 pulls nothing ahead).
      pull(controller) {
        if (!taken) {
          taken = true;
          source.on("data", (chunk: Buffer) => {
            controller.enqueue(chunk);
            if ((controller.desiredSize ?? 0) <= -HIGH_WATER_CHUNKS) source.pause();
          });
          source.once("end", () => controller.close());
          source.once("error", (error) => controller.error(failure(error)));
        }
        source.resume();
      },
      cancel() {
        onCancel();
      },
    },
    { highWaterMark: 0 },
  );
  const webIterator = stream.values.bind(stream);
  Object.defineProperty(stream, Symbol.asyncIterator, {
    value: (options?: { preventCancel?: boolean }) => {
      if (taken || stream.locked) return webIterator(options);
      taken = true;
      return sourceIterator(source, onCancel, failure);
    },
  });
  return stream;
}

/** Creates the fetch; each instance keeps its own pool of connections. */
export function createHttpFetch(): typeof fetch {
  const agents = {
    http: new HttpAgent({ keepAlive: true, keepAliveMsecs: KEEP_ALIVE_MS }),
    https: new HttpsAgent({ keepAlive: true, keepAliveMsecs: KEEP_ALIVE_MS }),
  };

  const httpFetch = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body ?? undefined;
    const plainBody = body === undefined || typeof body === "string" || body instanceof Uint8Array;
    if (input instanceof Request || !plainBody) return fetch(input, init);
    const url = input instanceof URL ? input : new URL(input);
    if (url.protocol !== "http:" && url.protocol !== "https:") return fetch(input, init);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(abortReason(signal));

    return new Promise<Response>((resolve, reject) => {
      const secure = url.protocol === "https:";
      const send = secure ? httpsRequest : httpRequest;
      const request = send(url, {
        method: init.method ?? "GET",
        headers: headersOf(init.headers),
        agent: secure ? agents.https : agents.http,
      });
      let settled = false;
      const onAbort = () => request.destroy(abortReason(signal as AbortSignal) as Error);
      signal?.addEventListener("abort", onAbort, { once: true });
      const release = () => signal?.removeEventListener("abort", onAbort);
      request.once("error", (error) => {
        release();
        if (settled) return;
        settled = true;
        reject(signal?.aborted ? abortReason(signal) : new TypeError("fetch failed", { cause: error }));
      });
      request.once("response", (response) => {
        settled = true;
        const status = response.statusCode ?? 0;
        const headers = responseHeaders(response.rawHeaders);
        response.once("close", release);
        if (NULL_BODY_STATUSES.has(status) || init.method === "HEAD") {
          response.resume();
          resolve(new Response(null, { status, statusText: response.statusMessage ?? "", headers }));
          return;
        }
        const source = decoded(response);
        if (source !== response) response.once("error", (error) => source.destroy(error));
        const stream = responseBody(source, () => request.destroy(), signal);
        resolve(new Response(stream, { status, statusText: response.statusMessage ?? "", headers }));
      });
      request.end(body);
    });
  };
  return httpFetch as typeof fetch;
}
