// Daily token quotas per subscription tier. Days are UTC days: every student's allowance resets at
// 00:00 UTC, which is what the 429 message and its Retry-After promise.
import { QuotaExceededError } from "../http/errors.ts";

/** The tiers of the token's `tier` claim that have a quota of their own. */
export const SUBSCRIPTION_TIERS = ["free", "basic", "pro", "enterprise"] as const;
/** One of SUBSCRIPTION_TIERS. */
export type SubscriptionTier = (typeof SUBSCRIPTION_TIERS)[number];

/** Daily token allowance per tier; 0 means unlimited. */
export type QuotaLimits = Readonly<Record<SubscriptionTier, number>>;

/** The quota limits from the configuration's QUOTA_TOKENS_* variables. */
export function quotaLimitsFrom(config: {
  QUOTA_TOKENS_FREE: number;
  QUOTA_TOKENS_BASIC: number;
  QUOTA_TOKENS_PRO: number;
  QUOTA_TOKENS_ENTERPRISE: number;
}): QuotaLimits {
  return {
    free: config.QUOTA_TOKENS_FREE,
    basic: config.QUOTA_TOKENS_BASIC,
    pro: config.QUOTA_TOKENS_PRO,
    enterprise: config.QUOTA_TOKENS_ENTERPRISE,
  };
}

/** The tier a token claim names; an unknown tier gets the free allowance rather than an unlimited one. */
export function tierOf(claim: string | undefined): SubscriptionTier {
  const normalized = claim?.trim().toLowerCase();
  return SUBSCRIPTION_TIERS.find((tier) => tier === normalized) ?? "free";
}

/** The daily token limit of a tier (0 = unlimited). */
export function dailyTokenLimit(tier: string | undefined, limits: QuotaLimits): number {
  return limits[tierOf(tier)];
}

/** The UTC day of an instant, as `YYYY-MM-DD` (the `date` field of usage_logs and daily_stats). */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** Seconds from `now` to the next 00:00 UTC (at least 1). */
export function secondsUntilUtcMidnight(now: Date): number {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((midnight - now.getTime()) / 1000));
}

/** True when `used` tokens exhaust a limit (never for an unlimited one). */
export function isQuotaExhausted(used: number, limit: number): boolean {
  return limit > 0 && used >= limit;
}

/** The 429 a student gets once today's allowance is used up, with Retry-After until UTC midnight. */
export function quotaExceededError(used: number, limit: number, now: Date): QuotaExceededError {
  return new QuotaExceededError(
    `Daily AI quota reached (${used} of ${limit} tokens used). It resets at 00:00 UTC.`,
    secondsUntilUtcMidnight(now),
  );
}

/** Share of today's allowance used, in percent with two decimals (0 when unlimited). */
export function usagePercentage(used: number, limit: number): number {
  if (limit <= 0) return 0;
  return Math.round((used / limit) * 10_000) / 100;
}
