// Usage reports and admin actions, transport-free: the usage feature's handlers call these.
import type { UsageLedger } from "./ledger.ts";
import { dailyTokenLimit, type QuotaLimits, utcDay } from "./quota.ts";
import {
  type GlobalUsage,
  periodStart,
  type RealtimeUsage,
  summarizeGlobalUsage,
  summarizeRealtimeUsage,
  summarizeUserUsage,
  type UsageStats,
} from "./stats.ts";

/** What the usage reports read from. */
export interface UsageReportsDeps {
  ledger: UsageLedger;
  limits: QuotaLimits;
  now?: () => Date;
}

const TOP_USERS = 10;
/** Bound on the logs one realtime report reads (an hour of a busy deployment). */
const REALTIME_MAX_LOGS = 50_000;

/** The usage reports of the usage feature. */
export type UsageReports = ReturnType<typeof createUsageReports>;

/** Builds the usage reports over a ledger. */
export function createUsageReports(deps: UsageReportsDeps) {
  const now = deps.now ?? (() => new Date());
  return {
    /** One user's statistics; the tier is the token's for the caller, the last one seen for others. */
    async userStats(userId: string, days: number, tier?: string): Promise<UsageStats> {
      const at = now();
      const knownTier = tier ?? (await deps.ledger.lastKnownTier(userId));
      const [logs, usedToday] = await Promise.all([
        deps.ledger.logsOf(userId, periodStart(at, days)),
        deps.ledger.tokensTowardQuota(userId, utcDay(at)),
      ]);
      return summarizeUserUsage(logs, {
        userId,
        days,
        now: at,
        limit: dailyTokenLimit(knownTier, deps.limits),
        usedToday,
      });
    },

    /** Every user's usage over the period (admin). */
    async globalStats(days: number): Promise<GlobalUsage> {
      const at = now();
      const stats = await deps.ledger.dailyStats(utcDay(periodStart(at, days)));
      return summarizeGlobalUsage(stats, { days, now: at, topUsers: TOP_USERS });
    },

    /** The last five minutes and the last hour (admin). */
    async realtime(): Promise<RealtimeUsage> {
      const at = now();
      const logs = await deps.ledger.recentLogs(new Date(at.getTime() - 3600 * 1000), REALTIME_MAX_LOGS);
      return summarizeRealtimeUsage(logs, at);
    },

    /** Restores a user's daily allowance (admin); the history is kept. */
    resetQuota(userId: string, resetBy: string) {
      return deps.ledger.resetQuota(userId, resetBy);
    },
  };
}
