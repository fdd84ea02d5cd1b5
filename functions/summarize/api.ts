// HTTP adapter of the summarize feature: inline text or stored sources, JSON or a generic stream.
import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Engine } from "#shared/engine.ts";
import { loadMaterial, type Material, materialScope } from "#shared/generation/material.ts";
import { materialLength } from "#shared/generation/sentences.ts";
import { type Summary, type SummaryRequest, summarizeMaterial } from "#shared/generation/summary.ts";
import type { App, AppEnv } from "#shared/http/app.ts";
import { routeRegistrar } from "#shared/http/openapi.ts";
import { sseResponse } from "#shared/http/sse.ts";
import { requestModel } from "#shared/usage/middleware.ts";
import { summarizeRoutes } from "./routes.ts";
import { type SummarizeBody, summarizeRoute, summarizeStreamRoute } from "./schema.ts";

type Body = z.infer<typeof SummarizeBody>;

function publicFailure(error: unknown): string {
  if (error instanceof Error && "expose" in error && error.expose === true) return error.message;
  return "The summary could not be generated. Please try again.";
}

/** What the summarize routes use of the engine (a Lambda composes only these). */
export type SummarizeDeps = Pick<Engine, "verifyToken" | "model" | "records" | "blobs" | "retriever">;

/** Registers the summarize routes on the app. */
export function registerSummarize(app: App, engine: SummarizeDeps): void {
  const route = routeRegistrar(app, summarizeRoutes, engine.verifyToken);
  /** The model calls of a request charge its usage meter. */
  const deps = (c: Context<AppEnv>) => ({ model: requestModel(c, engine.model) });

  function material(c: Context<AppEnv>, body: Body): Promise<Material> {
    return loadMaterial(engine, {
      userId: c.get("user").userId,
      ...materialScope(body),
    });
  }

  function request(body: Body, loaded: Material): SummaryRequest {
    return {
      material: loaded,
      style: body.style,
      ...(body.max_length ? { maxWords: body.max_length } : {}),
    };
  }

  route(summarizeRoute, async (c) => {
    const body = c.req.valid("json");
    const loaded = await material(c, body);
    const started = Date.now();
    const summary: Summary = await summarizeMaterial(deps(c), request(body, loaded));
    c.get("logger").info("summary written", {
      offline: summary.offline,
      sections: loaded.sections.length,
      ms: Date.now() - started,
    });
    return c.json(
      {
        summary: summary.summary,
        original_length: body.text ? body.text.length : materialLength(loaded),
        summary_length: summary.summary.length,
        user_id: c.get("user").userId,
        timestamp: new Date().toISOString(),
        ...(loaded.stored ? { citations: summary.citations } : {}),
        offline: summary.offline,
      },
      200,
    );
  });

  route(summarizeStreamRoute, async (c) => {
    const body = c.req.valid("json");
    // Loaded before the stream starts, so an unknown source is a normal 404 and not a stream error.
    const loaded = await material(c, body);
    return sseResponse(
      c,
      "generic",
      async (writer) => {
        const summary = await summarizeMaterial(deps(c), {
          ...request(body, loaded),
          onToken: (token) => writer.token(token),
          onProgress: (done, total) => writer.event("progress", JSON.stringify({ done, total })),
        });
        await writer.event("citations", JSON.stringify(summary.citations));
        await writer.done();
      },
      async (error, writer) => {
        c.get("logger").warn("summary stream failed", { error: error instanceof Error ? error.name : "unknown" });
        await writer.error(publicFailure(error));
        await writer.done();
      },
    );
  });
}
