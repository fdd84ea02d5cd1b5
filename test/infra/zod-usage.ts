// What the Lambda bundles rely on from zod, read the same way through zod itself (in the test
// process) and through the zod that BUNDLE_ALIASES gives the bundles (shared/validation/zod-bundled),
// so zod-alias.test.ts can compare the two: the exports of each entry point the bundles import, route
// schemas with `.openapi()` and their OpenAPI document, request validation and its English messages.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import * as root from "zod";
import * as mini from "zod/mini";
import * as v3 from "zod/v3";
import * as v4 from "zod/v4";
import * as core from "zod/v4/core";

/** Export names (sorted) of a module and of the namespaces it holds; null where there is none. */
export type ExportShape = Record<string, string[] | null>;

export interface ZodUsage {
  entryPoints: Record<string, ExportShape>;
  /** zod's `z` is the one @hono/zod-openapi extends and re-exports. */
  openApiZIsZodZ: boolean;
  openApiDocument: unknown;
  invalidRequest: { status: number; body: unknown };
  messages: { tooSmall?: string; wrongType?: string; v3TooSmall?: string; mini?: string; english?: string };
  jsonSchema: unknown;
}

/** The namespaces inside zod's entry points: `z`/default (the classic API), `core`, `locales`. */
const NAMESPACE_PATHS = ["z", "default", "core", "locales", "core.locales", "z.core", "z.locales", "z.core.locales"];

function exportShape(namespace: object): ExportShape {
  const keys = (value: unknown) => (value !== null && typeof value === "object" ? Object.keys(value).sort() : null);
  const at = (path: string) =>
    path.split(".").reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], namespace);
  return { "": keys(namespace), ...Object.fromEntries(NAMESPACE_PATHS.map((path) => [path, keys(at(path))])) };
}

export async function zodUsage(): Promise<ZodUsage> {
  const Person = z
    .object({ name: z.string().min(1).openapi({ example: "Ada" }), age: z.number().int().optional() })
    .openapi("Person");
  const app = new OpenAPIHono();
  app.openapi(
    createRoute({
      method: "post",
      path: "/people",
      request: { body: { content: { "application/json": { schema: Person } } } },
      responses: { 200: { description: "The person", content: { "application/json": { schema: Person } } } },
    }),
    (c) => c.json(c.req.valid("json"), 200),
  );
  const response = await app.request("/people", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "" }),
  });
  const english = root.z.locales.en();
  return {
    entryPoints: {
      zod: exportShape(root),
      "zod/v4": exportShape(v4),
      "zod/v4/core": exportShape(core),
      "zod/v3": exportShape(v3),
      "zod/mini": exportShape(mini),
    },
    openApiZIsZodZ: z === root.z,
    openApiDocument: app.getOpenAPIDocument({ openapi: "3.0.0", info: { title: "zod usage", version: "1" } }),
    invalidRequest: { status: response.status, body: await response.json() },
    messages: {
      tooSmall: v4.z.string().min(1).safeParse("").error?.issues[0]?.message,
      wrongType: root.object({ age: root.number() }).safeParse({ age: "x" }).error?.issues[0]?.message,
      v3TooSmall: v3.z.string().min(2).safeParse("a").error?.issues[0]?.message,
      mini: mini.string().check(mini.minLength(2)).safeParse("a").error?.issues[0]?.code,
      english: english.localeError({ code: "invalid_type", expected: "string", input: 1 } as never) as string,
    },
    jsonSchema: core.toJSONSchema(v4.z.object({ front: v4.z.string(), due: v4.z.number().int() })),
  };
}
