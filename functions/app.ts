// Builds the HTTP app of one or more features over a whole engine: the local runtime mounts every
// feature. A Lambda mounts its own on a feature app over the parts it composed (handler.ts).
import type { Engine } from "#shared/engine.ts";
import type { App } from "#shared/http/app.ts";
import { registerChat } from "./chat/api.ts";
import { registerDocuments } from "./documents/api.ts";
import { createFeatureApp } from "./feature-app.ts";
import { registerFlashcards } from "./flashcards/api.ts";
import { registerMeta } from "./meta/api.ts";
import { registerMindMap } from "./mindmap/api.ts";
import { registerQa } from "./qa/api.ts";
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
  const app = createFeatureApp(engine);
  for (const feature of features) registrations[feature](app, engine);
  return app;
}
