import type { FeatureRoutes } from "#shared/http/routes.ts";

/** AI usage statistics and quota administration. */
export const usageRoutes: FeatureRoutes = {
  feature: "usage",
  routes: [
    { method: "GET", path: "/ai/usage/me", access: "user", streaming: false },
    { method: "GET", path: "/ai/usage/user/{id}", access: "admin", streaming: false },
    { method: "GET", path: "/ai/usage/global", access: "admin", streaming: false },
    { method: "GET", path: "/ai/usage/realtime", access: "admin", streaming: false },
    // Was public in the original engine; it exposes every user's activity.
    { method: "GET", path: "/ai/usage/stats", access: "admin", streaming: false },
    { method: "POST", path: "/ai/usage/reset/{id}", access: "admin", streaming: false },
    // Kept so old clients get a clear 403: students may no longer clear their own quota.
    { method: "POST", path: "/ai/usage/reset-me", access: "user", streaming: false },
  ],
};
