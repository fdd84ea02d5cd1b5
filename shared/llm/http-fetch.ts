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

/** A web stream fed by `source`, which is paused while the reader is HIGH_WATER_CHUNKS behind. */
function webBody(source: Readable, onCancel: () => void, signal: AbortSignal | null | undefined) {
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        source.on("data", (chunk: Buffer) => {
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 1) <= 0) source.pause();
        });
        source.once("end", () => controller.close());
        source.once("error", (error) => controller.error(signal?.aborted ? abortReason(signal) : error));
      },
      pull() {
        source.resume();
      },
      cancel() {
        onCancel();
      },
    },
    { highWaterMark: HIGH_WATER_CHUNKS },
  );
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
        const stream = webBody(source, () => request.destroy(), signal);
        resolve(new Response(stream, { status, statusText: response.statusMessage ?? "", headers }));
      });
      request.end(body);
    });
  };
  return httpFetch as typeof fetch;
}
