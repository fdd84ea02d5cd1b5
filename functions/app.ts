// Builds the HTTP app of one or more features over an engine. The local runtime mounts every
// feature; each Lambda mounts its own.
import type { Engine } from "#shared/engine.ts";
import { type App, createApp } from "#shared/http/app.ts";
import { usageMiddleware } from "#shared/usage/middleware.ts";
import { quotaLimitsFrom } from "#shared/usage/quota.ts";
import { registerChat } from "./chat/api.ts";
import { registerDocuments } from "./documents/api.ts";
import { registerFlashcards } from "./flashcards/api.ts";
import { registerMeta } from "./meta/api.ts";
import { registerMindMap } from "./mindmap/api.ts";
import { QA_FILE_MAX_BYTES, registerQa } from "./qa/api.ts";
import { registerQuiz } from "./quiz/api.ts";
import { registerSessions } from "./sessions/api.ts";
import { registerStudyPlan } from "./studyplan/api.ts";
import { registerSummarize } from "./summarize/api.ts";
import { registerUsage } from "./usage/api.ts";

export type FeatureName =
  | "meta"
  | "sessions"
  | "chat"
  | "documents"
  | "qa"
  | "summarize"
  | "quiz"
  | "studyplan"
  | "mindmap"
  | "flashcards"
  | "usage";

const registrations: Record<FeatureName, (app: App, engine: Engine) => void> = {
  meta: registerMeta,
  mindmap: registerMindMap,
  flashcards: registerFlashcards,
  sessions: registerSessions,
  chat: registerChat,
  documents: registerDocuments,
  qa: registerQa,
  summarize: registerSummarize,
  quiz: registerQuiz,
  studyplan: registerStudyPlan,
  usage: registerUsage,
};

export const ALL_FEATURES = Object.keys(registrations) as FeatureName[];

/** The app serving the given features (all by default) with the engine's dependencies. */
export function buildApp(engine: Engine, features: readonly FeatureName[] = ALL_FEATURES): App {
  const app = createApp({
    corsOrigins: engine.config.CORS_ORIGINS,
    maxBodyBytes: engine.config.MAX_BODY_BYTES,
    // Multipart uploads and inline document text have their own, larger limits (checked again by the routes).
    maxMultipartBytes: Math.max(engine.config.MAX_MULTIPART_BYTES, QA_FILE_MAX_BYTES) + 64 * 1024,
    largeBodyRoutes: { "/ai/upload": engine.config.MAX_UPLOAD_BYTES * 2 },
    logger: engine.logger,
    metrics: engine.metrics,
    verifyToken: engine.verifyToken,
    rateLimiter: engine.rateLimiter,
  });
  // Registered before every route, so each feature's AI routes (the table in
  // shared/usage/operations.ts) are quota-gated and metered without code of their own.
  app.use(
    "*",
    usageMiddleware({
      ledger: engine.usage,
      limits: quotaLimitsFrom(engine.config),
      verifyToken: engine.verifyToken,
      logger: engine.logger,
    }),
  );
  for (const feature of features) registrations[feature](app, engine);
  return app;
}
