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
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
  });
  await Promise.race([build().then(ignore, ignore), timeout]);
  clearTimeout(timer);
}

function ignore(): void {}
