// HTTP adapter of the mindmap feature: build a mind map, render a tree.
import type { Engine } from "#shared/engine.ts";
import { generateMindMap } from "#shared/generation/mindmap.ts";
import { parseRenderTree, toMermaid, toSvg } from "#shared/generation/mindmap-render.ts";
import type { App } from "#shared/http/app.ts";
import { routeRegistrar } from "#shared/http/openapi.ts";
import { requestModel } from "#shared/usage/middleware.ts";
import { mindmapRoutes } from "./routes.ts";
import { mindMapRoute, renderMindMapRoute } from "./schema.ts";

/** What the mindmap routes use of the engine (a Lambda composes only these). */
export type MindMapDeps = Pick<Engine, "verifyToken" | "model" | "records" | "blobs" | "retriever">;

/** Registers the mindmap routes on the app. */
export function registerMindMap(app: App, engine: MindMapDeps): void {
  const route = routeRegistrar(app, mindmapRoutes, engine.verifyToken);
  const parts = { records: engine.records, blobs: engine.blobs, retriever: engine.retriever };

  route(mindMapRoute, async (c) => {
    const body = c.req.valid("json");
    const userId = c.get("user").userId;
    const map = await generateMindMap(
      { ...parts, model: requestModel(c, engine.model) },
      {
        userId,
        topic: body.topic,
        depth: body.depth,
        useDocuments: body.use_documents,
        ...(body.source_ids?.length ? { sourceIds: body.source_ids } : {}),
        ...(body.session_id ? { sessionId: body.session_id } : {}),
      },
    );
    return c.json(
      {
        topic: map.topic,
        root: map.root,
        total_nodes: map.total_nodes,
        user_id: userId,
        timestamp: new Date().toISOString(),
        ...(map.citations.length > 0 ? { citations: map.citations } : {}),
        offline: map.offline,
      },
      200,
    );
  });

  route(renderMindMapRoute, async (c) => {
    const { format } = c.req.valid("query");
    const tree = parseRenderTree(c.req.valid("json"));
    const svg = format === "mermaid" ? undefined : toSvg(tree);
    return c.json(
      {
        mermaid: toMermaid(tree),
        json: tree,
        ...(svg !== undefined ? { svg_base64: Buffer.from(svg, "utf8").toString("base64") } : {}),
      },
      200,
    );
  });
}
