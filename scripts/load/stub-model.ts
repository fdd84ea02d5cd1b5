// The stub model of the load run, as its own process: an OpenAI-compatible chat endpoint on
// 127.0.0.1 with a realistic first-token delay and token pace. It runs apart from the load
// generator so that its timers are not delayed by the generator's event loop, and it records
// when each completion arrived and when its first token left, so the harness can subtract the
// model's own delay from the client's time to first token.
//
// Why not test/support/stub-llm.ts: it answers every request with the same tokens and keeps no
// per-request first-token time; here each answer carries the request's key (so a stored assistant
// message can be matched to the stream that produced it) and the delays vary per request.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { StubShape } from "./options.ts";
import { between, hashString, preciseNow, seededRandom } from "./stats.ts";
import { KEY_PATTERN, STUB_MODEL, type StubTiming, stubTokens, TIMINGS_PATH } from "./stub-protocol.ts";

function shapeFromEnv(): StubShape {
  const raw = process.env.LOAD_STUB_SHAPE;
  if (raw === undefined) throw new Error("LOAD_STUB_SHAPE is not set");
  return JSON.parse(raw) as StubShape;
}

function lastUserMessage(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message: unknown = messages[index];
    if (typeof message !== "object" || message === null) continue;
    const { role, content } = message as { role?: unknown; content?: unknown };
    if (role === "user" && typeof content === "string") return content;
  }
  return "";
}

function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("error", reject);
    req.on("end", () => {
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(parts).toString("utf8") || "{}");
        resolve(typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {});
      } catch {
        resolve({});
      }
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(payload));
}

async function answer(shape: StubShape, timings: StubTiming[], req: IncomingMessage, res: ServerResponse) {
  const receivedAt = preciseNow();
  const body = await readBody(req);
  const key = KEY_PATTERN.exec(lastUserMessage(body))?.[1] ?? null;
  // Drawn from the key, so a retried request gets the same answer and the same delays.
  const random = seededRandom(hashString(`delay:${key ?? receivedAt}`));
  const firstDelay = between(random, shape.firstTokenMinMs, shape.firstTokenMaxMs);
  const tokens = stubTokens(key, between(random, shape.tokensMin, shape.tokensMax));
  const stream = body.stream === true;
  const timing: StubTiming = {
    key,
    stream,
    receivedAt,
    firstTokenAt: null,
    finishedAt: null,
    plannedFirstTokenMs: firstDelay,
    tokens: tokens.length,
  };
  timings.push(timing);
  const id = `chatcmpl-load-${timings.length}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: 100, completion_tokens: tokens.length, total_tokens: 100 + tokens.length };

  if (!stream) {
    await sleep(firstDelay + (tokens.length - 1) * shape.tokenDelayMs);
    timing.firstTokenAt = preciseNow();
    sendJson(res, 200, {
      id,
      object: "chat.completion",
      created,
      model: STUB_MODEL,
      choices: [{ index: 0, message: { role: "assistant", content: tokens.join("") }, finish_reason: "stop" }],
      usage,
    });
    timing.finishedAt = preciseNow();
    return;
  }

  // Headers at once and the delay after them, as OpenAI and Ollama do.
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  res.flushHeaders();
  const frame = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: STUB_MODEL, choices, ...extra })}\n\n`;
  for (const [index, token] of tokens.entries()) {
    await sleep(index === 0 ? firstDelay : shape.tokenDelayMs);
    if (res.destroyed) return;
    const delta = index === 0 ? { role: "assistant", content: token } : { content: token };
    res.write(frame([{ index: 0, delta, finish_reason: null }]));
    if (index === 0) timing.firstTokenAt = preciseNow();
  }
  res.write(frame([{ index: 0, delta: {}, finish_reason: "stop" }]));
  const options = body.stream_options;
  if (typeof options === "object" && options !== null && (options as { include_usage?: unknown }).include_usage) {
    res.write(frame([], { usage }));
  }
  res.end("data: [DONE]\n\n");
  timing.finishedAt = preciseNow();
}

async function main(): Promise<void> {
  const shape = shapeFromEnv();
  const timings: StubTiming[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://stub").pathname;
    if (req.method === "POST" && path === "/v1/chat/completions") {
      answer(shape, timings, req, res).catch(() => res.destroy());
    } else if (req.method === "GET" && path === "/v1/models") {
      sendJson(res, 200, { object: "list", data: [{ id: STUB_MODEL, object: "model", created: 0, owned_by: "load" }] });
    } else if (req.method === "GET" && path === TIMINGS_PATH) {
      sendJson(res, 200, timings);
    } else {
      sendJson(res, 404, { error: { message: "Not found", type: "invalid_request_error" } });
    }
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);
  // The harness owns this process: its stdin closing (harness gone, even killed) ends the stub too.
  const stop = () => process.exit(0);
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`stub model failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
