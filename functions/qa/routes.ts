import type { FeatureRoutes } from "#shared/http/routes.ts";

/** Questions answered from the student's material, with citations. */
export const qaRoutes: FeatureRoutes = {
  feature: "qa",
  routes: [
    { method: "POST", path: "/ai/qa", access: "user", streaming: false },
    { method: "POST", path: "/ai/qa/stream", access: "user", streaming: true },
    { method: "POST", path: "/ai/qa/file", access: "user", streaming: false },
    { method: "POST", path: "/ai/qa/file/stream", access: "user", streaming: true },
  ],
};
