// Per-user rate limits by route class, kept in the document store so that every Lambda instance
// (and every local process on one DATA_DIR) counts against the same budget.
//
// Sliding window, Cloudflare-style: one counter per fixed one-minute window, and a request is let
// through when `previous × (share of the previous window still inside the last minute) + current`
// stays within the limit. Two small documents per user and class instead of a log of timestamps.
//
// - Counting is one atomic findOneAndUpdate (`$inc` with upsert) per request, so concurrent
//   requests each see a distinct count and never let more than the limit through together.
// - A rejected request gives its count back, so a client that keeps retrying does not push its own
//   Retry-After further out, and Retry-After is when a request would really pass again.
// - Counters expire through a TTL index two windows after their window starts.
// - If the store cannot be reached, the request is let through: the limiter protects the model
//   and the workers from one student, it must not turn a store hiccup into 429s for everyone.
import type { Context } from "hono";
import { QuotaExceededError } from "../http/errors.ts";
import type { DocumentStore, StoredDocument } from "../store/store.ts";
import type { RouteClass } from "./route-classes.ts";

export const RATE_LIMITS = "rate_limits";

const DEFAULT_WINDOW_MS = 60_000;

/** The outcome of one check; `retryAfterSeconds` is 0 when allowed. */
export interface RateLimitDecision {
  allowed: boolean;
  retryAfterSeconds: number;
}

export interface RateLimiter {
  /** Counts one request of the user in the class and says whether it may proceed. */
  check(userId: string, routeClass: RouteClass): Promise<RateLimitDecision>;
}

export interface RateLimiterOptions {
  /** Requests per window for each class; 0 disables the class. */
  limits: Record<RouteClass, number>;
  /** Window length; default one minute. */
  windowMs?: number;
  /** Clock in milliseconds (tests); default Date.now. */
  now?: () => number;
}

interface WindowCounter extends StoredDocument {
  user_id: string;
  class: RouteClass;
  window_start: Date;
  count: number;
  expires_at: Date;
}

/** Creates the TTL index that removes old window counters. */
export async function ensureRateLimitIndexes(store: DocumentStore): Promise<void> {
  await store.ensureIndexes(RATE_LIMITS, [{ keys: { expires_at: 1 }, name: "expires_at_ttl", expireAfterSeconds: 0 }]);
}

/** Creates a sliding-window limiter over the `rate_limits` collection. */
export function createRateLimiter(store: DocumentStore, options: RateLimiterOptions): RateLimiter {
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  const now = options.now ?? Date.now;
  // A counter's last increments may be lost to a power cut (a student gets a few more requests that
  // minute); waiting for a disk flush on every request would put one on the path of every answer.
  const counters = store.collection<WindowCounter>(RATE_LIMITS, { durability: "relaxed" });
  // The user id goes last: it is the only free-form part, so no two keys can collide.
  const keyOf = (userId: string, routeClass: RouteClass, window: number) => `${routeClass}:${window}:${userId}`;

  return {
    async check(userId, routeClass) {
      const limit = options.limits[routeClass];
      if (!(limit > 0)) return { allowed: true, retryAfterSeconds: 0 };
      const at = now();
      const window = Math.floor(at / windowMs);
      const elapsed = (at - window * windowMs) / windowMs;
      const currentKey = keyOf(userId, routeClass, window);
      const [current, previous] = await Promise.all([
        counters.findOneAndUpdate(
          { _id: currentKey },
          {
            $inc: { count: 1 },
            $setOnInsert: {
              user_id: userId,
              class: routeClass,
              window_start: new Date(window * windowMs),
              expires_at: new Date((window + 2) * windowMs),
            },
          },
          { upsert: true, returnDocument: "after" },
        ),
        counters.findOne({ _id: keyOf(userId, routeClass, window - 1) }),
      ]);
      const currentCount = current?.count ?? 1;
      const previousCount = previous?.count ?? 0;
      if (previousCount * (1 - elapsed) + currentCount <= limit) return { allowed: true, retryAfterSeconds: 0 };
      await counters.updateOne({ _id: currentKey }, { $inc: { count: -1 } });
      const waitMs = millisecondsUntilAllowed(limit, previousCount, currentCount - 1, elapsed, windowMs);
      // Rounded to the millisecond first: float noise must not add a whole second.
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Math.round(waitMs) / 1000)) };
    },
  };
}

/**
 * How long until one more request fits, if no other request arrives meanwhile. `others` is the
 * current window's count without this request; `elapsed` the share of the current window gone.
 */
export function millisecondsUntilAllowed(
  limit: number,
  previous: number,
  others: number,
  elapsed: number,
  windowMs: number,
): number {
  if (others + 1 <= limit) {
    // The previous window's weight has to fade until it leaves room for one request.
    if (previous <= 0) return 0;
    const share = 1 - (limit - others - 1) / previous;
    return Math.max(0, share - elapsed) * windowMs;
  }
  // The current window alone is full: wait for the next one, where it becomes the fading previous.
  const share = others <= 0 ? 0 : Math.max(0, 1 - (limit - 1) / others);
  return (1 - elapsed + share) * windowMs;
}

export interface RateLimitHooks {
  /** Called for every rejected request (metrics). */
  onLimited?: (routeClass: RouteClass) => void;
  /** Called when the store failed and the request was let through. */
  onError?: (error: unknown) => void;
}

/** Counts one request of the user in its route class; throws 429 when over the limit. */
export type RateLimitGate = (c: Context, userId: string) => Promise<void>;

/**
 * Counts the authenticated user's request in its route class and refuses it with 429 `{detail}` and
 * Retry-After when over the limit. A store failure lets the request through (`onError`).
 */
export function rateLimitGate(
  limiter: RateLimiter,
  classify: (method: string, path: string) => RouteClass,
  hooks: RateLimitHooks = {},
): RateLimitGate {
  return async (c, userId) => {
    const routeClass = classify(c.req.method, c.req.path);
    let decision: RateLimitDecision;
    try {
      decision = await limiter.check(userId, routeClass);
    } catch (error) {
      hooks.onError?.(error);
      return;
    }
    if (!decision.allowed) {
      hooks.onLimited?.(routeClass);
      throw new QuotaExceededError(
        `Too many ${routeClass} requests. Please wait ${decision.retryAfterSeconds} s and try again.`,
        decision.retryAfterSeconds,
      );
    }
  };
}
