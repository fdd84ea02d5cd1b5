// CPU per streamed token of the chat model client (shared/llm/openai-compatible.ts: LangChain's
// ChatOpenAI → openai SDK → fetch), against a bare fetch + SSE parse of the same stub in the same
// process. The stub (scripts/load/stub-model.ts) runs as its own process, so this process's CPU
// time is the client's alone. Streams run `concurrency` at a time, as under the chat bench's load.
//
// Usage: npx tsx bench/chat/client-cpu.ts [--streams 400] [--tokens 100] [--concurrency 100]
import { writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { PerformanceObserver } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { CoalescingSink, SseWriter } from "#shared/http/sse.ts";
import { createOfflineFallbackChatModel } from "#shared/llm/offline-fallback.ts";
import { createOpenAICompatibleChatModel } from "#shared/llm/openai-compatible.ts";
import { withResilience } from "#shared/llm/resilient.ts";
import { meteredModel, UsageMeter } from "#shared/usage/meter.ts";
import { startStub } from "../../scripts/load/children.ts";
import { STUB_MODEL } from "../../scripts/load/stub-protocol.ts";
import { type Figure, figure } from "../figures.ts";
import { round } from "../stats.ts";

const RESULTS = new URL("../results-chat-client.json", import.meta.url);

function options(): { streams: number; tokens: number; concurrency: number } {
  const { values } = parseArgs({
    options: { streams: { type: "string" }, tokens: { type: "string" }, concurrency: { type: "string" } },
    strict: true,
  });
  const int = (raw: string | undefined, fallback: number, max: number, name: string) => {
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`--${name} must be 1..${max}`);
    return value;
  };
  return {
    streams: int(values.streams, 400, 10_000, "streams"),
    tokens: int(values.tokens, 100, 2_000, "tokens"),
    concurrency: int(values.concurrency, 100, 1_000, "concurrency"),
  };
}

type StreamOnce = (key: string) => Promise<number>;

/** The floor: fetch, split SSE lines, JSON.parse each delta — what any client must do. */
function bareFetchStream(baseUrl: string): StreamOnce {
  return async (key) => {
    const response = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer x" },
      body: JSON.stringify({
        model: STUB_MODEL,
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: `Explain [load:${key}]` }],
      }),
    });
    if (!response.body) throw new Error("no body");
    const decoder = new TextDecoder();
    let buffered = "";
    let tokens = 0;
    for await (const part of response.body) {
      buffered += decoder.decode(part, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
        const chunk = JSON.parse(line.slice(6)) as { choices?: Array<{ delta?: { content?: unknown } }> };
        if (typeof chunk.choices?.[0]?.delta?.content === "string") tokens += 1;
      }
    }
    return tokens;
  };
}

function engineClientStream(baseUrl: string): StreamOnce {
  const model = createOpenAICompatibleChatModel({
    baseUrl: `${baseUrl}/v1`,
    model: STUB_MODEL,
    timeoutMs: 30_000,
    maxRetries: 0,
  });
  return async (key) => {
    let tokens = 0;
    for await (const chunk of model.stream({ messages: [{ role: "user", content: `Explain [load:${key}]` }] })) {
      if (chunk.text !== "") tokens += 1;
    }
    return tokens;
  };
}

/**
 * The client as the chat route drives it: behind the circuit breaker and the usage meter, each token
 * framed by the SSE writer into a sink that takes the bytes and drops them (the HTTP response is
 * not part of this measure).
 */
function engineChainStream(baseUrl: string): StreamOnce {
  const resilient = withResilience(
    createOpenAICompatibleChatModel({
      baseUrl: `${baseUrl}/v1`,
      model: STUB_MODEL,
      timeoutMs: 30_000,
      maxRetries: 0,
    }),
    createOfflineFallbackChatModel(),
    { failureThreshold: 5, openMs: 30_000 },
  );
  return async (key) => {
    // One request: its own meter, as the usage gate opens for each.
    const model = meteredModel(resilient, new UsageMeter());
    let tokens = 0;
    const sink = new CoalescingSink({ write: async () => undefined, aborted: false, onAbort: () => undefined });
    const writer = new SseWriter(sink, "session");
    for await (const chunk of model.stream({ messages: [{ role: "user", content: `Explain [load:${key}]` }] })) {
      if (chunk.text === "") continue;
      tokens += 1;
      await writer.token(chunk.text);
    }
    await writer.done();
    await sink.flush();
    return tokens;
  };
}

