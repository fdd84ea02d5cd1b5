import type { FeatureRoutes } from "#shared/http/routes.ts";

/** Study plans scheduled between two dates, by the model when it keeps the date rules, else by rules. */
export const studyplanRoutes: FeatureRoutes = {
  feature: "studyplan",
  routes: [{ method: "POST", path: "/ai/generate-study-plan", access: "user", streaming: false }],
};
