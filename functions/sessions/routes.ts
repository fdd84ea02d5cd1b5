import type { FeatureRoutes } from "#shared/http/routes.ts";

/** Chat sessions of the notebook page: CRUD, message history and the session chat stream. */
export const sessionsRoutes: FeatureRoutes = {
  feature: "sessions",
  routes: [
    { method: "GET", path: "/ai/sessions", access: "user", streaming: false },
    { method: "POST", path: "/ai/sessions", access: "user", streaming: false },
    { method: "GET", path: "/ai/sessions/{id}", access: "user", streaming: false },
    { method: "PATCH", path: "/ai/sessions/{id}", access: "user", streaming: false },
    { method: "DELETE", path: "/ai/sessions/{id}", access: "user", streaming: false },
    { method: "GET", path: "/ai/sessions/{id}/messages", access: "user", streaming: false },
    { method: "POST", path: "/ai/sessions/{id}/messages", access: "user", streaming: false },
    { method: "POST", path: "/ai/sessions/{id}/chat/stream", access: "user", streaming: true },
    { method: "GET", path: "/ai/sessions/{id}/chat/stream", access: "user", streaming: true },
  ],
};
