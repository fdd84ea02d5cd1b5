// Starts the local runtime for integration tests: a temporary DATA_DIR, a known JWT secret, an
// ephemeral port on loopback, and optionally a stub OpenAI-compatible model server.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signDevToken } from "#infra/local/dev-secret.ts";
import { type LocalRuntime, startLocalRuntime } from "#infra/local/runtime.ts";
import { loadConfig } from "#shared/config/config.ts";
import type { EngineOverrides } from "#shared/engine.ts";

export const TEST_SECRET = "integration-test-secret-0123456789abcdef";

export interface TestEngine {
  runtime: LocalRuntime;
  url: string;
  dataDir: string;
  token(userId: string, options?: { role?: string; ttlSeconds?: number }): Promise<string>;
  /** Stops the runtime; the data directory stays for a restart until `cleanup`. */
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * Starts the engine; `env` adds or overrides variables (e.g. LLM_BASE_URL of a stub model) and
 * `overrides` replaces engine parts (e.g. a store that records its operations).
 */
export async function startTestEngine(
  env: Record<string, string> = {},
  dataDir?: string,
  overrides: EngineOverrides = {},
): Promise<TestEngine> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), "collabry-it-")));
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dir,
    JWT_SECRET_KEY: TEST_SECRET,
    LOG_LEVEL: "SILENT",
    // Suites upload and chat faster than a student could; the limits have their own tests.
    RATE_LIMIT_CHAT_PER_MINUTE: "0",
    RATE_LIMIT_GENERATE_PER_MINUTE: "0",
    RATE_LIMIT_UPLOAD_PER_MINUTE: "0",
    RATE_LIMIT_READ_PER_MINUTE: "0",
    ...env,
  });
  const runtime = await startLocalRuntime(config, overrides);
  return {
    runtime,
    url: runtime.url,
    dataDir: dir,
    token: (userId, options = {}) =>
      signDevToken(TEST_SECRET, {
        userId,
        ...(options.role ? { role: options.role } : {}),
        ...(options.ttlSeconds ? { ttlSeconds: options.ttlSeconds } : {}),
      }),
    stop: () => runtime.close(),
    cleanup: async () => {
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A tiny HTTP client bound to one engine and one user. */
export function clientFor(baseUrl: string, token?: string) {
  const headers = (extra: Record<string, string> = {}) => ({
    ...(token ? { Authorization: `Bearer ${token}` } : {}),
    ...extra,
  });
  return {
    get: (path: string, extra?: Record<string, string>) => fetch(`${baseUrl}${path}`, { headers: headers(extra) }),
    delete: (path: string) => fetch(`${baseUrl}${path}`, { method: "DELETE", headers: headers() }),
    send: (method: string, path: string, body: unknown, extra?: Record<string, string>) =>
      fetch(`${baseUrl}${path}`, {
        method,
        headers: headers({ "Content-Type": "application/json", ...extra }),
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
  };
}

/** Parses a session stream exactly as the notebook page does: concatenate payloads, then literal `\n` → newline. */
export function parseSessionStream(raw: string): { text: string; events: Array<{ event: string; data: string }> } {
  let text = "";
  let event: string | undefined;
  const events: Array<{ event: string; data: string }> = [];
  for (const line of raw.split("\n")) {
    if (line === "") {
      event = undefined;
    } else if (line.startsWith("event: ")) {
      event = line.slice(7);
    } else if (line.startsWith("data: ")) {
      if (event === undefined) text += line.slice(6);
      else events.push({ event, data: line.slice(6) });
    }
  }
  return { text: text.replace(/\\n/g, "\n"), events };
}

/** Parses a generic stream per the SSE rules: data lines of one event joined with newlines. */
export function parseGenericStream(raw: string): Array<{ event: string; data: string }> {
  const events: Array<{ event: string; data: string }> = [];
  let event = "message";
  let data: string[] = [];
  for (const line of raw.split("\n")) {
    if (line === "") {
      if (data.length > 0) events.push({ event, data: data.join("\n") });
      event = "message";
      data = [];
    } else if (line.startsWith("event:")) {
      event = line.slice(6).trimStart();
    } else if (line.startsWith("data:")) {
      const value = line.slice(5);
      data.push(value.startsWith(" ") ? value.slice(1) : value);
    } else {
      throw new Error(`line outside any SSE field: ${JSON.stringify(line)}`);
    }
  }
  return events;
}
