// `npm run bench`: runs every benchmark, one fresh process each (so one benchmark's memory and JIT
// state cannot skew the next), then puts all their figures side by side in bench/results.json and
// bench/results.md: value, the baseline measured in the same run, their ratio, target and verdict.
//
// Options: --only cold-start,rag,chat   run a subset (figures of the others are left out).
// Exit code: 1 when a benchmark failed to run; missed targets are reported, not fatal.
import { spawn } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Figure, figuresTable } from "./figures.ts";
import { round } from "./stats.ts";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);

export interface BenchmarkSpec {
  name: string;
  script: string;
  /** What the benchmark measures, for the table's section heading. */
  title: string;
}

export const BENCHMARKS: readonly BenchmarkSpec[] = [
  { name: "cold-start", script: "bench/cold-start.ts", title: "Lambda cold start" },
  { name: "rag", script: "bench/rag.ts", title: "Ingestion, retrieval latency and retrieval quality" },
  { name: "chat", script: "bench/chat.ts", title: "Engine overhead on chat time to first token" },
];

export interface BenchmarkOutcome {
  name: string;
  title: string;
  ok: boolean;
  seconds: number;
  figures: Figure[];
  error?: string;
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Reads a benchmark's result file and returns its figures; a file without them is an error. */
export async function readFigures(file: string): Promise<Figure[]> {
  const parsed = JSON.parse(await readFile(file, "utf8")) as { figures?: unknown };
  if (!Array.isArray(parsed.figures)) throw new Error(`${file} has no "figures" array`);
  return parsed.figures as Figure[];
}

function runScript(script: string): Promise<{ code: number | null; stderrTail: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, script)], {
      cwd: ROOT,
      // stdout carries each benchmark's own JSON; the aggregate is what this command prints.
      stdio: ["ignore", "ignore", "pipe"],
      env: process.env,
    });
    let tail = "";
    child.stderr.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk);
      tail = (tail + chunk.toString("utf8")).slice(-2000);
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderrTail: tail }));
  });
}

async function runBenchmark(spec: BenchmarkSpec): Promise<BenchmarkOutcome> {
  const resultFile = join(BENCH_DIR, `results-${spec.name}.json`);
  // A stale file from an earlier run must not pass for this run's figures.
  await rm(resultFile, { force: true });
  const started = performance.now();
  log(`${spec.name}: starting (${spec.script})`);
  const { code, stderrTail } = await runScript(spec.script);
  const seconds = round((performance.now() - started) / 1000, 1);
  if (code !== 0) {
    const lastLine = stderrTail.trim().split("\n").pop() ?? "";
    return { name: spec.name, title: spec.title, ok: false, seconds, figures: [], error: `exit ${code}: ${lastLine}` };
  }
  try {
    const figures = await readFigures(resultFile);
    log(`${spec.name}: ${figures.length} figures in ${seconds} s`);
    return { name: spec.name, title: spec.title, ok: true, seconds, figures };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { name: spec.name, title: spec.title, ok: false, seconds, figures: [], error: message };
  }
}

/** The readable report: one table per benchmark, then the misses and failures gathered at the end. */
export function renderReport(outcomes: readonly BenchmarkOutcome[], environment: Record<string, unknown>): string {
  const parts = [
    "# Benchmark results\n",
    `Generated ${String(environment.generated_at)} on ${String(environment.cpus)} × ${String(environment.cpu_model)}, ` +
      `Node ${String(environment.node)}, load average ${String(environment.load_average_1m_at_start)} → ` +
      `${String(environment.load_average_1m_at_end)}; total ${String(environment.total_s)} s.\n`,
    "Ratio = value / baseline (both measured in this run).\n",
  ];
  for (const outcome of outcomes) {
    parts.push(`## ${outcome.title} (\`${outcome.name}\`, ${outcome.seconds} s)\n`);
    if (!outcome.ok) {
      parts.push(`Failed: ${outcome.error ?? "unknown error"}\n`);
      continue;
    }
    parts.push(figuresTable(outcome.figures));
  }
  const misses = outcomes.flatMap((outcome) => outcome.figures.filter((item) => item.pass === false));
  if (misses.length > 0) {
    parts.push("## Targets missed\n");
    for (const item of misses) {
      parts.push(`- ${item.label}: ${item.value} ${item.unit}${item.note ? ` — ${item.note}` : ""}`);
    }
    parts.push("");
  }
  return `${parts.join("\n")}\n`;
}

function selected(argv: readonly string[]): readonly BenchmarkSpec[] {
  const at = argv.indexOf("--only");
  if (at === -1) return BENCHMARKS;
  const names = (argv[at + 1] ?? "").split(",").map((name) => name.trim());
  const unknown = names.filter((name) => !BENCHMARKS.some((spec) => spec.name === name));
  if (unknown.length > 0 || names.length === 0) {
    throw new Error(
      `unknown benchmark ${unknown.join(", ") || "(none)"}; choose from ${BENCHMARKS.map((s) => s.name).join(", ")}`,
    );
  }
  return BENCHMARKS.filter((spec) => names.includes(spec.name));
}

async function main(): Promise<void> {
  const specs = selected(process.argv.slice(2));
  const started = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const outcomes: BenchmarkOutcome[] = [];
  for (const spec of specs) outcomes.push(await runBenchmark(spec));
  const environment = {
    generated_at: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? "unknown",
    memory_gib: round(totalmem() / 1024 ** 3, 1),
    // Other work on the machine skews every latency figure; a load above the core count means contention.
    load_average_1m_at_start: round(loadAtStart, 2),
    load_average_1m_at_end: round(loadavg()[0] ?? 0, 2),
    total_s: round((performance.now() - started) / 1000, 1),
  };
  const figures = outcomes.flatMap((outcome) => outcome.figures);
  const results = {
    environment,
    summary: {
      figures: figures.length,
      targets: figures.filter((item) => item.pass !== null).length,
      passed: figures.filter((item) => item.pass === true).length,
      missed: figures.filter((item) => item.pass === false).map((item) => item.id),
      failed_benchmarks: outcomes.filter((outcome) => !outcome.ok).map((outcome) => outcome.name),
    },
    benchmarks: outcomes,
  };
  const report = renderReport(outcomes, environment);
  await writeFile(join(BENCH_DIR, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(BENCH_DIR, "results.md"), report);
  process.stdout.write(report);
  log(`wrote bench/results.json and bench/results.md in ${environment.total_s} s`);
  if (results.summary.failed_benchmarks.length > 0) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    process.stderr.write(`[bench] failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
