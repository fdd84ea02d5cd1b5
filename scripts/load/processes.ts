// Child processes of the load run (engine, stub model): start, wait for their "ready" line, keep
// a summary of what they log, sample their memory and CPU from /proc, and stop them.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";

export interface LogSummary {
  lines: number;
  byLevel: Record<string, number>;
  /** First distinct messages of WARN and above (and unstructured lines), to say what went wrong. */
  samples: string[];
}

export interface ChildHandle<T> {
  name: string;
  pid: number;
  ready: T;
  logs: LogSummary;
  /** Lines the child printed as `{"load_…": …}` after its ready line: its own measurements. */
  reports: Array<Record<string, unknown>>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const MAX_LOG_SAMPLES = 20;

function summarise(logs: LogSummary, line: string): void {
  if (line.trim() === "") return;
  logs.lines += 1;
  let level = "UNSTRUCTURED";
  let text = line;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === "object" && parsed !== null) {
      const record = parsed as Record<string, unknown>;
      level = typeof record.level === "string" ? record.level : "UNKNOWN";
      const error = typeof record.error === "object" && record.error !== null ? JSON.stringify(record.error) : "";
      text = `${level} ${String(record.message ?? "")} ${error}`.trim();
    }
  } catch {
    // Not JSON: a crash trace or a console.error from a library; kept as it is.
  }
  logs.byLevel[level] = (logs.byLevel[level] ?? 0) + 1;
  if (level === "DEBUG" || level === "INFO") return;
  const sample = text.slice(0, 400);
  if (logs.samples.length < MAX_LOG_SAMPLES && !logs.samples.includes(sample)) logs.samples.push(sample);
}

/**
 * Spawns `node --import tsx <script>` with exactly `env` (nothing inherited but what the caller
 * passes) and resolves once the child prints its ready line on stdout.
 */
export async function spawnReadyChild<T>(options: {
  name: string;
  script: string;
  cwd: string;
  env: Record<string, string>;
  /** Extra Node flags before the script (e.g. --cpu-prof). */
  nodeArgs?: string[];
  readyTimeoutMs: number;
  parseReady: (line: string) => T | undefined;
}): Promise<ChildHandle<T>> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), "--import", "tsx", options.script],
    {
      cwd: options.cwd,
      env: options.env,
      // stdin stays open as a lifeline: the children exit when it closes.
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  const { pid, stdout, stderr } = child;
  if (pid === undefined || !stdout || !stderr) throw new Error(`${options.name}: could not spawn`);
  const logs: LogSummary = { lines: 0, byLevel: {}, samples: [] };
  const reports: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let ready: T | undefined;
  const readyLine = new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${options.name}: not ready after ${options.readyTimeoutMs} ms`)),
      options.readyTimeoutMs,
    );
    createInterface({ input: stdout }).on("line", (line) => {
      if (ready === undefined) {
        const parsed = options.parseReady(line);
        if (parsed !== undefined) {
          ready = parsed;
          clearTimeout(timer);
          resolve(parsed);
          return;
        }
      }
      if (line.startsWith('{"load_')) {
        reports.push(JSON.parse(line) as Record<string, unknown>);
        return;
      }
      summarise(logs, line);
    });
    createInterface({ input: stderr }).on("line", (line) => summarise(logs, line));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${options.name}: exited with ${code} before it was ready (${logs.samples.join(" | ")})`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end();
    child.kill("SIGTERM");
    const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 12_000).unref());
    if ((await Promise.race([exited, timeout])) === "timeout") child.kill("SIGKILL");
  };
  try {
    return { name: options.name, pid, ready: await readyLine, logs, reports, exited, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface ProcessSample {
  rssMb: number;
  /** User + system CPU seconds so far. */
  cpuS: number;
  /**
   * The main thread's scheduler account (/proc/<pid>/task/<pid>/schedstat): seconds on a CPU and
   * seconds runnable but waiting for one. The engine serves every request on that one thread, so
   * the wait tells CPU starvation by other processes apart from the engine's own work.
   */
  mainThread: { onCpuS: number; runQueueWaitS: number } | undefined;
}

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every mainstream Linux build.
const CLOCK_TICKS_PER_S = 100;

/** Memory and CPU of a process from /proc; undefined where /proc does not exist (macOS) or the process is gone. */
export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
    // The command name in field 2 may contain spaces; the fields after its closing parenthesis do not.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat, i.e. 12 and 13 after the state field.
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (Number.isNaN(rssKb) || Number.isNaN(ticks)) return undefined;
    return { rssMb: rssKb / 1024, cpuS: ticks / CLOCK_TICKS_PER_S, mainThread: mainThreadSchedule(pid) };
  } catch {
    return undefined;
  }
}

