// Helpers that keep route definitions (OpenAPI + zod) and the route tables (data) in step.
import type { RouteConfig, RouteHandler } from "@hono/zod-openapi";
import { z } from "@hono/zod-openapi";
import type { TokenVerifier } from "../auth/jwt.ts";
import { type App, type AppEnv, requireAccess } from "./app.ts";
import type { FeatureRoutes } from "./routes.ts";

export const ErrorSchema = z
  .object({
    detail: z.union([
      z.string(),
      z.array(z.object({ loc: z.array(z.union([z.string(), z.number()])), msg: z.string(), type: z.string() })),
    ]),
  })
  .openapi("Error");

export const BEARER = [{ bearerAuth: [] as string[] }];

/** The error responses every authenticated route can return. */
export const authErrors = {
  401: { description: "Missing or invalid token", content: { "application/json": { schema: ErrorSchema } } },
  422: { description: "Invalid input", content: { "application/json": { schema: ErrorSchema } } },
} as const;

export const sseContent = {
  "text/event-stream": { schema: z.string().openapi({ description: "Server-sent events, framed as in the contract" }) },
} as const;

/**
 * Returns a function that registers a route definition with the access level from the feature's
 * route table; a definition missing from the table fails at start-up, so the table and the app
 * (and therefore CDK and the local runtime) cannot drift apart.
 */
export function routeRegistrar(app: App, table: FeatureRoutes, verifyToken: TokenVerifier) {
  return <R extends RouteConfig>(route: R, handler: RouteHandler<R, AppEnv>) => {
    const spec = table.routes.find((entry) => entry.method === route.method.toUpperCase() && entry.path === route.path);
    if (!spec)
      throw new Error(`${route.method.toUpperCase()} ${route.path} is missing from the ${table.feature} route table`);
    const middleware = [requireAccess(spec.access, verifyToken)];
    // biome-ignore lint/suspicious/noExplicitAny: zod-openapi's generic route types do not survive the spread.
    app.openapi({ ...route, middleware } as any, handler as any);
  };
}
