// A small OpenAI-compatible server on loopback for tests: chat completions (streaming and not),
// models and embeddings, with configurable tokens, delays and failures. No model, no network.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface StubLlmBehaviour {
  /** Tokens streamed (or joined for a non-streaming answer), in order. */
  tokens: string[];
  /** Pause between two streamed tokens. */
  tokenDelayMs: number;
  /** Pause after the response headers and before the first token (or the whole non-streaming answer). */
  firstTokenDelayMs: number;
  /** HTTP status returned, with an OpenAI-style error body, instead of an answer. */
  failWith: number | undefined;
  /** How many requests fail with `failWith` before the stub answers normally; undefined = all of them. */
  failCount: number | undefined;
  /** Model id reported by /v1/models and in completions. */
  model: string;
  /**
   * Whole answers for the next chat completions, one per request, in order; once used up the stub
   * answers with `tokens` again (lets a test script "invalid, then valid" within one operation).
   */
  responses: string[];
  /** Streaming only: destroy the connection after this many tokens (a model host dying mid-answer). */
  dropAfterTokens: number | undefined;
}

export interface StubLlmRequest {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string | undefined>;
  /** Streamed tokens written to this request's response so far. */
  tokensWritten: number;
  /** True when the client closed the connection before the stub finished its answer. */
  closedByClient: boolean;
  /** When the stub wrote the last byte of its answer (Date.now()), if it did. */
  finishedAt: number | undefined;
  /** When the request arrived (performance.now() of this process: the tests run the engine in it too). */
  receivedAt: number;
}

export interface StubLlm {
  /** Base URL of the OpenAI-compatible API, ending with /v1. */
  baseUrl: string;
  requests: StubLlmRequest[];
  setBehaviour(behaviour: Partial<StubLlmBehaviour>): void;
  close(): Promise<void>;
}

export const STUB_EMBEDDING_DIMENSIONS = 384;

const DEFAULT_TOKENS = ["Photosynthesis ", "turns ", "light ", "into ", "chemical ", "energy."];

