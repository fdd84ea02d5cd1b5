// Starting the stub model and the engine as child processes, shared by `npm run load` and
// `npm run bench:chat`: both must run the engine exactly as the load run does (its own process,
// a temp DATA_DIR, only loopback, no developer `.env`), so this is the one place that spawns them.

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { StubShape } from "./options.ts";
import { type ChildHandle, spawnReadyChild } from "./processes.ts";
import { STUB_MODEL } from "./stub-protocol.ts";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Only what a Node child needs to run; nothing else of this shell (MONGO_URI, LLM keys…) may reach it. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "LANG", "TZ"]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Parses a child's `{"ready": true, …}` line; undefined for any other line. */
export function parseReady<T>(line: string, check: (value: Record<string, unknown>) => T | undefined): T | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const record = parsed as Record<string, unknown>;
    return record.ready === true ? check(record) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the stub model (scripts/load/stub-model.ts) on 127.0.0.1. */
export async function startStub(shape: StubShape): Promise<ChildHandle<{ baseUrl: string }>> {
  return spawnReadyChild({
    name: "stub model",
    script: fileURLToPath(new URL("./stub-model.ts", import.meta.url)),
    cwd: REPO_ROOT,
    env: { ...baseEnv(), LOAD_STUB_SHAPE: JSON.stringify(shape) },
    readyTimeoutMs: 30_000,
    parseReady: (line) =>
      parseReady(line, (record) =>
        typeof record.port === "number" ? { baseUrl: `http://127.0.0.1:${record.port}` } : undefined,
      ),
  });
}

export interface EngineChildOptions {
  dataDir: string;
  secret: string;
  stubUrl: string;
  cpuProfileDir?: string | undefined;
  /** Extra configuration (rate limits, quotas); by default limits and quotas are off. */
  env?: Record<string, string>;
}

/** Starts the local runtime (scripts/load/engine-process.ts) against the stub model. */
export async function startEngine(options: EngineChildOptions): Promise<ChildHandle<{ url: string }>> {
  return spawnReadyChild({
    name: "engine",
    script: fileURLToPath(new URL("./engine-process.ts", import.meta.url)),
    cwd: REPO_ROOT,
    ...(options.cpuProfileDir ? { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", resolve(options.cpuProfileDir)] } : {}),
    env: {
      ...baseEnv(),
      HOST: "127.0.0.1",
      PORT: "0",
      DATA_DIR: options.dataDir,
      STAGE: "load",
      JWT_SECRET_KEY: options.secret,
      LLM_BASE_URL: `${options.stubUrl}/v1`,
      LLM_MODEL: STUB_MODEL,
      LOG_LEVEL: "WARN",
      PRINT_DEV_TOKEN: "false",
      // The limits protect a real deployment from one student; under load they would only measure 429s.
      RATE_LIMIT_CHAT_PER_MINUTE: "0",
      RATE_LIMIT_GENERATE_PER_MINUTE: "0",
      RATE_LIMIT_UPLOAD_PER_MINUTE: "0",
      RATE_LIMIT_READ_PER_MINUTE: "0",
      QUOTA_TOKENS_FREE: "0",
      ...options.env,
    },
    // A cold `tsx` start compiles the whole engine; on a busy machine that takes a while.
    readyTimeoutMs: 90_000,
    parseReady: (line) =>
      parseReady(line, (record) => {
        // Traffic goes only to loopback: refuse anything else the child might report.
        if (typeof record.url !== "string" || !record.url.startsWith("http://127.0.0.1:")) return undefined;
        return { url: record.url };
      }),
  });
}
