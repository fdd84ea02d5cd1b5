// The local runtime's event-stream channel (infra/local/sse-channel.ts): streams written to Node's
// response directly, behind a real @hono/node-server on loopback.
import { request as httpRequest, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { fetchWithSseChannels } from "#infra/local/sse-channel.ts";
import { SSE_CHANNEL_HEADER, type SseWriter, sseResponse } from "#shared/http/sse.ts";

let server: ServerType | undefined;

afterEach(async () => {
  const running = server;
  server = undefined;
  if (running) {
    await new Promise<void>((resolve) => {
      running.close(() => resolve());
      if ("closeAllConnections" in running) running.closeAllConnections();
    });
  }
});

async function listen(app: Hono): Promise<string> {
  const started = serve({ fetch: fetchWithSseChannels(app), port: 0, hostname: "127.0.0.1" });
  server = started;
  await new Promise<void>((resolve) => started.once("listening", () => resolve()));
  return `http://127.0.0.1:${(started.address() as AddressInfo).port}`;
}

/** A route whose stream is written by `produce`. */
function streamingApp(produce: (writer: SseWriter) => Promise<void>): Hono {
  const app = new Hono();
  // Headers set after the handler, as the engine's request-id and CORS middleware do.
  app.use("*", async (c, next) => {
    await next();
    c.res.headers.set("X-Request-Id", "req-123");
  });
  app.get("/stream", (c) =>
    sseResponse(c, "session", produce, async (error, writer) => {
      await writer.error(String(error));
    }),
  );
  return app;
}

function waitFor(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error("condition not met in time"));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe("NodeSseChannel through fetchWithSseChannels", () => {
  it("sends the final headers, then every frame in order, including those written before the response was final", async () => {
    // Prepare
    const url = await listen(
      streamingApp(async (writer) => {
        await writer.token("first");
        await new Promise((resolve) => setTimeout(resolve, 5));
        await writer.token("second");
        await writer.event("done", "");
      }),
    );

    // Act
    const response = await fetch(`${url}/stream`);
    const text = await response.text();

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(response.headers.get("x-request-id")).toBe("req-123");
    expect(response.headers.has(SSE_CHANNEL_HEADER)).toBe(false);
    expect(response.headers.has("x-hono-already-sent")).toBe(false);
    expect(text).toBe("data: first\n\ndata: second\n\nevent: done\ndata: \n\n");
  });

  it("tells the producer when the client goes away, and takes no more of its frames", async () => {
    // Prepare
    let written = 0;
    let sawAbort = false;
    const url = await listen(
      streamingApp(async (writer) => {
        while (!writer.aborted) {
          await writer.token(`frame ${written}`);
          written += 1;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        sawAbort = true;
      }),
    );
    const client = new AbortController();

    // Act
    const response = await fetch(`${url}/stream`, { signal: client.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    client.abort();
    await waitFor(() => sawAbort);
    const afterAbort = written;
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Assess
    expect(sawAbort).toBe(true);
    expect(written).toBe(afterAbort);
  });

  it("holds the producer while a client reads slower than it writes, and delivers everything once it reads", async () => {
    // Prepare: 64 frames of 64 KiB (4 MiB), far beyond what the socket buffers hold.
    const frame = "x".repeat(64 * 1024);
    let written = 0;
    let finished = false;
    const url = await listen(
      streamingApp(async (writer) => {
        for (let index = 0; index < 64; index += 1) {
          await writer.token(frame);
          written += 1;
        }
        finished = true;
      }),
    );

    // Act: the client takes nothing for 300 ms, then reads to the end.
    const received = await new Promise<{ paused: number; bytes: number }>((resolve, reject) => {
      httpRequest(`${url}/stream`, (response: IncomingMessage) => {
        response.pause();
        setTimeout(() => {
          const paused = written;
          let bytes = 0;
          response.on("data", (chunk: Buffer) => {
            bytes += chunk.length;
          });
          response.on("end", () => resolve({ paused, bytes }));
          response.resume();
        }, 300);
      })
        .on("error", reject)
        .end();
    });

    // Assess
    expect(received.paused).toBeLessThan(64);
    expect(finished).toBe(true);
    expect(received.bytes).toBe(64 * ("data: ".length + frame.length + 2));
  });

  it("stops the producer when a middleware answers with another response after the stream started", async () => {
    // Prepare
    let sawAbort = false;
    const app = new Hono();
    app.use("*", async (c, next) => {
      await next();
      c.res = c.json({ detail: "replaced" }, 503);
    });
    app.get("/stream", (c) =>
      sseResponse(
        c,
        "session",
        async (writer) => {
          await writer.token("never seen");
          await waitFor(() => writer.aborted);
          sawAbort = true;
        },
        async () => undefined,
      ),
    );
    const url = await listen(app);

    // Act
    const response = await fetch(`${url}/stream`);
    const body = await response.json();
    await waitFor(() => sawAbort);

    // Assess
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.has(SSE_CHANNEL_HEADER)).toBe(false);
    expect(body).toEqual({ detail: "replaced" });
    expect(sawAbort).toBe(true);
  });
});
