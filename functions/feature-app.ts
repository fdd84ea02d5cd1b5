// The HTTP app every feature is mounted on: request ids, CORS, limits, auth, and the usage gate
// before any route. Apart from app.ts so that a Lambda bundles only its own feature's routes.

import type { LambdaCore } from "#shared/engine/lambda.ts";
import { type App, createApp } from "#shared/http/app.ts";
import { usageMiddleware } from "#shared/usage/middleware.ts";
import { quotaLimitsFrom } from "#shared/usage/quota.ts";
import { QA_FILE_MAX_BYTES } from "./wire.ts";

/** What the app itself uses of an engine (the local engine and a Lambda's core both have it). */
export type AppCore = Pick<LambdaCore, "config" | "logger" | "metrics" | "verifyToken" | "rateLimiter" | "usage">;

/** An app with no routes yet; features register theirs on it. */
export function createFeatureApp(core: AppCore): App {
  const { config } = core;
  const app = createApp({
    corsOrigins: config.CORS_ORIGINS,
    maxBodyBytes: config.MAX_BODY_BYTES,
    // Multipart uploads and inline document text have their own, larger limits (checked again by the routes).
    maxMultipartBytes: Math.max(config.MAX_MULTIPART_BYTES, QA_FILE_MAX_BYTES) + 64 * 1024,
    largeBodyRoutes: { "/ai/upload": config.MAX_UPLOAD_BYTES * 2 },
    logger: core.logger,
    metrics: core.metrics,
    verifyToken: core.verifyToken,
    rateLimiter: core.rateLimiter,
  });
  // Registered before every route, so each feature's AI routes (the table in
  // shared/usage/operations.ts) are quota-gated and metered without code of their own.
  app.use(
    "*",
    usageMiddleware({
      ledger: core.usage,
      limits: quotaLimitsFrom(config),
      verifyToken: core.verifyToken,
      logger: core.logger,
    }),
  );
  return app;
}
