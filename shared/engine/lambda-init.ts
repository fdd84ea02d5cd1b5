// Work a Lambda does in its init phase, before the first event: Lambda runs init with a burst of
// CPU and, for provisioned concurrency, ahead of any request, so what is built here is not paid by
// the first caller.

/**
 * How long init waits for a function's composition. Lambda allows 10 s of init before it restarts
 * the environment; a composition not ready by then keeps building while the first event waits for it.
 */
const INIT_WAIT_MS = 4_000;

/**
 * Inside Lambda (AWS_LAMBDA_FUNCTION_NAME set), prepares the runtime and waits for `build` (at most
 * `waitMs`), never throwing: a failed build is the first event's to retry and report. Outside Lambda
 * (tests, tools importing an entry module) it does nothing.
 */
export async function buildDuringInit(build: () => Promise<unknown>, waitMs = INIT_WAIT_MS): Promise<void> {
  if (!process.env.AWS_LAMBDA_FUNCTION_NAME) return;
  // The first Request of a process loads the fetch implementation (~25 ms); Hono makes one per event.
  new Request("http://localhost/");
  createStreamReleaseErrors();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
  });
  await Promise.race([build().then(ignore, ignore), timeout]);
  clearTimeout(timer);
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
