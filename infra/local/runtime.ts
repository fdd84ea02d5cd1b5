// The one-process runtime behind `npm start`: every feature of the engine on one Node HTTP server,
// with the embedded adapters unless the configuration names real services.
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { buildApp } from "#functions/app.ts";
import { workerFor } from "#functions/ingest/worker.ts";
import type { Config } from "#shared/config/config.ts";
import { createEngine, type Engine, type EngineOverrides } from "#shared/engine.ts";
import { ensureDevSecret } from "./dev-secret.ts";
import { fetchWithSseChannels } from "./sse-channel.ts";
import { mountLocalUploads } from "./uploads.ts";

export interface LocalRuntime {
  url: string;
  port: number;
  engine: Engine;
  /** Set when the runtime generated (or reused) a local secret because JWT_SECRET_KEY was not set. */
  devSecret?: { secret: string; path: string; created: boolean };
  close(): Promise<void>;
}

/** Starts the engine on `config.HOST:config.PORT` (port 0 picks a free one). */
export async function startLocalRuntime(config: Config, overrides: EngineOverrides = {}): Promise<LocalRuntime> {
  const devSecret = config.JWT_SECRET_KEY || overrides.jwtSecret ? undefined : await ensureDevSecret(config.DATA_DIR);
  const engine = await createEngine(config, {
    ...overrides,
    ...(devSecret ? { jwtSecret: devSecret.secret } : {}),
  });
  const app = buildApp(engine);
  mountLocalUploads(app, engine);
  // The in-process queue feeds the same worker handler that SQS feeds in AWS.
  engine.localQueue?.start(workerFor(engine));
  // Event streams are written to Node's response directly, not through a web ReadableStream.
  const server = serve({ fetch: fetchWithSseChannels(app), port: config.PORT, hostname: config.HOST });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = config.HOST === "0.0.0.0" || config.HOST === "::" ? "localhost" : config.HOST;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    engine,
    ...(devSecret ? { devSecret } : {}),
    close: () => {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Open streams and keep-alive sockets must not hold shutdown hostage.
          if ("closeAllConnections" in server) server.closeAllConnections();
        });
        await engine.close();
      })();
      return closing;
    },
  };
}
