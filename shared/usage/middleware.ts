// The usage gate in front of every AI route (classified by ./operations.ts): refuses the request
// with 429 once the caller's daily quota is used up, meters the model calls the route makes, and
// records the request when its response is complete — after the handler for JSON, at the end of
// the body for event streams (which outlive the handler).
import type { MiddlewareHandler } from "hono";
import { type AuthenticatedUser, bearerToken, type TokenVerifier } from "../auth/jwt.ts";
import type { AppContext, AppEnv } from "../http/app.ts";
import type { StreamObserver } from "../http/sse.ts";
import type { ChatModel } from "../llm/chat-model.ts";
import type { Logger } from "../observability/logger.ts";
import { newObjectId } from "../store/ids.ts";
import type { QuotaStanding, UsageLedger } from "./ledger.ts";
import { meteredModel, UsageMeter } from "./meter.ts";
import { classifyAiOperation } from "./operations.ts";
import { dailyTokenLimit, isQuotaExhausted, type QuotaLimits, quotaExceededError, utcDay } from "./quota.ts";

/** What the usage gate needs: the ledger, the tier limits and the token verifier. */
export interface UsageGateDeps {
  ledger: UsageLedger;
  limits: QuotaLimits;
  verifyToken: TokenVerifier;
  logger: Logger;
  now?: () => Date;
}

/** Longest error text a usage record keeps (a JSON `detail` or a stream's first `error` event). */
const ERROR_TEXT_MAX = 300;
/** Tokens reserved for a user's first request of the day, before there is a mean to go by. */
const FIRST_REQUEST_TOKENS = 1_000;

/** How an AI request ended, as far as its response shows. */
interface Outcome {
  /** No error status and no `event: error` frame. */
  success: boolean;
  error?: string;
  /** The client went away before the end of the stream. */
  abandoned: boolean;
}

// This gate runs before the route's own requireAccess, so it reads the caller from the token
// itself; a missing or invalid token passes through and requireAccess answers 401 as usual.
async function callerOf(c: AppContext, verifyToken: TokenVerifier): Promise<AuthenticatedUser | undefined> {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) return undefined;
  try {
    return await verifyToken(token);
  } catch {
    return undefined;
  }
}

async function jsonErrorOf(response: Response): Promise<string> {
  try {
    const body = (await response.clone().json()) as { detail?: unknown };
    if (typeof body.detail === "string") return body.detail.slice(0, ERROR_TEXT_MAX);
  } catch {
    // Not JSON: the status says enough.
  }
  return `HTTP ${response.status}`;
}

