import { createRoute, z } from "@hono/zod-openapi";
import { authErrors, BEARER } from "#shared/http/openapi.ts";

const ComponentSchema = z.object({
  status: z.enum(["ok", "down", "offline"]),
  kind: z.string().optional(),
  model: z.string().optional(),
  detail: z.string().optional(),
  latency_ms: z.number().optional(),
  /** The chat model's circuit breaker (llm only, when a model endpoint is configured). */
  circuit: z.enum(["closed", "open", "half-open"]).optional(),
});

export const HealthSchema = z
  .object({
    status: z.enum(["healthy", "degraded", "unhealthy"]),
    version: z.string(),
    components: z.record(z.string(), ComponentSchema),
    timestamp: z.string(),
    uptime_seconds: z.number(),
  })
  .openapi("Health");

const tags = ["meta"];

export const rootRoute = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "API information",
  responses: {
    200: {
      description: "Name, version and links",
      content: {
        "application/json": {
          schema: z.object({
            name: z.string(),
            version: z.string(),
            description: z.string(),
            docs: z.string(),
            health: z.string(),
            openapi: z.string(),
          }),
        },
      },
    },
  },
});

export const healthRoute = createRoute({
  method: "get",
  path: "/health",
  tags,
  summary: "Health of the engine and of each component (503 when unhealthy)",
  responses: {
    200: { description: "Healthy or degraded", content: { "application/json": { schema: HealthSchema } } },
    503: { description: "Unhealthy", content: { "application/json": { schema: HealthSchema } } },
  },
});

export const testAuthRoute = createRoute({
  method: "get",
  path: "/test-auth",
  tags,
  summary: "Check a token",
  security: BEARER,
  responses: {
    200: {
      description: "The token is valid",
      content: { "application/json": { schema: z.object({ message: z.string(), user_id: z.string() }) } },
    },
    ...authErrors,
  },
});

export const metaOpenApi = [rootRoute, healthRoute, testAuthRoute];
