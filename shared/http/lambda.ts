// Lambda entry points for a feature app: a buffered REST proxy handler and, inside Lambda's
// Node runtime (where the `awslambda` global exists), a response-streaming handler.
import { Hono } from "hono";
import { handle, streamHandle } from "hono/aws-lambda";
import { buildDuringInit } from "../engine/lambda-init.ts";
import type { App } from "./app.ts";

/** Lambda's Node runtime provides `awslambda.streamifyResponse`; other code (and libraries) may define a partial `awslambda` global. */
function hasResponseStreaming(): boolean {
  const runtime = (globalThis as { awslambda?: { streamifyResponse?: unknown } }).awslambda;
  return typeof runtime?.streamifyResponse === "function";
}

/** Wraps an app that is built asynchronously (secrets, store) once per cold start. */
export function lambdaEntries(build: () => Promise<App>) {
  let pending: Promise<App> | undefined;
  const app = () => {
    // A failed cold start (e.g. secrets unreachable) is retried on the next invocation.
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
  const front = new Hono();
  front.all("*", async (c) => (await app()).fetch(c.req.raw, c.env));
  return {
    handler: handle(front),
    streamingHandler: hasResponseStreaming() ? streamHandle(front) : undefined,
    /**
     * Builds the app during Lambda's init phase (a handler module awaits this at top level), so the
     * first request finds the store open and the routes registered. A build that fails or outlasts
     * the init wait is left to the first request, which waits for or retries it and answers with the
     * error (so /health can still report a store that is down). Outside Lambda nothing is built.
     */
    warm: (waitMs?: number) => buildDuringInit(app, waitMs),
  };
}