function mainThreadSchedule(pid: number): ProcessSample["mainThread"] {
  try {
    const [onCpuNs, waitNs] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").trim().split(" ").map(Number);
    if (onCpuNs === undefined || waitNs === undefined || Number.isNaN(onCpuNs) || Number.isNaN(waitNs))
      return undefined;
    return { onCpuS: onCpuNs / 1e9, runQueueWaitS: waitNs / 1e9 };
  } catch {
    // Kernels without schedstats: the figure is left out, not guessed.
    return undefined;
  }
}

/**
 * On-CPU seconds of every thread of `pid` so far, by thread id (undefined without schedstats). A
 * Node process runs, beside its main thread, its worker threads (the engine's model client), V8's
 * helper threads (concurrent and parallel GC, optimising compiler) and libuv's pool.
 */
export function sampleThreads(pid: number | "self"): Map<number, number> | undefined {
  try {
    const threads = new Map<number, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const onCpuNs = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
        if (!Number.isNaN(onCpuNs)) threads.set(Number(tid), onCpuNs / 1e9);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return threads;
  } catch {
    return undefined;
  }
}

/** CPU seconds each thread used between two samples (threads started meanwhile count from zero). */
export function threadDeltas(before: Map<number, number>, after: Map<number, number>): Map<number, number> {
  const deltas = new Map<number, number>();
  for (const [tid, seconds] of after) deltas.set(tid, seconds - (before.get(tid) ?? 0));
  return deltas;
}

/** Pressure-stall totals of the whole machine (µs some task waited for CPU / for I/O), when the kernel has PSI. */
export function machinePressure(): { cpuUs: number; ioUs: number } | undefined {
  const total = (resource: string) => {
    const text = readFileSync(`/proc/pressure/${resource}`, "utf8");
    return Number(/^some .*total=(\d+)/m.exec(text)?.[1] ?? Number.NaN);
  };
  try {
    const pressure = { cpuUs: total("cpu"), ioUs: total("io") };
    return Number.isNaN(pressure.cpuUs) || Number.isNaN(pressure.ioUs) ? undefined : pressure;
  } catch {
    return undefined;
  }
}

/** Samples a process every `intervalMs` until stopped; keeps the first, peak and last RSS and the CPU used. */
export function monitorProcess(pid: number, intervalMs: number) {
  const first = sampleProcess(pid);
  let last = first;
  let peakRssMb = first?.rssMb ?? 0;
  const timer = setInterval(() => {
    const sample = sampleProcess(pid);
    if (!sample) return;
    last = sample;
    peakRssMb = Math.max(peakRssMb, sample.rssMb);
  }, intervalMs);
  timer.unref();
  return {
    stop(): { start: ProcessSample | undefined; end: ProcessSample | undefined; peakRssMb: number | undefined } {
      clearInterval(timer);
      const end = sampleProcess(pid) ?? last;
      if (end) peakRssMb = Math.max(peakRssMb, end.rssMb);
      return { start: first, end, peakRssMb: first ? peakRssMb : undefined };
    },
  };
}
