// HTTP adapter of the meta feature: service info, real component health, docs and the auth probe.

import { swaggerUI } from "@hono/swagger-ui";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Engine } from "#shared/engine.ts";
import type { App } from "#shared/http/app.ts";
import { routeRegistrar } from "#shared/http/openapi.ts";
import type { ChatModel } from "#shared/llm/chat-model.ts";
import { onDemand } from "#shared/on-demand.ts";
import { ENGINE_VERSION } from "#shared/version.ts";
import { metaRoutes } from "./routes.ts";
import { healthRoute, rootRoute, testAuthRoute } from "./schema.ts";

// A health check answers within this bound: a component slower than that is reported down, not waited for.
const HEALTH_CHECK_TIMEOUT_MS = 1_000;

async function timed<T>(check: () => Promise<T>): Promise<{ value?: T; error?: string; ms: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timed out")), HEALTH_CHECK_TIMEOUT_MS);
    });
    const value = await Promise.race([check(), timeout]);
    return { value, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : "failed", ms: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Builds the OpenAPI 3.1 document of every feature's routes. Their definitions are imported here, on
 * the first request for the document, so that the meta function's cold start (its first request is
 * usually /health) does not build every feature's schemas.
 */
export async function buildOpenApiDocument(serverUrl?: string) {
  const { allRouteDefinitions } = await import("../openapi.ts");
  const docs = new OpenAPIHono();
  docs.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  for (const definition of allRouteDefinitions) docs.openAPIRegistry.registerPath(definition);
  return docs.getOpenAPI31Document({
    openapi: "3.1.0",
    info: {
      title: "Collabry AI Engine",
      version: ENGINE_VERSION,
      description: "Study-copilot API: chat, sessions, documents with citations and study tools.",
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
  });
}

/**
 * What the meta routes use of the engine. Only the model's identity and health probe: the meta
 * function reports on the model without loading a client for it.
 */
export type MetaDeps = Pick<Engine, "verifyToken" | "store" | "modelCircuit" | "startedAt"> & {
  model: Pick<ChatModel, "info" | "health">;
};

/** Registers `/`, `/health`, `/docs`, `/openapi.json` and `/test-auth`. */
export function registerMeta(app: App, engine: MetaDeps): void {
  const route = routeRegistrar(app, metaRoutes, engine.verifyToken);
  const openApiDocument = onDemand(() => buildOpenApiDocument());

  route(rootRoute, (c) =>
    c.json(
      {
        name: "Collabry AI Engine",
        version: ENGINE_VERSION,
        description: "Study copilot: chat, sessions, documents with citations, study tools",
        docs: "/docs",
        health: "/health",
        openapi: "/openapi.json",
      },
      200,
    ),
  );

  route(healthRoute, async (c) => {
    const [store, model] = await Promise.all([timed(() => engine.store.ping()), timed(() => engine.model.health())]);
    const storeOk = store.error === undefined;
    const offline = engine.model.info.kind === "offline";
    const modelOk = model.value?.status === "ok";
    const circuit = engine.modelCircuit();
    const components = {
      // "mongodb" keeps the original engine's component name; `kind` says which adapter serves it.
      mongodb: {
        status: storeOk ? ("ok" as const) : ("down" as const),
        kind: engine.store.kind,
        latency_ms: store.ms,
        ...(storeOk ? {} : { detail: "document store unreachable" }),
      },
      llm: {
        status: offline ? ("offline" as const) : modelOk ? ("ok" as const) : ("down" as const),
        kind: engine.model.info.kind,
        model: engine.model.info.model,
        latency_ms: model.ms,
        ...(circuit ? { circuit } : {}),
        ...(offline
          ? { detail: "no model configured: the offline engine answers" }
          : modelOk
            ? {}
            : { detail: model.value?.detail ?? model.error ?? "unreachable" }),
      },
    };
    // An open circuit means answers come from the offline engine even if the endpoint answers /models.
    const status = !storeOk ? "unhealthy" : (!offline && !modelOk) || circuit === "open" ? "degraded" : "healthy";
    const body = {
      status,
      version: ENGINE_VERSION,
      components,
      timestamp: new Date().toISOString(),
      uptime_seconds: Math.round((Date.now() - engine.startedAt.getTime()) / 1000),
    } as const;
    return status === "unhealthy" ? c.json(body, 503) : c.json(body, 200);
  });

  route(testAuthRoute, (c) => c.json({ message: "Auth works!", user_id: c.get("user").userId }, 200));

  app.get("/openapi.json", async (c) => {
    return c.json(await openApiDocument());
  });
  app.get("/docs", swaggerUI({ url: "/openapi.json", title: "Collabry AI Engine — API" }));
}
