import type { FeatureRoutes } from "#shared/http/routes.ts";

/** Summaries of inline text or of the student's stored material, with citations. */
export const summarizeRoutes: FeatureRoutes = {
  feature: "summarize",
  routes: [
    { method: "POST", path: "/ai/summarize", access: "user", streaming: false },
    { method: "POST", path: "/ai/summarize/stream", access: "user", streaming: true },
  ],
};
