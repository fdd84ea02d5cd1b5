import type { FeatureRoutes } from "#shared/http/routes.ts";

/** Course material: uploads (inline, presigned, multipart), status, listing and deletion. */
export const documentsRoutes: FeatureRoutes = {
  feature: "documents",
  routes: [
    { method: "POST", path: "/ai/upload", access: "user", streaming: false },
    { method: "GET", path: "/ai/upload/status/{task_id}", access: "user", streaming: false },
    { method: "POST", path: "/ai/documents", access: "user", streaming: false },
    { method: "POST", path: "/ai/documents/file", access: "user", streaming: false },
    { method: "POST", path: "/ai/documents/url", access: "user", streaming: false },
    { method: "GET", path: "/ai/documents", access: "user", streaming: false },
    { method: "GET", path: "/ai/documents/{id}", access: "user", streaming: false },
    { method: "DELETE", path: "/ai/documents/{id}", access: "user", streaming: false },
    { method: "DELETE", path: "/ai/documents/source/{source_id}", access: "user", streaming: false },
    { method: "DELETE", path: "/ai/documents/session/{session_id}", access: "user", streaming: false },
  ],
};
