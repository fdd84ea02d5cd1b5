import type { FeatureRoutes } from "#shared/http/routes.ts";

/** Mind maps of a topic and the student's documents, and their Mermaid/SVG renderings. */
export const mindmapRoutes: FeatureRoutes = {
  feature: "mindmap",
  routes: [
    { method: "POST", path: "/ai/mindmap", access: "user", streaming: false },
    { method: "POST", path: "/ai/mindmap/render", access: "user", streaming: false },
  ],
};
