// Chat overhead bench (issue #7 item 5): the engine's share of time to first token on the
// notebook's chat path (POST /ai/sessions/{id}/chat/stream) at 1, 10 and 100 concurrent streams.
//
// Overhead per stream = client TTFT − the stub model's own first-token delay (arrival of the
// completion request → its first token leaving), both measured per request and matched by the
// `[load:…]` key, exactly as `npm run load` does (scripts/load/report.ts). The engine runs as its
// own process (scripts/load/engine-process.ts) with rate limits and quotas on (high enough never
// to refuse), so every check on the path before the model call is exercised. The baseline, in
// the same run and against the same stub, is bench/chat/proxy-floor.ts: a bare Node http server
// that relays the stub's tokens as SSE with no engine work — the floor of Node + loopback + SSE.
// Beside latency, each level reports the server's main-thread CPU per stream (from
// /proc/<pid>/task/<pid>/schedstat): every request of the engine is served on that one thread, so
// CPU per stream × streams per second says how close a level runs to saturating it.
// Last, bench/chat/client-floor.ts runs the required model client alone (ChatOpenAI through
// createOpenAICompatibleChatModel, in its own process) at 100 concurrent streams against the same
// stub: its CPU per stream and per token is the part of the engine's that no implementation using
// that client can remove, and with the CPU of the stub and the load generator it gives the cores
// the 100-stream rate needs, beside the cores this machine has.
// Then a second engine whose every store operation takes 5 ms (a round trip to MongoDB, which the
// embedded store does not have) serves one stream at a time: its overhead minus the first engine's
// at one stream, divided by 5 ms, is how many store round trips a turn waits for, one after
// another, before the model is called.
//
// Every level of every server is measured in steady state: after the same warm-up, and after a
// few uncounted seconds at that level (SETTLE_SECONDS) in the same drive, which never pauses
// between them: a window opened on a drained server would begin with all its streams' requests
// at the same instant, and at 100 streams that burst's queue (~5 % of a window's streams) would be
// the p95. The burst is measured on its own last: 100 streams started at the same instant on
// each idle server.
//
// Usage: npm run bench:chat [-- --seconds 10]   (seconds per concurrency level and server)
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { baseEnv, parseReady, REPO_ROOT, startEngine, startStub } from "../scripts/load/children.ts";
import { REALISTIC_STUB } from "../scripts/load/options.ts";
import {
  type ChildHandle,
  type ProcessSample,
  sampleProcess,
  sampleThreads,
  spawnReadyChild,
  threadDeltas,
} from "../scripts/load/processes.ts";
import { timeToFirstToken } from "../scripts/load/report.ts";
import { type StubTiming, TIMINGS_PATH } from "../scripts/load/stub-protocol.ts";
import type { StreamSample } from "../scripts/load/users.ts";
import {
  createBenchUsers,
  driveBurst,
  driveChatStreams,
  failedStreams,
  LIMITS_NEVER_REFUSING,
  SETTLE_SECONDS,
  STREAM_ROUTE,
  warmUp,
} from "./chat/streams.ts";
import { type Figure, figure } from "./figures.ts";
import { round } from "./stats.ts";

const RESULTS = new URL("./results-chat.json", import.meta.url);
const CONCURRENCY = [1, 10, 100] as const;
const TARGET_P95_MS = 50;
/** Every store operation of the store-latency engine: a MongoDB round trip in one region, rounded up. */
const STORE_LATENCY_MS = 5;

type Server = "engine" | "floor" | "required";

interface Level {
  server: Server;
  concurrency: number;
  loadAverage1m: number;
  streams: StreamSample[];
  /** The server's main thread over the level: seconds on a CPU and seconds waiting for one. */
  mainThread: { onCpuS: number; runQueueWaitS: number } | undefined;
  /** CPU seconds of the whole server process (every thread) over the level. */
  processCpuS: number | undefined;
  /**
   * The server's CPU seconds over the level by thread: its main thread, its busiest other thread
   * (the engine's model client thread) and all the others together (V8's GC and compiler helpers,
   * libuv's pool).
   */
  threads: { main: number; busiestOther: number; rest: number } | undefined;
  /** CPU seconds the load generator (this process) and the stub model used over the level. */
  otherCpuS: { load_generator: number; stub_model: number | undefined };
}

