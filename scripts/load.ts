// `npm run load`: drives a temporary local engine on loopback with virtual users (default 100 for
// 45 s) mixing session listing, messages, session and generic chat streams against a stub model
// with realistic token delays, and small uploads with status polls; then checks that every
// acknowledged write is still there and prints one JSON report (also scripts/load/results.json,
// git-ignored). Progress goes to stderr so stdout stays one parseable JSON object.
//
// Everything runs on 127.0.0.1 in processes this script starts: the stub model and the engine are
// child processes (the engine must not share the load generator's event loop), the engine's
// DATA_DIR is a temp directory removed at the end, and every phase is bounded in time.
//
// Load generator: Node's built-in fetch (undici) with one sequential loop per virtual user, not
// autocannon: autocannon times whole responses only (no time to the first SSE frame), reports one
// latency histogram for all requests (no per-route percentiles), and its per-connection request
// chains cannot carry per-user state such as created sessions and acknowledged ids.
//
// Engine overhead on time to first token = client TTFT − the stub's own first-token delay, both
// measured per request: the stub records when each completion arrived and when its first token left
// (wall clock with sub-ms precision, comparable across processes of one machine), keyed by the
// `[load:…]` marker in the user's message. The overhead splits into `before_model` (client request →
// completion reaches the stub: auth, history read, user-message write, retrieval, prompt) and
// `relay` (first token leaves the stub → first `data:` frame reaches the client).
//
// Exit code 0 when the run completed, whatever the targets say (the report says it); 1 when the
// harness itself broke (bad flag, a child that would not start); 130 when interrupted.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { signDevToken } from "#infra/local/dev-secret.ts";
import { figure } from "../bench/figures.ts";
import { startEngine, startStub } from "./load/children.ts";
import { LoadRecorder } from "./load/client.ts";
import { checkData, type DataCheckReport } from "./load/data-check.ts";
import { type LoadOptions, parseLoadOptions, USAGE, UsageError } from "./load/options.ts";
import { type ChildHandle, type LogSummary, machinePressure, monitorProcess } from "./load/processes.ts";
import { engineLag, mainThreadReport, routeReport, streamReport, timeline, timeToFirstToken } from "./load/report.ts";
import { percentiles, preciseNow, round } from "./load/stats.ts";
import { type StubTiming, TIMINGS_PATH } from "./load/stub-protocol.ts";
import { type RunState, runUser, setUpUser, type UserLedger } from "./load/users.ts";

const RESULTS = new URL("./load/results.json", import.meta.url);

// The histogram measures whole timer intervals, so the resolution itself is subtracted to get lag.
const LOOP_DELAY_RESOLUTION_MS = 10;
const lagMs = (nanoseconds: number) => round(Math.max(0, nanoseconds / 1e6 - LOOP_DELAY_RESOLUTION_MS));

const TARGETS = { five_xx: 0, lost_writes: 0, ttft_overhead_p95_ms: 50 };

function log(message: string): void {
  process.stderr.write(`[load] ${message}\n`);
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return { status: response.status, body: (await response.json()) as unknown };
}

