import { createRoute, z } from "@hono/zod-openapi";
import { authErrors, BEARER, ErrorSchema } from "#shared/http/openapi.ts";
import { CitationSchema } from "../wire.ts";

const Id = z.string().min(1).max(200);

export const MindMapBody = z
  .object({
    topic: z.string().trim().min(1, "topic must not be empty").max(300),
    depth: z.number().int().min(1).max(4).default(2),
    use_documents: z.boolean().default(true),
    source_ids: z.array(Id).max(100).optional().nullable(),
    session_id: Id.optional().nullable(),
  })
  .openapi("MindMapRequest");

export interface MindMapNodeView {
  id: string;
  label: string;
  level: number;
  children: MindMapNodeView[];
}

const MindMapNodeSchema: z.ZodType<MindMapNodeView> = z
  .lazy(() =>
    z.object({ id: z.string(), label: z.string(), level: z.number().int(), children: z.array(MindMapNodeSchema) }),
  )
  .openapi("MindMapNode", { type: "object", description: "A node with its children (recursive)" });

export const MindMapResponse = z
  .object({
    topic: z.string(),
    root: MindMapNodeSchema,
    total_nodes: z.number().int(),
    user_id: z.string(),
    timestamp: z.string(),
    citations: z.array(CitationSchema).optional(),
    offline: z.boolean(),
  })
  .openapi("MindMapResponse");

export const RenderQuery = z.object({
  format: z.enum(["svg", "mermaid", "both"]).default("both"),
});

export const RenderBody = z.looseObject({}).openapi("MindMapTree", {
  description:
    "A tree: `{label|text|name, children|nodes}` nested (at most 500 nodes, 12 levels), or a /ai/mindmap response",
  example: { label: "Water cycle", children: [{ label: "Evaporation from oceans" }, { label: "Cloud formation" }] },
});

export const RenderResponse = z
  .object({
    mermaid: z.string(),
    json: MindMapNodeSchema,
    svg_base64: z.string().optional(),
  })
  .openapi("MindMapRender");

const tags = ["mindmap"];
const json = (schema: z.ZodType) => ({ "application/json": { schema } });

export const mindMapRoute = createRoute({
  method: "post",
  path: "/ai/mindmap",
  tags,
  summary: "A mind map of a topic, from the student's documents when they have some",
  security: BEARER,
  request: { body: { content: { "application/json": { schema: MindMapBody } }, required: true } },
  responses: {
    200: { description: "Mind map", content: json(MindMapResponse) },
    404: { description: "A named source does not exist", content: json(ErrorSchema) },
    502: { description: "The model failed", content: json(ErrorSchema) },
    ...authErrors,
  },
});

export const renderMindMapRoute = createRoute({
  method: "post",
  path: "/ai/mindmap/render",
  tags,
  summary: "Render a tree as Mermaid and/or SVG (drawn by the engine)",
  security: BEARER,
  request: { query: RenderQuery, body: { content: { "application/json": { schema: RenderBody } }, required: true } },
  responses: { 200: { description: "Renderings", content: json(RenderResponse) }, ...authErrors },
});

export const mindmapOpenApi = [mindMapRoute, renderMindMapRoute];
