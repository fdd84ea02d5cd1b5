import type { FeatureRoutes } from "#shared/http/routes.ts";

/** Stateless-looking chat of the original engine (a session is created or reused behind it). */
export const chatRoutes: FeatureRoutes = {
  feature: "chat",
  routes: [
    { method: "POST", path: "/ai/chat", access: "user", streaming: false },
    { method: "POST", path: "/ai/chat/stream", access: "user", streaming: true },
  ],
};
