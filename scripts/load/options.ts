// Command-line flags of `npm run load`. Every flag is bounded, so no invocation can turn the
// harness into an unbounded traffic generator.
import { parseArgs } from "node:util";

export interface LoadOptions {
  users: number;
  durationS: number;
  /** Upper bound of the uniform pause between two operations of one user (0 = back to back). */
  thinkMs: number;
  /** Users start spread over this many seconds instead of all in the same millisecond. */
  rampS: number;
  /** Upper bound on the wait for the ingestion queue to drain before the data check. */
  drainS: number;
  seed: number;
  /** Write the engine's V8 CPU profile here (to find what saturates its event loop). */
  cpuProfileDir: string | undefined;
  stub: StubShape;
}

/** What the stub model does per completion; each request draws its own values from these ranges. */
export interface StubShape {
  firstTokenMinMs: number;
  firstTokenMaxMs: number;
  tokensMin: number;
  tokensMax: number;
  tokenDelayMs: number;
}

/** A hosted model's first token after 30–60 ms and ~15 ms per token is what the issue calls realistic. */
export const REALISTIC_STUB: StubShape = {
  firstTokenMinMs: 30,
  firstTokenMaxMs: 60,
  tokensMin: 20,
  tokensMax: 40,
  tokenDelayMs: 15,
};

export const USAGE = `npm run load -- [--users 100] [--duration 45] [--think-ms 500] [--ramp 3] [--drain 60] [--seed 1]
                        [--cpu-prof DIR]

Drives a temporary local engine (child process, temp DATA_DIR, stub model) on 127.0.0.1 with
virtual users, then prints one JSON report (also written to scripts/load/results.json).`;

export class UsageError extends Error {
  override readonly name = "UsageError";
}

function bounded(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  }
  return value;
}

/** Parses argv (without node and the script); throws UsageError on a bad or unknown flag. */
export function parseLoadOptions(argv: string[]): LoadOptions | "help" {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(argv);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.help) return "help";
  return {
    // 1,000 users and 10 minutes are far beyond what a laptop engine serves; the caps keep a typo harmless.
    users: bounded("users", values.users, 100, 1, 1_000),
    durationS: bounded("duration", values.duration, 45, 1, 600),
    thinkMs: bounded("think-ms", values["think-ms"], 500, 0, 10_000),
    rampS: bounded("ramp", values.ramp, 3, 0, 60),
    drainS: bounded("drain", values.drain, 60, 0, 300),
    seed: bounded("seed", values.seed, 1, 0, 2 ** 31 - 1),
    cpuProfileDir: values["cpu-prof"],
    stub: REALISTIC_STUB,
  };
}

function parseFlags(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      users: { type: "string" },
      duration: { type: "string" },
      "think-ms": { type: "string" },
      ramp: { type: "string" },
      drain: { type: "string" },
      seed: { type: "string" },
      "cpu-prof": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}