async function run(options: LoadOptions, interrupted: () => boolean): Promise<Record<string, unknown>> {
  const startedAt = new Date();
  const loadAverageAtStart = loadavg()[0] ?? 0;
  const workDir = await mkdtemp(join(tmpdir(), "collabry-load-"));
  let stub: ChildHandle<{ baseUrl: string }> | undefined;
  let engine: ChildHandle<{ url: string }> | undefined;
  try {
    stub = await startStub(options.stub);
    log(`stub model on ${stub.ready.baseUrl} (pid ${stub.pid})`);
    const secret = randomBytes(32).toString("base64url");
    const bootStarted = performance.now();
    engine = await startEngine({
      dataDir: join(workDir, "data"),
      secret,
      stubUrl: stub.ready.baseUrl,
      cpuProfileDir: options.cpuProfileDir,
    });
    const baseUrl = engine.ready.url;
    log(`engine on ${baseUrl} (pid ${engine.pid}, ready in ${Math.round(performance.now() - bootStarted)} ms)`);
    const healthBefore = await getJson(`${baseUrl}/health`);
    if (healthBefore.status !== 200) throw new Error(`engine /health answered ${healthBefore.status}`);

    const ledgers: UserLedger[] = await Promise.all(
      Array.from({ length: options.users }, async (_, index) => {
        const userId = `load-user-${index}`;
        return {
          userId,
          token: await signDevToken(secret, { userId, ttlSeconds: 3_600 }),
          sessionIds: [],
          messages: [],
          streams: [],
          uploads: [],
        };
      }),
    );

    const recorder = new LoadRecorder();
    const engineMonitor = monitorProcess(engine.pid, 500);
    const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
    loopDelay.enable();
    const harnessCpuBefore = process.cpuUsage();
    const pressureBefore = machinePressure();
    const runStarted = performance.now();
    const state: RunState = {
      recorder,
      streams: [],
      deadline: Date.now() + options.durationS * 1000,
      interrupted,
    };
    log(`${options.users} users for ${options.durationS} s (think 0–${options.thinkMs} ms, ramp ${options.rampS} s)…`);
    let usersWithoutSetup = 0;
    const progress = setInterval(() => {
      let count = 0;
      for (const samples of recorder.routes.values()) count += samples.latenciesMs.length;
      log(`${Math.round((performance.now() - runStarted) / 1000)} s: ${count} requests`);
    }, 10_000);
    await Promise.all(
      ledgers.map(async (ledger, index) => {
        // Users arrive spread over the ramp, as a class logging in does, not in one instant.
        const offset = options.users > 1 ? (options.rampS * 1000 * index) / options.users : 0;
        await new Promise((resolve) => setTimeout(resolve, offset));
        if (!(await setUpUser(baseUrl, ledger, state))) {
          usersWithoutSetup += 1;
          return;
        }
        await runUser(baseUrl, ledger, state, { seed: options.seed, thinkMs: options.thinkMs, index });
      }),
    );
    clearInterval(progress);
    const elapsedS = (performance.now() - runStarted) / 1000;
    const loadLag = engineLag(engine.reports, performance.timeOrigin + runStarted, preciseNow());
    const harnessCpu = process.cpuUsage(harnessCpuBefore);
    const pressureAfter = machinePressure();
    loopDelay.disable();
    const engineDuringRun = engineMonitor.stop();
    log(`load done after ${round(elapsedS)} s; reading stub timings and checking data…`);

    const timings = (await getJson(`${stub.ready.baseUrl}${TIMINGS_PATH}`)).body as StubTiming[];
    const drainMonitor = monitorProcess(engine.pid, 500);
    const dataCheck: DataCheckReport = await checkData(baseUrl, ledgers, interrupted() ? 0 : options.drainS);
    const engineAfterCheck = drainMonitor.stop();
    const healthAfter = await getJson(`${baseUrl}/health`);

    const { routes, totals } = routeReport(recorder);
    const { samples: overheadSamples, ...ttftReport } = timeToFirstToken(state.streams, timings);
    const session = streamReport(state.streams, "session");
    const generic = streamReport(state.streams, "generic");
    const incompleteStreams =
      session.without_done + session.with_error_event + generic.without_done + generic.with_error_event;
    const errors = totals["4xx"] + totals["5xx"] + totals.timeouts + totals.network_errors + incompleteStreams;
    const mb = (value: number | undefined) => (value === undefined ? null : round(value));
    const engineCpuS =
      engineDuringRun.start && engineDuringRun.end ? engineDuringRun.end.cpuS - engineDuringRun.start.cpuS : undefined;

    const overheadP95 = ttftReport.engine_overhead_ms.p95;
    const targets = {
      zero_5xx: { target: TARGETS.five_xx, actual: totals["5xx"], pass: totals["5xx"] === TARGETS.five_xx },
      zero_lost_writes: {
        target: TARGETS.lost_writes,
        actual: dataCheck.lost_writes,
        // Writes the check could not verify are not proof of safety.
        unverified: dataCheck.check_request_failures,
        pass: dataCheck.lost_writes === TARGETS.lost_writes && dataCheck.check_request_failures === 0,
      },
      ttft_overhead_p95_ms: {
        target: TARGETS.ttft_overhead_p95_ms,
        actual: overheadP95,
        pass: overheadP95 !== null && overheadP95 <= TARGETS.ttft_overhead_p95_ms,
      },
    };
    const engineLogs: LogSummary = engine.logs;
    return {
      benchmark: "load",
      generated_at: startedAt.toISOString(),
      interrupted: interrupted(),
      config: {
        users: options.users,
        duration_s: options.durationS,
        think_ms_max: options.thinkMs,
        ramp_s: options.rampS,
        drain_wait_max_s: options.drainS,
        seed: options.seed,
        stub_model: {
          first_token_ms: [options.stub.firstTokenMinMs, options.stub.firstTokenMaxMs],
          tokens: [options.stub.tokensMin, options.stub.tokensMax],
          token_delay_ms: options.stub.tokenDelayMs,
        },
        engine: {
          store: "embedded (SQLite in a temp DATA_DIR)",
          queue: "in-process",
          rate_limits: "off",
          quotas: "off",
        },
        machine: {
          node: process.version,
          cpus: cpus().length,
          load_average_1m_at_start: round(loadAverageAtStart),
          // Share of the load phase in which some task on the machine waited for a CPU / for I/O
          // (Linux PSI): high CPU pressure means other processes (or ours) starve the engine.
          pressure_during_load_pct:
            pressureBefore && pressureAfter
              ? {
                  cpu: round(((pressureAfter.cpuUs - pressureBefore.cpuUs) / 1e6 / elapsedS) * 100),
                  io: round(((pressureAfter.ioUs - pressureBefore.ioUs) / 1e6 / elapsedS) * 100),
                }
              : null,
        },
      },
      totals: {
        requests: totals.requests,
        duration_s: round(elapsedS),
        throughput_rps: round(totals.requests / elapsedS),
        errors,
        by_class: { "2xx": totals["2xx"], "3xx": totals["3xx"], "4xx": totals["4xx"], "5xx": totals["5xx"] },
        five_xx: totals["5xx"],
        timeouts: totals.timeouts,
        network_errors: totals.network_errors,
        incomplete_streams: incompleteStreams,
        users_without_setup: usersWithoutSetup,
      },
      routes,
      streams: { session, generic },
      time_to_first_token: ttftReport,
      timeline: timeline(recorder, runStarted, overheadSamples, loadLag),
      engine: {
        rss_mb: {
          start: mb(engineDuringRun.start?.rssMb),
          peak: mb(Math.max(engineDuringRun.peakRssMb ?? 0, engineAfterCheck.peakRssMb ?? 0) || undefined),
          end_of_load: mb(engineDuringRun.end?.rssMb),
          after_data_check: mb(engineAfterCheck.end?.rssMb),
        },
        cpu_s_during_load: engineCpuS === undefined ? null : round(engineCpuS),
        cpu_cores_busy_during_load: engineCpuS === undefined ? null : round(engineCpuS / elapsedS),
        main_thread_during_load: mainThreadReport(engineDuringRun.start, engineDuringRun.end, elapsedS),
        // Per second of the load phase: the longest the engine's one event loop was blocked.
        event_loop_lag_max_per_second_ms: percentiles(loadLag.map((sample) => sample.max_ms)),
        health_before: (healthBefore.body as { status?: unknown }).status ?? null,
        health_after: (healthAfter.body as { status?: unknown }).status ?? null,
        logs: engineLogs,
      },
      harness: {
        cpu_s: round((harnessCpu.user + harnessCpu.system) / 1e6),
        // The generator's own lag inflates client-side times (relay_ms); reported so it can be judged.
        event_loop_lag_ms: {
          p50: lagMs(loopDelay.percentile(50)),
          p99: lagMs(loopDelay.percentile(99)),
          max: lagMs(loopDelay.max),
        },
        stub_completions: timings.length,
      },
      data_check: dataCheck,
      targets,
      // The same figures in the benchmarks' shape (bench/figures.ts), so `npm run bench` can list them.
      figures: [
        figure({
          id: "load.ttft_overhead.p95_ms",
          label: `load: engine overhead on time to first token p95, ${options.users} users`,
          unit: "ms",
          value: overheadP95,
          better: "lower",
          target: { op: "<=", value: TARGETS.ttft_overhead_p95_ms },
          note: `client TTFT minus the stub's own first-token delay; load average ${round(loadAverageAtStart)} at start`,
        }),
        figure({
          id: "load.ttft_overhead.p50_ms",
          label: `load: engine overhead on time to first token p50, ${options.users} users`,
          unit: "ms",
          value: ttftReport.engine_overhead_ms.p50,
          better: "lower",
        }),
        figure({
          id: "load.throughput_rps",
          label: `load: requests per second, ${options.users} users`,
          unit: "req/s",
          value: round(totals.requests / elapsedS),
          better: "higher",
        }),
        figure({
          id: "load.five_xx",
          label: "load: 5xx responses",
          unit: "",
          value: totals["5xx"],
          better: "lower",
          target: { op: "<=", value: TARGETS.five_xx },
        }),
        figure({
          id: "load.lost_writes",
          label: "load: acknowledged writes missing afterwards",
          unit: "",
          value: dataCheck.lost_writes,
          better: "lower",
          target: { op: "<=", value: TARGETS.lost_writes },
        }),
      ],
      passed: targets.zero_5xx.pass && targets.zero_lost_writes.pass && targets.ttft_overhead_p95_ms.pass,
    };
  } finally {
    await engine?.stop();
    await stub?.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  let options: LoadOptions | "help";
  try {
    options = parseLoadOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    return 1;
  }
  if (options === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let interrupted = false;
  process.on("SIGINT", () => {
    // First Ctrl-C: stop the users, skip the drain wait, clean up and report; second: leave now
    // (the children exit on their own when this process's pipes close).
    if (interrupted) process.exit(130);
    interrupted = true;
    log("interrupted: stopping users (Ctrl-C again to quit at once)");
  });
  const report = await run(options, () => interrupted);
  const text = `${JSON.stringify(report, null, 2)}\n`;
  await writeFile(RESULTS, text);
  process.stdout.write(text);
  log(`report written to ${fileURLToPath(RESULTS)}; targets ${report.passed ? "met" : "NOT met"}`);
  return interrupted ? 130 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `[load] harness failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
