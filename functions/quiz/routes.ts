import type { FeatureRoutes } from "#shared/http/routes.ts";

/** Quizzes generated from text, an attached file or the student's stored material. */
export const quizRoutes: FeatureRoutes = {
  feature: "quiz",
  routes: [
    { method: "POST", path: "/ai/qa/generate", access: "user", streaming: false },
    { method: "POST", path: "/ai/qa/generate/stream", access: "user", streaming: true },
    { method: "POST", path: "/ai/qa/generate/file", access: "user", streaming: false },
  ],
};
