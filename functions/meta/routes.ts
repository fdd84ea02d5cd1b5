import type { FeatureRoutes } from "#shared/http/routes.ts";

/** Service information, health, API docs and the auth probe. */
export const metaRoutes: FeatureRoutes = {
  feature: "meta",
  routes: [
    { method: "GET", path: "/", access: "public", streaming: false },
    { method: "GET", path: "/health", access: "public", streaming: false },
    { method: "GET", path: "/docs", access: "public", streaming: false },
    { method: "GET", path: "/openapi.json", access: "public", streaming: false },
    { method: "GET", path: "/test-auth", access: "user", streaming: false },
  ],
};
