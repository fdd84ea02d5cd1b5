// The engine of the load run, as its own process so the load generator never shares its event
// loop. It is the local runtime of `npm start` (startLocalRuntime), configured only from the
// environment the harness passes; unlike infra/local/main.ts it reads no `.env` file, so a
// developer's `.env` (a real MongoDB, a hosted model, S3) can never receive load-test traffic.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { startLocalRuntime } from "#infra/local/runtime.ts";
import { loadConfig } from "#shared/config/config.ts";
import { localAdapters } from "#shared/engine/local-adapters.ts";
import type { EngineOverrides } from "#shared/engine.ts";
import { timedStore } from "#test/support/timed-store.ts";

/**
 * Harness only (bench:chat's store-latency figure): every store operation of this engine takes at
 * least this many milliseconds, as a round trip to MongoDB would. Not an engine setting.
 */
const STORE_LATENCY_VARIABLE = "LOAD_STORE_LATENCY_MS";

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const latencyMs = Number(process.env[STORE_LATENCY_VARIABLE] ?? 0);
  const overrides: EngineOverrides =
    latencyMs > 0
      ? { store: timedStore(await localAdapters.openStore(config), latencyMs, { record: false }).store }
      : {};
  const runtime = await startLocalRuntime(config, overrides);
  process.stdout.write(
    `${JSON.stringify({ ready: true, url: runtime.url, store: runtime.engine.store.kind, model: runtime.engine.model.info.kind })}\n`,
  );
  reportEventLoopLag();
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // A runtime that cannot close in time must still not outlive the harness.
    setTimeout(() => process.exit(1), 10_000).unref();
    runtime.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // The harness owns this process: its stdin closing (harness gone, even killed) stops the engine.
  process.stdin.on("end", stop);
  process.stdin.on("close", stop);
  process.stdin.resume();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

// Resolution of the lag histogram; the histogram measures whole timer intervals, so it is subtracted.
const LAG_RESOLUTION_MS = 10;

/**
 * Once a second, one stdout line with the event loop's lag over that second: every request of the
 * engine waits for its one loop, so a blocked loop is what stretches time to first token. The
 * engine's own code is not touched; this wrapper only observes.
 */
function reportEventLoopLag(): void {
  const histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  histogram.enable();
  const lag = (nanoseconds: number) => Math.max(0, Math.round((nanoseconds / 1e6 - LAG_RESOLUTION_MS) * 10) / 10);
  setInterval(() => {
    const stats = {
      at: performance.timeOrigin + performance.now(),
      max_ms: lag(histogram.max),
    };
    histogram.reset();
    process.stdout.write(`${JSON.stringify({ load_engine_lag: stats })}\n`);
  }, 1_000).unref();
}

main().catch((error: unknown) => {
  process.stderr.write(`engine failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