/** The main-thread schedule of `pid` between two samples (undefined without schedstats). */
function mainThreadDelta(before: ProcessSample | undefined, after: ProcessSample | undefined): Level["mainThread"] {
  if (!before?.mainThread || !after?.mainThread) return undefined;
  return {
    onCpuS: after.mainThread.onCpuS - before.mainThread.onCpuS,
    runQueueWaitS: after.mainThread.runQueueWaitS - before.mainThread.runQueueWaitS,
  };
}

function threadSplit(
  pid: number,
  before: Map<number, number> | undefined,
  after: Map<number, number> | undefined,
): Level["threads"] {
  if (!before || !after) return undefined;
  const deltas = threadDeltas(before, after);
  const main = deltas.get(pid) ?? 0;
  deltas.delete(pid);
  const others = [...deltas.values()].sort((a, b) => b - a);
  const busiestOther = others[0] ?? 0;
  const rest = others.slice(1).reduce((sum, seconds) => sum + seconds, 0);
  return { main: round(main, 3), busiestOther: round(busiestOther, 3), rest: round(rest, 3) };
}

/** What a measured window's CPU figures are computed from, read as it opens and as it closes. */
interface WindowCounters {
  loadAverage1m: number;
  server: ProcessSample | undefined;
  threads: Map<number, number> | undefined;
  stub: ProcessSample | undefined;
  /** This process's CPU: the load generator's. */
  loadGenerator: NodeJS.CpuUsage;
}

function readCounters(serverPid: number, stubPid: number): WindowCounters {
  return {
    loadAverage1m: round(loadavg()[0] ?? 0, 2),
    server: sampleProcess(serverPid),
    threads: sampleThreads(serverPid),
    stub: sampleProcess(stubPid),
    loadGenerator: process.cpuUsage(),
  };
}

function log(message: string): void {
  process.stderr.write(`[bench:chat] ${message}\n`);
}

function options(): { seconds: number } {
  const { values } = parseArgs({ options: { seconds: { type: "string" } }, strict: true });
  const seconds = values.seconds === undefined ? 10 : Number(values.seconds);
  if (!Number.isInteger(seconds) || seconds < 2 || seconds > 60) throw new Error("--seconds must be 2..60");
  return { seconds };
}

interface ClientFloor {
  concurrency: number;
  streams: number;
  tokens: number;
  failed: number;
  /** CPU seconds of the client's process over the measured window. */
  cpu_s: number;
  wall_s: number;
  load_average_1m: number;
  /** CPU seconds the stub model used over the same window. */
  stub_model_cpu_s: number | undefined;
  /** Of cpu_s: the client's own (main) thread, and V8's helper threads with libuv's pool. */
  main_thread_cpu_s: number | undefined;
  other_threads_cpu_s: number | undefined;
}

/**
 * The required model client alone (bench/chat/client-floor.ts) at `concurrency` streams against the
 * same stub, in a process of its own so its CPU time is the client's and nothing else's.
 */
