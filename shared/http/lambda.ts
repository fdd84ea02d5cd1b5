// Lambda entry points for a feature app: a buffered REST proxy handler and, inside Lambda's
// Node runtime (where the `awslambda` global exists), a response-streaming handler.
import { Hono } from "hono";
import { handle, streamHandle } from "hono/aws-lambda";
import type { App } from "./app.ts";

/**
 * How long the init phase waits for the app. Lambda allows 10 s of init before it restarts the
 * environment; an app that is not ready by then keeps building while the first request waits for it.
 */
const INIT_WAIT_MS = 4_000;

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
     * Builds the app during Lambda's init phase (a handler module awaits this at top level): init runs
     * before the first request with a burst of CPU, and ahead of any request for provisioned
     * concurrency, so the first request finds the store open and the routes registered. A build that
     * fails or outlasts INIT_WAIT_MS is left to the first request, which waits for or retries it and
     * answers with the error (so /health can still report a store that is down). Outside Lambda
     * (tests, tools importing a handler module) nothing is built.
     */
    async warm(waitMs = INIT_WAIT_MS): Promise<void> {
      if (!process.env.AWS_LAMBDA_FUNCTION_NAME) return;
      // The first Request of a process loads the fetch implementation (~25 ms); Hono makes one per event.
      new Request("http://localhost/");
      createStreamReleaseErrors();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, waitMs);
      });
      await Promise.race([app().then(ignore, ignore), timeout]);
      clearTimeout(timer);
    },
  };
}

function ignore(): void {}

/**
 * Node creates the errors of a released web-stream reader or writer once per process and formats
 * their stack where that happens first: in a Lambda the openai SDK's stream of the first model
 * answer. Under --enable-source-maps (set on every function) formatting a stack with a frame of the
 * bundle parses its whole source map, ~350 ms of CPU and as much again in garbage collection on that
 * first answer. Created here without stack frames, they are reused and the map is never parsed for
 * them.
 */
function createStreamReleaseErrors(): void {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const reader = new ReadableStream().getReader();
    // A read pending at release is rejected with the second error ("Releasing reader").
    reader.read().catch(ignore);
    reader.releaseLock();
    new WritableStream().getWriter().releaseLock();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}