/** Middleware gating, metering and recording the AI routes; every other route passes straight through. */
export function usageMiddleware(deps: UsageGateDeps): MiddlewareHandler<AppEnv> {
  const now = deps.now ?? (() => new Date());

  /**
   * Refuses the request when the day's tokens, with those reserved by the user's requests still
   * running, reach the limit; otherwise reserves this request's expected tokens (the day's mean per
   * request) and returns the function that gives them back. Between the read and the reservation
   * nothing awaits, so N parallel requests cannot all pass on the same reading.
   */
  async function enforceQuota(user: AuthenticatedUser, at: Date): Promise<(() => void) | undefined> {
    const limit = dailyTokenLimit(user.tier, deps.limits);
    if (limit === 0) return undefined;
    const date = utcDay(at);
    let standing: QuotaStanding;
    try {
      standing = await deps.ledger.quotaStanding(user.userId, date);
    } catch (error) {
      // Fail open: a usage store hiccup must not take every AI feature down with it.
      deps.logger.warn("quota check failed", { error: error instanceof Error ? error.name : "unknown" });
      return undefined;
    }
    const inFlight = deps.ledger.reservedTokens(user.userId, date);
    if (isQuotaExhausted(standing.tokens + inFlight, limit)) throw quotaExceededError(standing.tokens, limit, at);
    const expected = standing.averageTokensPerOperation > 0 ? standing.averageTokensPerOperation : FIRST_REQUEST_TOKENS;
    return deps.ledger.reserve(user.userId, date, Math.ceil(expected));
  }

  /**
   * The quota check and the rate limit (which `requireAccess` would count next) together: with
   * MongoDB each is a round trip to the store, and the route waits for one instead of two. If either
   * refuses the request, the other's count or reservation is given back or harmless: a rate-limit
   * count stands (the request was made), a quota reservation is released.
   */
  async function admit(c: AppContext, user: AuthenticatedUser): Promise<(() => void) | undefined> {
    const rateLimit = c.get("rateLimit");
    const quota = enforceQuota(user, now());
    if (!rateLimit) return quota;
    try {
      const [release] = await Promise.all([quota, rateLimit(c, user.userId)]);
      c.set("rateLimitCounted", true);
      return release;
    } catch (error) {
      quota.then(
        (release) => release?.(),
        () => undefined,
      );
      throw error;
    }
  }

  return async (c, next) => {
    const operation = classifyAiOperation(c.req.method, c.req.path);
    if (!operation) return next();
    const user = await callerOf(c, deps.verifyToken);
    if (!user) return next();
    const release = (await admit(c, user)) ?? (() => undefined);

    const meter = new UsageMeter();
    const started = performance.now();
    const id = newObjectId();
    const logger = c.get("logger") ?? deps.logger;

    const finish = async (outcome: Outcome, status: number): Promise<void> => {
      try {
        await recordOutcome(outcome, status);
      } finally {
        // The real usage is recorded (or the request used none): the reservation has done its job.
        release();
      }
    };
    const recordOutcome = async (outcome: Outcome, status: number): Promise<void> => {
      // A stream the client left keeps generating (the reply is stored); charge what it used.
      if (outcome.abandoned) await meter.whenIdle();
      const at = now();
      let recorded: Promise<void> = Promise.resolve();
      const usage = meter.seal((late) => {
        // After the log is written, so the late tokens land on it.
        recorded = recorded
          .then(() => deps.ledger.chargeLate({ id, userId: user.userId, at }, late))
          .catch((error: unknown) =>
            logger.warn("late usage not recorded", { error: error instanceof Error ? error.name : "unknown" }),
          );
      });
      // Client errors before any model call (validation, unknown session) are not AI operations.
      if (status >= 400 && status < 500 && usage.calls === 0) return;
      // A stream the client left counts as successful unless its generation failed.
      const modelFailed = outcome.abandoned && usage.failedCalls > 0;
      const success = outcome.success && !modelFailed;
      const error = outcome.error ?? (modelFailed ? "generation failed after the client disconnected" : undefined);
      const record = deps.ledger
        .record({
          id,
          userId: user.userId,
          tier: user.tier,
          operation,
          usage,
          responseTimeMs: performance.now() - started,
          success,
          ...(error !== undefined ? { error } : {}),
          requestId: c.get("requestId"),
          at,
        })
        .catch((error: unknown) =>
          logger.warn("usage not recorded", { error: error instanceof Error ? error.name : "unknown" }),
        );
      recorded = recorded.then(() => record);
      await record;
    };

    // An event stream outlives the handler: sseResponse (the only way routes build one) claims this
    // observer and reports how the stream ended, before its body closes.
    let finished = false;
    const finishOnce = async (outcome: Outcome, status: number): Promise<void> => {
      if (finished) return;
      finished = true;
      await finish(outcome, status);
    };
    const observer: StreamObserver = {
      claimed: false,
      end: ({ error, abandoned }) =>
        finishOnce(
          {
            success: error === undefined,
            abandoned,
            ...(error === undefined ? {} : { error: error.slice(0, ERROR_TEXT_MAX) }),
          },
          200,
        ),
    };
    c.set("streamObserver", observer);

    c.set("usageMeter", meter);
    try {
      await next();
    } catch (error) {
      release();
      throw error;
    }

    const response = c.res;
    if (observer.claimed && response.status < 400) return;
    const success = response.status < 400;
    await finishOnce(
      { success, abandoned: false, ...(success ? {} : { error: await jsonErrorOf(response) }) },
      response.status,
    );
  };
}

/**
 * The chat model an AI route calls: `model` charging this request's usage meter, which the usage
 * gate opens for every operation of ./operations.ts. Every model call of a route goes through it;
 * without a meter (a route that is not an AI operation) it is `model` itself. The usage tests call
 * each operation of that table and check the tokens charged against those the model reported.
 */
export function requestModel(c: AppContext, model: ChatModel): ChatModel {
  return meteredModel(model, c.get("usageMeter"));
}

/** This request's usage meter as an optional field (`{}` outside an AI operation), for the copilot's turns. */
export function usageMeterOf(c: AppContext): { meter?: UsageMeter } {
  const meter = c.get("usageMeter");
  return meter ? { meter } : {};
}
