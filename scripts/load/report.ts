// The parts of the load report computed from raw samples: per-route figures, streams, time to
// first token against the stub's own delay, the engine's main thread and the run's timeline.
import type { LoadRecorder } from "./client.ts";
import type { ProcessSample } from "./processes.ts";
import { percentiles, round } from "./stats.ts";
import type { StubTiming } from "./stub-protocol.ts";
import type { StreamSample } from "./users.ts";

export interface OverheadReport {
  /** Per stream: when it started (performance.now() of this process) and its overhead. */
  samples: Array<{ at: number; overheadMs: number }>;
  streams_timed: number;
  streams_without_stub_match: number;
  ttft_ms: ReturnType<typeof percentiles>;
  stub_first_token_ms: ReturnType<typeof percentiles>;
  engine_overhead_ms: ReturnType<typeof percentiles>;
  before_model_ms: ReturnType<typeof percentiles>;
  relay_ms: ReturnType<typeof percentiles>;
}

export function timeToFirstToken(streams: StreamSample[], timings: StubTiming[]): OverheadReport {
  const firstByKey = new Map<string, StubTiming>();
  for (const timing of timings) {
    if (timing.key === null || timing.firstTokenAt === null || !timing.stream) continue;
    const known = firstByKey.get(timing.key);
    // A retried completion: the attempt whose token came first is the one the client saw.
    if (!known || (known.firstTokenAt ?? Number.POSITIVE_INFINITY) > timing.firstTokenAt) {
      firstByKey.set(timing.key, timing);
    }
  }
  const ttft: number[] = [];
  const stubDelay: number[] = [];
  const overhead: number[] = [];
  const beforeModel: number[] = [];
  const relay: number[] = [];
  const samples: Array<{ at: number; overheadMs: number }> = [];
  let unmatched = 0;
  for (const stream of streams) {
    if (stream.firstTokenAt === null) continue;
    ttft.push(stream.firstTokenAt - stream.startedAt);
    const stub = firstByKey.get(stream.key);
    if (!stub || stub.firstTokenAt === null) {
      unmatched += 1;
      continue;
    }
    const delay = stub.firstTokenAt - stub.receivedAt;
    stubDelay.push(delay);
    overhead.push(stream.firstTokenAt - stream.startedAt - delay);
    samples.push({
      at: stream.startedAt - performance.timeOrigin,
      overheadMs: stream.firstTokenAt - stream.startedAt - delay,
    });
    beforeModel.push(stub.receivedAt - stream.startedAt);
    relay.push(stream.firstTokenAt - stub.firstTokenAt);
  }
  return {
    samples,
    streams_timed: ttft.length,
    streams_without_stub_match: unmatched,
    ttft_ms: percentiles(ttft),
    stub_first_token_ms: percentiles(stubDelay),
    engine_overhead_ms: percentiles(overhead),
    before_model_ms: percentiles(beforeModel),
    relay_ms: percentiles(relay),
  };
}

const TIMELINE_WINDOW_S = 5;

/** Requests and TTFT overhead per window: tells a warm-up stall from a steady-state problem. */
export function timeline(
  recorder: LoadRecorder,
  runStarted: number,
  overheads: Array<{ at: number; overheadMs: number }>,
  lag: LagSample[],
) {
  const windows: Array<{
    from_s: number;
    requests: number;
    ttft_overhead_ms: ReturnType<typeof percentiles>;
    engine_loop_lag_max_ms: number | null;
  }> = [];
  const windowOf = (at: number) => Math.max(0, Math.floor((at - runStarted) / 1000 / TIMELINE_WINDOW_S));
  const requests: number[] = [];
  const samples: number[][] = [];
  for (const at of recorder.completedAt) requests[windowOf(at)] = (requests[windowOf(at)] ?? 0) + 1;
  for (const { at, overheadMs } of overheads) {
    const window = windowOf(at);
    samples[window] = [...(samples[window] ?? []), overheadMs];
  }
  const lagMax: number[] = [];
  for (const sample of lag) {
    const window = windowOf(sample.at - performance.timeOrigin);
    lagMax[window] = Math.max(lagMax[window] ?? 0, sample.max_ms);
  }
  for (let index = 0; index < Math.max(requests.length, samples.length); index += 1) {
    windows.push({
      from_s: index * TIMELINE_WINDOW_S,
      requests: requests[index] ?? 0,
      ttft_overhead_ms: percentiles(samples[index] ?? []),
      engine_loop_lag_max_ms: lagMax[index] ?? null,
    });
  }
  return windows;
}

export function mainThreadReport(start: ProcessSample | undefined, end: ProcessSample | undefined, elapsedS: number) {
  const from = start?.mainThread;
  const to = end?.mainThread;
  if (!from || !to) return null;
  const onCpu = to.onCpuS - from.onCpuS;
  const waiting = to.runQueueWaitS - from.runQueueWaitS;
  return {
    on_cpu_pct: round((onCpu / elapsedS) * 100),
    waiting_for_cpu_pct: round((waiting / elapsedS) * 100),
    // Neither running nor runnable: idle, or blocked in a system call (fsync of a SQLite commit).
    off_cpu_pct: round(Math.max(0, 100 - ((onCpu + waiting) / elapsedS) * 100)),
  };
}

export interface LagSample {
  at: number;
  max_ms: number;
}

/** The engine's per-second event-loop lag reports that fall inside [from, to] (wall clock). */
export function engineLag(reports: Array<Record<string, unknown>>, from: number, to: number): LagSample[] {
  const samples: LagSample[] = [];
  for (const report of reports) {
    const lag = report.load_engine_lag as LagSample | undefined;
    if (lag && lag.at >= from && lag.at <= to) samples.push(lag);
  }
  return samples;
}

export function routeReport(recorder: LoadRecorder) {
  const routes: Record<string, unknown> = {};
  const totals = { requests: 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, timeouts: 0, network_errors: 0 };
  for (const [route, samples] of [...recorder.routes].sort(([a], [b]) => a.localeCompare(b))) {
    const outcomes: Record<string, number> = {};
    let errors = 0;
    for (const [outcome, count] of samples.outcomes) {
      outcomes[String(outcome)] = count;
      totals.requests += count;
      if (outcome === "timeout") totals.timeouts += count;
      else if (outcome === "network") totals.network_errors += count;
      else if (outcome >= 500) totals["5xx"] += count;
      else if (outcome >= 400) totals["4xx"] += count;
      else if (outcome >= 300) totals["3xx"] += count;
      else totals["2xx"] += count;
      if (outcome === "timeout" || outcome === "network" || outcome >= 400) errors += count;
    }
    routes[route] = { ...percentiles(samples.latenciesMs), errors, outcomes };
  }
  return { routes, totals };
}

export function streamReport(streams: StreamSample[], kind: "session" | "generic") {
  const mine = streams.filter((stream) => stream.kind === kind);
  const ok = mine.filter((stream) => stream.outcome === 200);
  return {
    started: mine.length,
    completed: ok.filter((stream) => stream.sawDone && !stream.errorEvent).length,
    // 200 and an SSE body, but no `event: done`: cut off mid-answer.
    without_done: ok.filter((stream) => !stream.sawDone).length,
    with_error_event: ok.filter((stream) => stream.errorEvent).length,
    not_200: mine.length - ok.length,
    duration_ms: percentiles(ok.map((stream) => stream.latencyMs)),
  };
}