async function measureClientFloor(stubUrl: string, stubPid: number, concurrency: number, seconds: number) {
  const child = await spawnReadyChild({
    name: "model client floor",
    script: fileURLToPath(new URL("./chat/client-floor.ts", import.meta.url)),
    cwd: REPO_ROOT,
    env: {
      ...baseEnv(),
      CLIENT_FLOOR_STUB_URL: stubUrl,
      CLIENT_FLOOR_CONCURRENCY: String(concurrency),
      CLIENT_FLOOR_SECONDS: String(seconds),
    },
    readyTimeoutMs: 30_000,
    parseReady: (line) => parseReady(line, () => true),
  });
  try {
    const stubBefore = sampleProcess(stubPid);
    const code = await child.exited;
    const stubAfter = sampleProcess(stubPid);
    // The report line can still be in the pipe when the exit is seen.
    for (let wait = 0; wait < 20 && child.reports.length === 0; wait += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const report = child.reports.find((line) => "load_client_floor" in line)?.load_client_floor as
      | Omit<ClientFloor, "stub_model_cpu_s">
      | undefined;
    if (code !== 0 || !report)
      throw new Error(`model client floor exited with ${code} (${child.logs.samples.join(" | ")})`);
    return {
      ...report,
      stub_model_cpu_s: stubBefore && stubAfter ? round(stubAfter.cpuS - stubBefore.cpuS, 2) : undefined,
    } satisfies ClientFloor;
  } finally {
    await child.stop();
  }
}

/** A floor server (bench/chat/proxy-floor.ts): bare, or through the required model client. */
async function startFloor(stubUrl: string, through: "bare" | "required"): Promise<ChildHandle<{ url: string }>> {
  return spawnReadyChild({
    name: through === "bare" ? "floor proxy" : "required-client floor",
    script: fileURLToPath(new URL("./chat/proxy-floor.ts", import.meta.url)),
    cwd: REPO_ROOT,
    env: {
      ...baseEnv(),
      FLOOR_STUB_URL: stubUrl,
      ...(through === "required" ? { FLOOR_MODEL_CLIENT: "required" } : {}),
    },
    readyTimeoutMs: 30_000,
    parseReady: (line) =>
      parseReady(line, (record) => (typeof record.url === "string" ? { url: record.url } : undefined)),
  });
}

function overheadFigures(
  levels: Level[],
  timings: StubTiming[],
  seconds: number,
): { figures: Figure[]; detail: unknown[] } {
  const figures: Figure[] = [];
  const detail: unknown[] = [];
  for (const concurrency of CONCURRENCY) {
    const engine = levels.find((level) => level.server === "engine" && level.concurrency === concurrency);
    const floor = levels.find((level) => level.server === "floor" && level.concurrency === concurrency);
    const required = levels.find((level) => level.server === "required" && level.concurrency === concurrency);
    if (!engine || !floor || !required) continue;
    const { samples: _engineSamples, ...engineReport } = timeToFirstToken(engine.streams, timings);
    const { samples: _floorSamples, ...floorReport } = timeToFirstToken(floor.streams, timings);
    const { samples: _requiredSamples, ...requiredReport } = timeToFirstToken(required.streams, timings);
    const cpuPerStreamMs = (level: Level) =>
      level.mainThread && level.streams.length > 0
        ? round((level.mainThread.onCpuS * 1000) / level.streams.length, 2)
        : undefined;
    const engineCpu = cpuPerStreamMs(engine);
    const floorCpu = cpuPerStreamMs(floor);
    if (engineCpu !== undefined && floorCpu !== undefined) {
      figures.push(
        figure({
          id: `chat.main_thread_cpu_per_stream.c${concurrency}_ms`,
          label: `chat main-thread CPU per stream, ${concurrency} concurrent stream${concurrency > 1 ? "s" : ""}`,
          unit: "ms",
          value: engineCpu,
          better: "lower",
          baseline: { label: "bare Node SSE proxy of the stub", value: floorCpu },
          note: `${engine.streams.length} streams; main thread busy ${round((engine.mainThread?.onCpuS ?? 0) / seconds, 2)} s/s, waiting for a core ${round((engine.mainThread?.runQueueWaitS ?? 0) / seconds, 2)} s/s`,
        }),
      );
    }
    detail.push({
      concurrency,
      main_thread: { engine: engine.mainThread, floor: floor.mainThread, required: required.mainThread },
      process_cpu_s: { engine: engine.processCpuS, floor: floor.processCpuS, required: required.processCpuS },
      thread_cpu_s: { engine: engine.threads, floor: floor.threads, required: required.threads },
      other_cpu_s: { engine_run: engine.otherCpuS, floor_run: floor.otherCpuS, required_run: required.otherCpuS },
      load_average_1m: { engine: engine.loadAverage1m, floor: floor.loadAverage1m, required: required.loadAverage1m },
      engine: { streams: engine.streams.length, failed: failedStreams(engine.streams), ...engineReport },
      floor: { streams: floor.streams.length, failed: failedStreams(floor.streams), ...floorReport },
      required: { streams: required.streams.length, failed: failedStreams(required.streams), ...requiredReport },
    });
    for (const [name, p] of [
      ["p50", "p50"],
      ["p95", "p95"],
      ["p99", "p99"],
    ] as const) {
      figures.push(
        figure({
          id: `chat.overhead.c${concurrency}.${name}_ms`,
          label: `chat TTFT engine overhead ${name}, ${concurrency} concurrent stream${concurrency > 1 ? "s" : ""}`,
          unit: "ms",
          value: engineReport.engine_overhead_ms[p],
          better: "lower",
          baseline: { label: "bare Node SSE proxy of the stub", value: floorReport.engine_overhead_ms[p] },
          ...(concurrency === 100 && name === "p95" ? { target: { op: "<=" as const, value: TARGET_P95_MS } } : {}),
          note: `${engineReport.streams_timed} streams, load average ${engine.loadAverage1m}; required model client behind a bare Node server: ${requiredReport.engine_overhead_ms[p]} ms`,
        }),
      );
    }
    // What the same load costs any server that streams through the required model client: the
    // lower bound of the engine's overhead on this machine, beside the target.
    figures.push(
      figure({
        id: `chat.required_floor.overhead.c${concurrency}.p95_ms`,
        label: `chat TTFT overhead p95 of the required model client (ChatOpenAI) behind a bare Node server, ${concurrency} concurrent stream${concurrency > 1 ? "s" : ""}`,
        unit: "ms",
        value: requiredReport.engine_overhead_ms.p95,
        better: "lower",
        baseline: { label: "bare Node SSE proxy of the stub", value: floorReport.engine_overhead_ms.p95 },
        note: `${requiredReport.streams_timed} streams, p50 ${requiredReport.engine_overhead_ms.p50} ms, p99 ${requiredReport.engine_overhead_ms.p99} ms, load average ${required.loadAverage1m}; the engine: ${engineReport.engine_overhead_ms.p95} ms`,
      }),
    );
  }
  return { figures, detail };
}

/**
 * At 100 concurrent streams: the engine's whole-process CPU per stream and per token beside the
 * required model client alone, and the CPU the 100-stream rate needs (engine, stub model and load
 * generator together, and with the model client alone in the engine's place) beside the cores
 * this machine has. The rate is the bare proxy's: what 100 back-to-back users ask for when the
 * server in between adds almost nothing.
 */
function cpuFigures(levels: Level[], timings: StubTiming[], client: ClientFloor, seconds: number): Figure[] {
  const concurrency = client.concurrency;
  const engine = levels.find((level) => level.server === "engine" && level.concurrency === concurrency);
  const floor = levels.find((level) => level.server === "floor" && level.concurrency === concurrency);
  if (!engine || !floor || engine.processCpuS === undefined || floor.processCpuS === undefined) return [];
  if (engine.streams.length === 0 || floor.streams.length === 0 || client.streams === 0) return [];
  const tokensByKey = new Map(timings.map((timing) => [timing.key, timing.tokens]));
  const tokensOf = (level: Level) => level.streams.reduce((sum, stream) => sum + (tokensByKey.get(stream.key) ?? 0), 0);
  const perStreamMs = (cpuS: number, streams: number) => round((cpuS * 1000) / streams, 2);
  const perTokenUs = (cpuS: number, tokens: number) => (tokens > 0 ? round((cpuS * 1e6) / tokens, 1) : null);
  const engineMs = perStreamMs(engine.processCpuS, engine.streams.length);
  const floorMs = perStreamMs(floor.processCpuS, floor.streams.length);
  const clientMs = perStreamMs(client.cpu_s, client.streams);
  const mainThreadMs = engine.mainThread ? perStreamMs(engine.mainThread.onCpuS, engine.streams.length) : undefined;
  const stubMs =
    engine.otherCpuS.stub_model === undefined ? 0 : perStreamMs(engine.otherCpuS.stub_model, engine.streams.length);
  const generatorMs = perStreamMs(engine.otherCpuS.load_generator, engine.streams.length);
  const rate = floor.streams.length / seconds;
  const cores = cpus().length;
  const coresFor = (perStream: number) => round((rate * perStream) / 1000, 2);
  const label = `${concurrency} concurrent streams`;
  return [
    figure({
      id: `chat.process_cpu_per_stream.c${concurrency}_ms`,
      label: `chat CPU per stream, whole engine process (model client thread included), ${label}`,
      unit: "ms",
      value: engineMs,
      better: "lower",
      baseline: { label: "required model client alone (ChatOpenAI, own process)", value: clientMs },
      note: `bare Node SSE proxy ${floorMs} ms; engine main thread ${mainThreadMs ?? "n/a"} ms; client alone: ${client.streams} streams in ${client.wall_s} s, load ${client.load_average_1m}; engine: ${engine.streams.length} streams, load ${engine.loadAverage1m}`,
    }),
    figure({
      id: `chat.model_client.cpu_per_token.c${concurrency}_us`,
      label: `chat model client alone (ChatOpenAI via createOpenAICompatibleChatModel), CPU per streamed token, ${label}`,
      unit: "µs",
      value: perTokenUs(client.cpu_s, client.tokens),
      better: "lower",
      baseline: { label: "bare Node SSE proxy, whole process", value: perTokenUs(floor.processCpuS, tokensOf(floor)) },
      note: `engine whole process ${perTokenUs(engine.processCpuS, tokensOf(engine)) ?? "n/a"} µs per token; ${client.tokens} tokens, ${client.failed} failed streams`,
    }),
    figure({
      id: `chat.cpu_budget.c${concurrency}.engine_cores`,
      label: `cores needed at the ${concurrency}-stream rate (${round(rate, 0)} streams/s): engine + stub model + load generator`,
      unit: "cores",
      value: coresFor(engineMs + stubMs + generatorMs),
      better: "lower",
      baseline: { label: "cores of this machine", value: cores },
      note: `per stream: engine ${engineMs} ms (${coresFor(engineMs)} cores, of which the model client alone ${coresFor(clientMs)}), stub ${stubMs} ms, load generator ${generatorMs} ms; work beyond a free core waits in the run queue, and that wait is the p95`,
    }),
    figure({
      id: `chat.cpu_budget.c${concurrency}.required_cores`,
      label: `cores needed at the same rate with the required model client alone in the engine's place (lower bound)`,
      unit: "cores",
      value: coresFor(clientMs + stubMs + generatorMs),
      better: "lower",
      baseline: { label: "cores of this machine", value: cores },
      note: `leaves ${round((cores * 1000) / rate - clientMs - stubMs - generatorMs, 2)} ms of CPU per stream for everything else the engine does (HTTP, auth, limits, store, SSE), against ${round(engineMs - clientMs, 2)} ms measured`,
    }),
    ...threadFigures(engine, client, label),
  ];
}

/**
 * The engine's CPU per stream off its main thread, split as the model client alone splits its own:
 * the thread that runs the client (the engine's model thread; the client process's main thread)
 * and every other thread (V8's GC and optimising-compiler helpers, libuv's pool). The engine's
 * helpers serve two V8 isolates (main thread and model thread) and compile far more code.
 */
function threadFigures(engine: Level, client: ClientFloor, label: string): Figure[] {
  const { threads } = engine;
  if (!threads || client.main_thread_cpu_s === undefined || client.other_threads_cpu_s === undefined) return [];
  const perStream = (cpuS: number, streams: number) => round((cpuS * 1000) / streams, 2);
  const streams = engine.streams.length;
  return [
    figure({
      id: `chat.model_thread_cpu_per_stream.c${client.concurrency}_ms`,
      label: `chat CPU per stream of the engine's model client thread, ${label}`,
      unit: "ms",
      value: perStream(threads.busiestOther, streams),
      better: "lower",
      baseline: {
        label: "required model client alone, its own thread",
        value: perStream(client.main_thread_cpu_s, client.streams),
      },
    }),
    figure({
      id: `chat.helper_threads_cpu_per_stream.c${client.concurrency}_ms`,
      label: `chat CPU per stream of the engine's other threads (V8 GC and compiler helpers, libuv pool), ${label}`,
      unit: "ms",
      value: perStream(threads.rest, streams),
      better: "lower",
      baseline: {
        label: "required model client alone, its other threads",
        value: perStream(client.other_threads_cpu_s, client.streams),
      },
      note: `engine main thread ${perStream(threads.main, streams)} ms per stream`,
    }),
  ];
}

/**
 * One stream at a time through a second engine whose every store operation takes STORE_LATENCY_MS,
 * warmed up as the first one was.
 */
async function measureStoreLatency(stubUrl: string, secret: string, dataDir: string, seconds: number) {
  const engine = await startEngine({
    dataDir,
    secret,
    stubUrl,
    env: { ...LIMITS_NEVER_REFUSING, LOAD_STORE_LATENCY_MS: String(STORE_LATENCY_MS) },
  });
  try {
    const users = await createBenchUsers(engine.ready.url, secret, Math.max(...CONCURRENCY), "bench-chat-store");
    await warmUp(engine.ready.url, users, "store-latency");
    // One stream at a time: nothing to settle (no burst to leave behind).
    const [streams = []] = await driveChatStreams(
      engine.ready.url,
      users,
      1,
      { settleSeconds: 0, windowSeconds: seconds },
      "store-latency-c1",
    );
    return streams;
  } finally {
    await engine.stop();
  }
}

/** The store-latency engine's overhead at one stream beside the first engine's, and the round trips it implies. */
function storeLatencyFigure(levels: Level[], streams: StreamSample[], timings: StubTiming[]): Figure[] {
  const engine = levels.find((level) => level.server === "engine" && level.concurrency === 1);
  if (!engine) return [];
  const base = timeToFirstToken(engine.streams, timings).engine_overhead_ms.p50;
  const delayed = timeToFirstToken(streams, timings);
  const value = delayed.engine_overhead_ms.p50;
  if (value === undefined || value === null || base === undefined || base === null) return [];
  return [
    figure({
      id: "chat.overhead.c1_store_latency.p50_ms",
      label: `chat TTFT engine overhead p50, 1 stream, every store operation taking ${STORE_LATENCY_MS} ms (a MongoDB round trip)`,
      unit: "ms",
      value,
      better: "lower",
      baseline: { label: "the same engine with store operations in microseconds (embedded store)", value: base },
      note: `${delayed.streams_timed} streams, ${failedStreams(streams)} failed; (${value} − ${base}) / ${STORE_LATENCY_MS} ms ≈ ${round((value - base) / STORE_LATENCY_MS, 1)} store round trips waited for one after another before the model call (timers overshoot ${STORE_LATENCY_MS} ms slightly): the quota check with the rate limit, then the session with its history and the document search`,
    }),
  ];
}

/** Bursts per server; each is `BURST_STREAMS` streams started at the same instant on an idle server. */
const BURST_ROUNDS = 3;
const BURST_STREAMS = 100;
/** Before each burst: the server's last streams have ended and its loop is idle. */
const BURST_PAUSE_MS = 500;

/**
 * 100 streams arriving at the same instant on an idle server, beside the same burst on both floors:
 * not a steady state (the levels above), but what a class sending at once meets on one process.
 */
function burstFigures(bursts: Record<Server, StreamSample[]>, timings: StubTiming[]): Figure[] {
  const engine = timeToFirstToken(bursts.engine, timings).engine_overhead_ms;
  const floor = timeToFirstToken(bursts.floor, timings).engine_overhead_ms;
  const required = timeToFirstToken(bursts.required, timings).engine_overhead_ms;
  return (["p50", "p95"] as const).map((name) =>
    figure({
      id: `chat.overhead.burst${BURST_STREAMS}.${name}_ms`,
      label: `chat TTFT engine overhead ${name}, ${BURST_STREAMS} streams started at the same instant on an idle server`,
      unit: "ms",
      value: engine[name],
      better: "lower",
      baseline: { label: "bare Node SSE proxy of the stub, same bursts", value: floor[name] },
      note: `${BURST_ROUNDS} bursts per server, ${bursts.engine.length} streams, ${failedStreams(bursts.engine)} failed; engine max ${engine.max} ms; required model client behind a bare Node server ${required[name]} ms (max ${required.max})`,
    }),
  );
}

async function main(): Promise<void> {
  const { seconds } = options();
  const startedAt = new Date();
  const workDir = await mkdtemp(join(tmpdir(), "collabry-bench-chat-"));
  const children: Array<ChildHandle<unknown>> = [];
  try {
    const stub = await startStub(REALISTIC_STUB);
    children.push(stub);
    const secret = randomBytes(32).toString("base64url");
    const [engine, floor, required] = await Promise.all([
      startEngine({
        dataDir: join(workDir, "data"),
        secret,
        stubUrl: stub.ready.baseUrl,
        cpuProfileDir: process.env.BENCH_CHAT_CPU_PROF,
        env: {
          ...LIMITS_NEVER_REFUSING,
          // Lets the two placements of the model client be compared (LLM_CLIENT_THREAD=false npm run bench:chat).
          ...(process.env.LLM_CLIENT_THREAD ? { LLM_CLIENT_THREAD: process.env.LLM_CLIENT_THREAD } : {}),
        },
      }),
      startFloor(stub.ready.baseUrl, "bare"),
      startFloor(stub.ready.baseUrl, "required"),
    ]);
    children.push(engine, floor, required);
    log(
      `engine ${engine.ready.url}, floor ${floor.ready.url}, required-client floor ${required.ready.url}, stub ${stub.ready.baseUrl}`,
    );
    const users = await createBenchUsers(engine.ready.url, secret, Math.max(...CONCURRENCY), "bench-chat");
    // Each server also serves the top concurrency for a while first (see warmUp).
    for (const [server, url] of [
      ["engine", engine.ready.url],
      ["floor", floor.ready.url],
      ["required", required.ready.url],
    ] as const) {
      await warmUp(url, users, server);
    }
    const levels: Level[] = [];
    for (const concurrency of CONCURRENCY) {
      // The floors first, then the engine, at each level: all see the machine in the same state.
      for (const [server, url, pid] of [
        ["floor", floor.ready.url, floor.pid],
        ["required", required.ready.url, required.pid],
        ["engine", engine.ready.url, engine.pid],
      ] as const) {
        // One drive without a pause: the settle seconds, then the measured window, whose CPU
        // counters are read as it opens and closes.
        const counters: { open?: WindowCounters; close?: WindowCounters } = {};
        const [streams = []] = await driveChatStreams(
          url,
          users,
          concurrency,
          {
            settleSeconds: SETTLE_SECONDS,
            windowSeconds: seconds,
            atBoundary: (index) => {
              counters[index === 0 ? "open" : "close"] = readCounters(pid, stub.pid);
            },
          },
          `${server}-c${concurrency}`,
        );
        const { open, close } = counters;
        if (!open || !close) throw new Error(`the ${server} window at ${concurrency} streams was not sampled`);
        const loadAverage1m = open.loadAverage1m;
        const threads = threadSplit(pid, open.threads, close.threads);
        const mainThread = mainThreadDelta(open.server, close.server);
        const processCpuS = open.server && close.server ? round(close.server.cpuS - open.server.cpuS, 2) : undefined;
        const client = {
          user: close.loadGenerator.user - open.loadGenerator.user,
          system: close.loadGenerator.system - open.loadGenerator.system,
        };
        const otherCpuS = {
          load_generator: round((client.user + client.system) / 1e6, 2),
          stub_model: open.stub && close.stub ? round(close.stub.cpuS - open.stub.cpuS, 2) : undefined,
        };
        levels.push({ server, concurrency, loadAverage1m, streams, mainThread, processCpuS, threads, otherCpuS });
        log(`${server} c${concurrency}: ${streams.length} streams (load average ${loadAverage1m})`);
      }
    }
    const bursts: Record<Server, StreamSample[]> = { engine: [], floor: [], required: [] };
    for (let index = 0; index < BURST_ROUNDS; index += 1) {
      for (const [server, url] of [
        ["floor", floor.ready.url],
        ["required", required.ready.url],
        ["engine", engine.ready.url],
      ] as const) {
        await sleep(BURST_PAUSE_MS);
        bursts[server].push(...(await driveBurst(url, users, BURST_STREAMS, `${server}-burst${index}`)));
      }
    }
    log(`bursts of ${BURST_STREAMS} streams: ${BURST_ROUNDS} per server`);
    const client = await measureClientFloor(stub.ready.baseUrl, stub.pid, Math.max(...CONCURRENCY), seconds);
    log(
      `model client alone c${client.concurrency}: ${client.streams} streams, ${client.cpu_s} s CPU (load average ${client.load_average_1m})`,
    );
    const storeLatencyStreams = await measureStoreLatency(
      stub.ready.baseUrl,
      secret,
      join(workDir, "data-store-latency"),
      seconds,
    );
    log(`engine with ${STORE_LATENCY_MS} ms store operations c1: ${storeLatencyStreams.length} streams`);
    const timings = (await (await fetch(`${stub.ready.baseUrl}${TIMINGS_PATH}`)).json()) as StubTiming[];
    const { figures, detail } = overheadFigures(levels, timings, seconds);
    figures.push(...cpuFigures(levels, timings, client, seconds));
    figures.push(...burstFigures(bursts, timings));
    figures.push(...storeLatencyFigure(levels, storeLatencyStreams, timings));
    const report = {
      benchmark: "chat",
      generated_at: startedAt.toISOString(),
      config: {
        seconds_per_level: seconds,
        concurrency: CONCURRENCY,
        route: STREAM_ROUTE,
        stub_model: REALISTIC_STUB,
        engine: "local runtime, embedded store in a temp DATA_DIR, rate limits and quotas on",
        store_latency_engine_ms: STORE_LATENCY_MS,
        machine: { node: process.version, cpus: cpus().length, load_average_1m_at_end: round(loadavg()[0] ?? 0, 2) },
      },
      figures,
      levels: detail,
      model_client_alone: client,
      engine_logs: engine.logs,
    };
    await writeFile(RESULTS, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify({ figures, levels: detail }, null, 2)}\n`);
    log(`written to ${fileURLToPath(RESULTS)}`);
  } finally {
    for (const child of children.reverse()) await child.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `[bench:chat] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
