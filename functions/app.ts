// Builds the HTTP app of one or more features over an engine. The local runtime mounts every
// feature; each Lambda mounts its own.
import type { Engine } from "#shared/engine.ts";
import { type App, createApp } from "#shared/http/app.ts";
import { registerChat } from "./chat/api.ts";
import { registerMeta } from "./meta/api.ts";
import { registerSessions } from "./sessions/api.ts";

export type FeatureName = "meta" | "sessions" | "chat";

const registrations: Record<FeatureName, (app: App, engine: Engine) => void> = {
  meta: registerMeta,
  sessions: registerSessions,
  chat: registerChat,
};

export const ALL_FEATURES = Object.keys(registrations) as FeatureName[];

/** The app serving the given features (all by default) with the engine's dependencies. */
export function buildApp(engine: Engine, features: readonly FeatureName[] = ALL_FEATURES): App {
  const app = createApp({
    corsOrigins: engine.config.CORS_ORIGINS,
    maxBodyBytes: engine.config.MAX_BODY_BYTES,
    logger: engine.logger,
    metrics: engine.metrics,
    verifyToken: engine.verifyToken,
  });
  for (const feature of features) registrations[feature](app, engine);
  return app;
}