interface Run {
  tokens: number;
  cpuUs: number;
  wallMs: number;
  gcMs: number;
}

async function run(stream: StreamOnce, label: string, streams: number, concurrency: number): Promise<Run> {
  let next = 0;
  let tokens = 0;
  const gcBefore = gcMs;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, streams) }, async () => {
      while (next < streams) {
        next += 1;
        const streamed = await stream(`${label}-${next}`);
        tokens += streamed;
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  return {
    tokens,
    cpuUs: cpu.user + cpu.system,
    wallMs: performance.now() - started,
    gcMs: gcMs - gcBefore,
  };
}

/** GC pause time so far, summed from V8's "gc" performance entries. */
let gcMs = 0;

async function main(): Promise<void> {
  const { streams, tokens, concurrency } = options();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  observer.observe({ entryTypes: ["gc"] });
  // Tokens leave the stub one per timer tick, so most network reads carry one token, as with a real model.
  const stub = await startStub({
    firstTokenMinMs: 5,
    firstTokenMaxMs: 10,
    tokensMin: tokens,
    tokensMax: tokens,
    tokenDelayMs: 1,
  });
  try {
    const baseUrl = stub.ready.baseUrl;
    const bare = bareFetchStream(baseUrl);
    const client = engineClientStream(baseUrl);
    const chain = engineChainStream(baseUrl);
    // Warm-up: JIT, connections.
    await run(bare, "warm-bare", concurrency, concurrency);
    await run(client, "warm-client", concurrency, concurrency);
    await run(chain, "warm-chain", concurrency, concurrency);
    const results: Record<"bare" | "client" | "chain", Run[]> = { bare: [], client: [], chain: [] };
    for (let round_ = 0; round_ < 3; round_ += 1) {
      results.bare.push(await run(bare, `bare-${round_}`, streams, concurrency));
      results.client.push(await run(client, `client-${round_}`, streams, concurrency));
      results.chain.push(await run(chain, `chain-${round_}`, streams, concurrency));
    }
    const best = (runs: Run[]) => runs.reduce((a, b) => (b.cpuUs / b.tokens < a.cpuUs / a.tokens ? b : a));
    const perToken = (r: Run) => round(r.cpuUs / r.tokens, 2);
    const bareBest = best(results.bare);
    const clientBest = best(results.client);
    const chainBest = best(results.chain);
    const load = round(loadavg()[0] ?? 0, 2);
    const figures: Figure[] = [
      figure({
        id: "chat.client.cpu_us_per_token",
        label: `chat model client CPU per streamed token, ${concurrency} concurrent streams`,
        unit: "µs",
        value: perToken(clientBest),
        better: "lower",
        baseline: { label: "bare fetch + SSE parse of the same stub", value: perToken(bareBest) },
        note: `best of 3 × ${streams} streams × ${tokens} tokens, load average ${load}`,
      }),
      figure({
        id: "chat.client.chain_cpu_us_per_token",
        label: `chat path CPU per token without HTTP (client, breaker, meter, SSE framing), ${concurrency} streams`,
        unit: "µs",
        value: perToken(chainBest),
        better: "lower",
        baseline: { label: "bare fetch + SSE parse of the same stub", value: perToken(bareBest) },
        note: `best of 3 × ${streams} streams × ${tokens} tokens, load average ${load}`,
      }),
      figure({
        id: "chat.client.gc_ms_per_1k_tokens",
        label: "chat model client GC pause per 1000 tokens",
        unit: "ms",
        value: round((clientBest.gcMs / clientBest.tokens) * 1000, 2),
        better: "lower",
        baseline: {
          label: "bare fetch + SSE parse of the same stub",
          value: round((bareBest.gcMs / bareBest.tokens) * 1000, 2),
        },
      }),
    ];
    const report = {
      benchmark: "chat-client",
      generated_at: new Date().toISOString(),
      config: { streams, tokens, concurrency, machine: { node: process.version, cpus: cpus().length } },
      load_average_1m: load,
      figures,
      runs: results,
    };
    await writeFile(RESULTS, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify({ figures, runs: results }, null, 2)}\n`);
  } finally {
    observer.disconnect();
    await stub.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `[bench:chat-client] failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`,
    );
    process.exit(1);
  },
);