/** Starts the stub on 127.0.0.1 with an ephemeral port. */
export async function startStubLlm(options?: {
  tokens?: string[];
  tokenDelayMs?: number;
  firstTokenDelayMs?: number;
  failWith?: number;
  failCount?: number;
  model?: string;
  dropAfterTokens?: number;
}): Promise<StubLlm> {
  const behaviour: StubLlmBehaviour = {
    tokens: options?.tokens ?? DEFAULT_TOKENS,
    tokenDelayMs: options?.tokenDelayMs ?? 0,
    firstTokenDelayMs: options?.firstTokenDelayMs ?? 0,
    failWith: options?.failWith,
    failCount: options?.failCount,
    model: options?.model ?? "stub-model",
    responses: [],
    dropAfterTokens: options?.dropAfterTokens,
  };
  const requests: StubLlmRequest[] = [];
  const sockets = new Set<Socket>();
  let completionCounter = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = performance.now();
    const path = new URL(req.url ?? "/", "http://stub").pathname;
    const raw = await readBody(req);
    const record: StubLlmRequest = {
      method: req.method ?? "GET",
      path,
      body: parseJson(raw),
      headers: flattenHeaders(req),
      tokensWritten: 0,
      closedByClient: false,
      finishedAt: undefined,
      receivedAt,
    };
    requests.push(record);
    res.on("close", () => {
      if (!res.writableFinished) record.closedByClient = true;
    });

    if (behaviour.failWith !== undefined && (behaviour.failCount === undefined || behaviour.failCount > 0)) {
      if (behaviour.failCount !== undefined) behaviour.failCount -= 1;
      sendJson(res, behaviour.failWith, {
        error: { message: `Stub failure ${behaviour.failWith}`, type: "server_error", param: null, code: null },
      });
      return;
    }

    if (req.method === "GET" && path === "/v1/models") {
      sendJson(res, 200, {
        object: "list",
        data: [{ id: behaviour.model, object: "model", created: 1_700_000_000, owned_by: "stub" }],
      });
      return;
    }
    if (req.method === "POST" && path === "/v1/chat/completions") {
      completionCounter += 1;
      await answerChat(record, res, `chatcmpl-stub-${completionCounter}`);
      return;
    }
    if (req.method === "POST" && path === "/v1/embeddings") {
      answerEmbeddings(record.body, res);
      return;
    }
    sendJson(res, 404, { error: { message: "Not found", type: "invalid_request_error", param: null, code: null } });
  }

  async function answerChat(record: StubLlmRequest, res: ServerResponse, id: string): Promise<void> {
    const body = isRecord(record.body) ? record.body : {};
    const scripted = behaviour.responses.shift();
    const tokens = scripted !== undefined ? [scripted] : [...behaviour.tokens];
    const created = Math.floor(Date.now() / 1000);
    const usage = {
      prompt_tokens: countPromptTokens(body.messages),
      completion_tokens: tokens.length,
      total_tokens: countPromptTokens(body.messages) + tokens.length,
    };

    if (body.stream !== true) {
      await sleep(behaviour.firstTokenDelayMs + Math.max(0, tokens.length - 1) * behaviour.tokenDelayMs);
      if (res.destroyed) return;
      sendJson(res, 200, {
        id,
        object: "chat.completion",
        created,
        model: behaviour.model,
        choices: [
          { index: 0, message: { role: "assistant", content: tokens.join("") }, finish_reason: "stop", logprobs: null },
        ],
        usage,
      });
      record.finishedAt = Date.now();
      return;
    }

    // Headers go out at once, as Ollama and OpenAI do; the first-token delay comes after them.
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.flushHeaders();
    const chunk = (choices: unknown[], extra?: Record<string, unknown>) =>
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: behaviour.model, choices, ...extra })}\n\n`;

    for (const [index, token] of tokens.entries()) {
      await sleep(index === 0 ? behaviour.firstTokenDelayMs : behaviour.tokenDelayMs);
      if (res.destroyed) return;
      const delta = index === 0 ? { role: "assistant", content: token } : { content: token };
      const frame = chunk([{ index: 0, delta, finish_reason: null, logprobs: null }]);
      if (record.tokensWritten + 1 === behaviour.dropAfterTokens) {
        // The frame is flushed first, so the client really received this many tokens before the drop.
        await new Promise<void>((resolve) => res.write(frame, () => resolve()));
        record.tokensWritten += 1;
        res.socket?.destroy();
        return;
      }
      res.write(frame);
      record.tokensWritten += 1;
    }
    if (res.destroyed) return;
    res.write(chunk([{ index: 0, delta: {}, finish_reason: "stop", logprobs: null }]));
    const streamOptions = isRecord(body.stream_options) ? body.stream_options : {};
    if (streamOptions.include_usage === true) res.write(chunk([], { usage }));
    res.end("data: [DONE]\n\n");
    record.finishedAt = Date.now();
  }

  function answerEmbeddings(body: unknown, res: ServerResponse): void {
    const request = isRecord(body) ? body : {};
    const inputs = Array.isArray(request.input) ? request.input : [request.input];
    const base64 = request.encoding_format === "base64";
    const data = inputs.map((input, index) => {
      const vector = embed(typeof input === "string" ? input : JSON.stringify(input));
      const embedding = base64 ? Buffer.from(vector.buffer).toString("base64") : Array.from(vector);
      return { object: "embedding", index, embedding };
    });
    const promptTokens = inputs.reduce<number>(
      (sum, input) => sum + Math.ceil((typeof input === "string" ? input : JSON.stringify(input)).length / 4),
      0,
    );
    sendJson(res, 200, {
      object: "list",
      data,
      model: typeof request.model === "string" ? request.model : behaviour.model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    setBehaviour(update) {
      Object.assign(behaviour, update);
      // Copied: the stub consumes its queue and must not empty the caller's array.
      if (update.responses) behaviour.responses = [...update.responses];
    },
    async close() {
      // Open keep-alive and mid-stream sockets would keep close() waiting forever.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** Deterministic unit vector (float32, 384 dims) derived from a hash of the text, as the stub returns it. */
export function stubEmbedding(text: string): Float32Array {
  return embed(text);
}

function embed(text: string): Float32Array {
  const vector = new Float32Array(STUB_EMBEDDING_DIMENSIONS);
  let filled = 0;
  for (let block = 0; filled < vector.length; block += 1) {
    const digest = createHash("sha256").update(`${block}:${text}`).digest();
    for (let offset = 0; offset + 2 <= digest.length && filled < vector.length; offset += 2) {
      vector[filled] = digest.readUInt16LE(offset) / 32_767.5 - 1;
      filled += 1;
    }
  }
  const norm = Math.hypot(...vector) || 1;
  for (let index = 0; index < vector.length; index += 1) vector[index] = (vector[index] ?? 0) / norm;
  return vector;
}

function countPromptTokens(messages: unknown): number {
  if (!Array.isArray(messages)) return 0;
  return messages.reduce<number>((sum, message) => {
    const content = isRecord(message) && typeof message.content === "string" ? message.content : "";
    return sum + Math.ceil(content.length / 4);
  }, 0);
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  if (res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(payload));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJson(raw: string): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function flattenHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
