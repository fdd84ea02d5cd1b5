// Lambda entry points for a feature app: a buffered REST proxy handler and, inside Lambda's
// Node runtime (where the `awslambda` global exists), a response-streaming handler.
import { Hono } from "hono";
import { handle, streamHandle } from "hono/aws-lambda";
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
  };
}
