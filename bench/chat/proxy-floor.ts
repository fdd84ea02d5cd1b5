// The floors of the chat benchmark: a bare Node http server that does no engine work at all. For
// `POST /ai/sessions/{id}/chat/stream` it forwards the message to the stub model and relays each
// token as a session SSE frame. Two ways, chosen by FLOOR_MODEL_CLIENT:
// - unset: its own request to the stub (streaming, over a kept-alive connection) and a line split
//   of the answer; whatever TTFT overhead this shows is what Node, loopback and SSE cost here.
// - `required`: through the model client the project's standards mandate (LangChain's ChatOpenAI
//   over the openai SDK, via createOpenAICompatibleChatModel, the engine's own wrapper), called in
//   the request handler. It is the least any implementation with that client can do per stream, so
//   its overhead is the floor the engine's is held against. (The client on a worker thread, as the
//   engine runs it, gave this floor a higher p95 at 100 streams: 71 vs 47.5 ms in one run each.)
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ChatModel } from "#shared/llm/chat-model.ts";
import { createOpenAICompatibleChatModel } from "#shared/llm/openai-compatible.ts";
import { STUB_MODEL } from "../../scripts/load/stub-protocol.ts";

const STREAM_PATH = /^\/ai\/sessions\/[^/]+\/chat\/stream$/;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("error", reject);
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
  });
}

function tokenOf(line: string): string | undefined {
  if (!line.startsWith("data: ") || line === "data: [DONE]") return undefined;
  try {
    const chunk = JSON.parse(line.slice(6)) as { choices?: Array<{ delta?: { content?: unknown } }> };
    const content = chunk.choices?.[0]?.delta?.content;
    return typeof content === "string" && content !== "" ? content : undefined;
  } catch {
    return undefined;
  }
}

/** Streams the answer to `message` through the required model client, one SSE frame per chunk. */
async function relayThroughClient(client: ChatModel, message: string, res: ServerResponse): Promise<void> {
  try {
    for await (const chunk of client.stream({ messages: [{ role: "user", content: message }] })) {
      if (chunk.text !== "") res.write(`data: ${chunk.text.replace(/\n/g, "\\n")}\n\n`);
    }
    res.end("event: done\ndata: \n\n");
  } catch {
    res.end("event: error\ndata: {}\n\n");
  }
}

async function main(): Promise<void> {
  const stubUrl = new URL(process.env.FLOOR_STUB_URL ?? "");
  const agent = new Agent({ keepAlive: true, maxSockets: 1_000 });
  const client: ChatModel | undefined =
    process.env.FLOOR_MODEL_CLIENT === "required"
      ? createOpenAICompatibleChatModel({
          baseUrl: `${stubUrl.origin}/v1`,
          model: STUB_MODEL,
          timeoutMs: 30_000,
          maxRetries: 0,
        })
      : undefined;
  const server = createServer((req, res) => {
    if (req.method !== "POST" || !STREAM_PATH.test(new URL(req.url ?? "/", "http://floor").pathname)) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"detail":"Not Found"}');
      return;
    }
    void readBody(req).then(async (text) => {
      const { message } = JSON.parse(text || "{}") as { message?: string };
      res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
      if (client) {
        await relayThroughClient(client, message ?? "", res);
        return;
      }
      const upstream = request(
        {
          host: stubUrl.hostname,
          port: stubUrl.port,
          path: "/v1/chat/completions",
          method: "POST",
          agent,
          headers: { "content-type": "application/json" },
        },
        (answer) => {
          let buffered = "";
          answer.setEncoding("utf8");
          answer.on("data", (chunk: string) => {
            buffered += chunk;
            const lines = buffered.split("\n");
            buffered = lines.pop() ?? "";
            for (const line of lines) {
              const token = tokenOf(line);
              if (token !== undefined) res.write(`data: ${token.replace(/\n/g, "\\n")}\n\n`);
            }
          });
          answer.on("end", () => res.end("event: done\ndata: \n\n"));
        },
      );
      upstream.on("error", () => res.end("event: error\ndata: {}\n\n"));
      upstream.end(
        JSON.stringify({
          model: "floor",
          stream: true,
          messages: [{ role: "user", content: message ?? "" }],
        }),
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ ready: true, url: `http://127.0.0.1:${port}` })}\n`);
  const stop = () => process.exit(0);
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`floor proxy failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
