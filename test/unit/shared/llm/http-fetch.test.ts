import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpFetch } from "#shared/llm/http-fetch.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let base: string;
const handlers = new Map<string, Handler>();
const httpFetch = createHttpFetch();

beforeAll(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => {
      const handler = handlers.get(new URL(req.url ?? "/", "http://x").pathname);
      if (!handler) res.writeHead(404).end();
      else handler(req, res, Buffer.concat(parts).toString("utf8"));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("createHttpFetch", () => {
  it("sends method, headers and body, and returns status, headers and body", async () => {
    handlers.set("/echo", (req, res, body) => {
      res.writeHead(201, "Made", {
        "content-type": "application/json",
        "x-seen-length": req.headers["content-length"] ?? "",
      });
      res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization, body }));
    });
    const response = await httpFetch(`${base}/echo`, {
      method: "POST",
      headers: new Headers({ Authorization: "Bearer k", "Content-Type": "application/json" }),
      body: '{"a":1}',
    });
    expect(response.status).toBe(201);
    expect(response.statusText).toBe("Made");
    expect(response.ok).toBe(true);
    expect(response.headers.get("content-type")).toBe("application/json");
    // A string body is sent with its length, not chunked.
    expect(response.headers.get("x-seen-length")).toBe("7");
    expect(await response.json()).toEqual({ method: "POST", auth: "Bearer k", body: '{"a":1}' });
  });

  it("accepts plain-object headers and error statuses", async () => {
    handlers.set("/missing", (req, res) => {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ key: req.headers["x-key"] }));
    });
    const response = await httpFetch(`${base}/missing`, { headers: { "X-Key": "v" } });
    expect(response.status).toBe(404);
    expect(response.ok).toBe(false);
    expect(await response.json()).toEqual({ key: "v" });
  });

  it("hands out streamed chunks as they arrive", async () => {
    let sendSecond: () => void = () => undefined;
    handlers.set("/stream", (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: one\n\n");
      sendSecond = () => res.end("data: two\n\n");
    });
    const response = await httpFetch(`${base}/stream`);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    expect(decoder.decode(first.value)).toBe("data: one\n\n");
    sendSecond();
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value);
    }
    expect(rest).toBe("data: two\n\n");
  });

  it("hands out streamed chunks as they arrive to a body read with for await, and ends with the answer", async () => {
    let sendSecond: () => void = () => undefined;
    handlers.set("/stream-iterated", (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: one\n\n");
      sendSecond = () => res.end("data: two\n\n");
    });
    const response = await httpFetch(`${base}/stream-iterated`);
    const decoder = new TextDecoder();
    const received: string[] = [];
    for await (const chunk of response.body as ReadableStream<Uint8Array>) {
      received.push(decoder.decode(chunk));
      if (received.length === 1) sendSecond();
    }
    expect(received).toEqual(["data: one\n\n", "data: two\n\n"]);
  });

  it("pauses the socket while a reader with for await is behind, and gives every byte in order", async () => {
    const parts = Array.from(
      { length: 400 },
      (_, index) => `data: ${String(index).padStart(4, "0")}${"x".repeat(10_000)}\n\n`,
    );
    handlers.set("/many", (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const part of parts) res.write(part);
      res.end();
    });
    const response = await httpFetch(`${base}/many`);
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of response.body as ReadableStream<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      // A slow reader: the socket has to wait for it.
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(text).toBe(parts.join(""));
  });

  it("closes the connection when a reader with for await stops early, and errors it with AbortError when aborted", async () => {
    let closedEarly = false;
    handlers.set("/endless", (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const timer = setInterval(() => res.write("data: more\n\n"), 5);
      res.on("close", () => {
        clearInterval(timer);
        closedEarly = !res.writableFinished;
      });
    });
    const response = await httpFetch(`${base}/endless`);
    for await (const _chunk of response.body as ReadableStream<Uint8Array>) break;
    await expect.poll(() => closedEarly).toBe(true);

    const late = new AbortController();
    const aborted = await httpFetch(`${base}/endless`, { signal: late.signal });
    const failure = await (async () => {
      for await (const _chunk of aborted.body as ReadableStream<Uint8Array>) late.abort();
    })().catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: "AbortError" });
  });

  it("decodes a gzip-encoded body", async () => {
    handlers.set("/gzip", (_req, res) => {
      res.writeHead(200, { "content-encoding": "gzip", "content-type": "text/plain" }).end(gzipSync("hello gzip"));
    });
    expect(await (await httpFetch(`${base}/gzip`)).text()).toBe("hello gzip");
  });

  it("answers a 204 without a body", async () => {
    handlers.set("/empty", (_req, res) => res.writeHead(204).end());
    const response = await httpFetch(`${base}/empty`, { method: "DELETE" });
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });

  it("rejects with an AbortError when aborted before the answer, and errors the body when aborted during it", async () => {
    handlers.set("/slow", () => undefined);
    const early = new AbortController();
    const pending = httpFetch(`${base}/slow`, { signal: early.signal });
    early.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });

    const aborted = new AbortController();
    aborted.abort();
    await expect(httpFetch(`${base}/slow`, { signal: aborted.signal })).rejects.toMatchObject({ name: "AbortError" });

    handlers.set("/half", (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: part\n\n");
    });
    const late = new AbortController();
    const response = await httpFetch(`${base}/half`, { signal: late.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    late.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: "AbortError" });
  });

  it("fails like fetch when nothing listens", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(httpFetch(`http://127.0.0.1:${port}/`)).rejects.toThrow(TypeError);
  });

  it("reuses one connection for consecutive requests", async () => {
    const ports = new Set<number>();
    handlers.set("/port", (req, res) => {
      ports.add(req.socket.remotePort ?? 0);
      res.end("ok");
    });
    for (let index = 0; index < 3; index += 1) await (await httpFetch(`${base}/port`)).text();
    expect(ports.size).toBe(1);
  });
});
