// A/B helper for the engine's CPU per chat stream: the engine alone (no floors, no client-floor
// process) at 100 concurrent session streams against the realistic stub, after the same warm-up as
// bench:chat, measured over several rounds: consecutive windows of one drive that never pauses,
// after the same settle seconds as bench:chat. Each round prints one JSON line: the engine's CPU per
// stream on its main thread, its model client thread and its other threads, the main thread's
// CPU divided by the model thread's, and the time-to-first-token overhead with its two parts
// (request → the stub receiving the model call; the stub's first token → the client). The model
// thread does the same work whatever changes on the main thread, so that ratio cancels this
// machine's speed swings (15–40 % within an evening), which absolute milliseconds and the p95 do
// not: alternate runs of the two variants and compare ratios.
//
// Usage: npm run bench:chat-rounds [-- --rounds 2 --seconds 10 --env NAME=VALUE … --cpu-prof DIR]
//   --env sets a variable of the engine process (a flag, NODE_OPTIONS, LLM_CLIENT_THREAD=false, …);
//   --cpu-prof writes V8 CPU profiles of the engine's threads to DIR (warm-up included; profiling
//   itself inflates the figures, so compare profiled runs only with each other).
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startEngine, startStub } from "../../scripts/load/children.ts";
import { REALISTIC_STUB } from "../../scripts/load/options.ts";
import {
  type ChildHandle,
  type ProcessSample,
  sampleProcess,
  sampleThreads,
  threadDeltas,
} from "../../scripts/load/processes.ts";
import { timeToFirstToken } from "../../scripts/load/report.ts";
import { type StubTiming, TIMINGS_PATH } from "../../scripts/load/stub-protocol.ts";
import { round } from "../stats.ts";
import {
  createBenchUsers,
  driveChatStreams,
  failedStreams,
  LIMITS_NEVER_REFUSING,
  SETTLE_SECONDS,
  warmUp,
} from "./streams.ts";

const CONCURRENCY = 100;

interface RoundsOptions {
  rounds: number;
  seconds: number;
  env: Record<string, string>;
  cpuProfileDir: string | undefined;
}

function options(): RoundsOptions {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "2" },
      seconds: { type: "string", default: "10" },
      env: { type: "string", multiple: true, default: [] },
      "cpu-prof": { type: "string" },
    },
    strict: true,
  });
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error("--rounds must be 1..20");
  if (!Number.isInteger(seconds) || seconds < 2 || seconds > 60) throw new Error("--seconds must be 2..60");
  const env: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`--env takes NAME=VALUE, got "${pair}"`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { rounds, seconds, env, cpuProfileDir: values["cpu-prof"] };
}

async function main(): Promise<void> {
  const { rounds, seconds, env, cpuProfileDir } = options();
  const workDir = await mkdtemp(join(tmpdir(), "collabry-chat-rounds-"));
  const children: Array<ChildHandle<unknown>> = [];
  try {
    const stub = await startStub(REALISTIC_STUB);
    children.push(stub);
    const secret = randomBytes(32).toString("base64url");
    const engine = await startEngine({
      dataDir: join(workDir, "data"),
      secret,
      ...(cpuProfileDir ? { cpuProfileDir } : {}),
      stubUrl: stub.ready.baseUrl,
      env: { ...LIMITS_NEVER_REFUSING, ...env },
    });
    children.push(engine);
    const url = engine.ready.url;
    const users = await createBenchUsers(url, secret, CONCURRENCY, "rounds");
    await warmUp(url, users, "rounds");
    // One drive without a pause: the rounds are its consecutive windows, after SETTLE_SECONDS.
    const counters: Array<{ process: ProcessSample | undefined; threads: Map<number, number> | undefined }> = [];
    const windows = await driveChatStreams(
      url,
      users,
      CONCURRENCY,
      {
        settleSeconds: SETTLE_SECONDS,
        windowSeconds: seconds,
        windows: rounds,
        atBoundary: (index) => {
          counters[index] = { process: sampleProcess(engine.pid), threads: sampleThreads(engine.pid) };
        },
      },
      "rounds",
    );
    const timings = (await (await fetch(`${stub.ready.baseUrl}${TIMINGS_PATH}`)).json()) as StubTiming[];
    windows.forEach((streams, index) => {
      const before = counters[index];
      const after = counters[index + 1];
      if (!before?.process || !after?.process || !before.threads || !after.threads) {
        throw new Error("no /proc samples of the engine");
      }
      const deltas = threadDeltas(before.threads, after.threads);
      const main = deltas.get(engine.pid) ?? 0;
      deltas.delete(engine.pid);
      const others = [...deltas.values()].sort((a, b) => b - a);
      const modelThread = others[0] ?? 0;
      const helpers = others.slice(1).reduce((sum, value) => sum + value, 0);
      const report = timeToFirstToken(streams, timings);
      const overhead = report.engine_overhead_ms;
      const perStream = (cpuS: number) => round((cpuS * 1000) / streams.length, 2);
      process.stdout.write(
        `${JSON.stringify({
          round: index,
          streams: streams.length,
          failed: failedStreams(streams),
          main_ms: perStream(main),
          model_thread_ms: perStream(modelThread),
          other_threads_ms: perStream(helpers),
          process_ms: perStream(after.process.cpuS - before.process.cpuS),
          main_per_model_thread: modelThread > 0 ? round(main / modelThread, 3) : null,
          ttft_overhead_p50_ms: overhead.p50,
          ttft_overhead_p95_ms: overhead.p95,
          ttft_overhead_p99_ms: overhead.p99,
          before_model_p50_ms: report.before_model_ms.p50,
          before_model_p95_ms: report.before_model_ms.p95,
          relay_p50_ms: report.relay_ms.p50,
          relay_p95_ms: report.relay_ms.p95,
        })}\n`,
      );
    });
  } finally {
    for (const child of children.reverse()) await child.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`[bench:chat-rounds] failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
