// Persistence of AI usage: one `usage_logs` document per AI request and one `daily_stats` document
// per user and UTC day (upsert + $inc), the collections the original engine used. Quota resets
// never delete history: they record how many of the day's tokens no longer count (see resetQuota).
import type { TokenUsage } from "../llm/chat-model.ts";
import { newObjectId } from "../store/ids.ts";
import { type DocumentStore, DuplicateKeyError, type StoredDocument } from "../store/store.ts";
import type { MeteredUsage } from "./meter.ts";
import type { AiOperation } from "./operations.ts";
import { utcDay } from "./quota.ts";

/** One document per AI request (the original engine's collection). */
export const USAGE_LOGS = "usage_logs";
/** One document per user and UTC day (the original engine's collection). */
export const DAILY_STATS = "daily_stats";
/** Audit trail of admin quota resets. */
export const QUOTA_RESETS = "quota_resets";

/** A `usage_logs` document. */
export interface UsageLogRecord extends StoredDocument {
  user_id: string;
  operation: string;
  tokens_in: number;
  tokens_out: number;
  total_tokens: number;
  response_time_ms: number;
  success: boolean;
  error?: string;
  model: string;
  /** True when the token counts are estimates (offline engine, endpoint without usage). */
  estimated: boolean;
  timestamp: Date;
  date: string;
  request_id?: string;
}

/** A `daily_stats` document. */
export interface DailyStatsRecord extends StoredDocument {
  user_id: string;
  date: string;
  operations: number;
  tokens: number;
  successful: number;
  failed: number;
  /** Operation type → count (added by this engine; absent on the original engine's documents). */
  operations_by_type?: Record<string, number>;
  response_time_ms_total?: number;
  /** Tokens of the day that an admin reset took off the quota (the stats keep counting them). */
  quota_reset_tokens?: number;
  /** The tier of the user's last request, for admin views that have no token of that user. */
  tier?: string;
  updated_at?: Date;
}

/** A `quota_resets` document. */
export interface QuotaResetRecord extends StoredDocument {
  user_id: string;
  date: string;
  tokens_cleared: number;
  reset_by: string;
  timestamp: Date;
}

/** One finished AI request, as the usage middleware reports it. */
export interface UsageEntry {
  /** Chosen by the caller so that usage arriving after recording can be added to the same log. */
  id: string;
  userId: string;
  tier: string;
  operation: AiOperation;
  usage: MeteredUsage;
  responseTimeMs: number;
  success: boolean;
  error?: string;
  requestId?: string;
  at: Date;
}

/** Indexes of the usage collections (one per query shape, each starting with user_id). */
export async function ensureUsageIndexes(store: DocumentStore): Promise<void> {
  await store.ensureIndexes(USAGE_LOGS, [{ keys: { user_id: 1, timestamp: -1 }, name: "user_id_1_timestamp_-1" }]);
  await store.ensureIndexes(DAILY_STATS, [{ keys: { user_id: 1, date: 1 }, name: "user_id_1_date_1", unique: true }]);
  await store.ensureIndexes(QUOTA_RESETS, [{ keys: { user_id: 1, timestamp: -1 }, name: "user_id_1_timestamp_-1" }]);
}

/** The usage persistence port over the document store. */
export type UsageLedger = ReturnType<typeof createUsageLedger>;

/** Reads and writes usage over the document store. */
export function createUsageLedger(store: DocumentStore, options: { now?: () => Date } = {}) {
  const logs = store.collection<UsageLogRecord>(USAGE_LOGS);
  const daily = store.collection<DailyStatsRecord>(DAILY_STATS);
  const resets = store.collection<QuotaResetRecord>(QUOTA_RESETS);
  const now = options.now ?? (() => new Date());

  // Two first requests of a day may race to insert the day's document; the loser's upsert hits the
  // unique index and simply updates the winner's document on retry.
  async function incrementDay(userId: string, date: string, update: Record<string, unknown>): Promise<void> {
    try {
      await daily.updateOne({ user_id: userId, date }, update, { upsert: true });
    } catch (error) {
      if (!(error instanceof DuplicateKeyError)) throw error;
      await daily.updateOne({ user_id: userId, date }, update, { upsert: true });
    }
  }

  return {
    /** Stores one AI request and adds it to the user's day. */
    async record(entry: UsageEntry): Promise<void> {
      const total = entry.usage.inputTokens + entry.usage.outputTokens;
      const date = utcDay(entry.at);
      await logs.insertOne({
        _id: entry.id,
        user_id: entry.userId,
        operation: entry.operation,
        tokens_in: entry.usage.inputTokens,
        tokens_out: entry.usage.outputTokens,
        total_tokens: total,
        response_time_ms: Math.round(entry.responseTimeMs),
        success: entry.success,
        ...(entry.error !== undefined ? { error: entry.error } : {}),
        model: entry.usage.models.join(",") || "none",
        estimated: entry.usage.estimated,
        timestamp: entry.at,
        date,
        ...(entry.requestId ? { request_id: entry.requestId } : {}),
      });
      await incrementDay(entry.userId, date, {
        $inc: {
          operations: 1,
          tokens: total,
          successful: entry.success ? 1 : 0,
          failed: entry.success ? 0 : 1,
          [`operations_by_type.${entry.operation}`]: 1,
          response_time_ms_total: Math.round(entry.responseTimeMs),
        },
        $set: { tier: entry.tier, updated_at: entry.at },
      });
    },

    /** Adds usage that arrived after its request was recorded to that request's log and day. */
    async chargeLate(entry: Pick<UsageEntry, "id" | "userId" | "at">, usage: TokenUsage): Promise<void> {
      const total = usage.inputTokens + usage.outputTokens;
      await logs.updateOne(
        { _id: entry.id },
        { $inc: { tokens_in: usage.inputTokens, tokens_out: usage.outputTokens, total_tokens: total } },
      );
      await incrementDay(entry.userId, utcDay(entry.at), { $inc: { tokens: total } });
    },

    /** Tokens of `date` that count toward the user's quota (the day's tokens minus any admin reset). */
    async tokensTowardQuota(userId: string, date: string): Promise<number> {
      const day = await daily.findOne({ user_id: userId, date });
      if (!day) return 0;
      return Math.max(0, numberOf(day.tokens) - numberOf(day.quota_reset_tokens));
    },

    /**
     * Gives a user today's full allowance back. The logs and the day's statistics stay as they are
     * (audit); the day's current token count is set aside as `quota_reset_tokens` and a
     * `quota_resets` document records who reset how much.
     */
    async resetQuota(userId: string, resetBy: string): Promise<{ date: string; tokens_cleared: number }> {
      const at = now();
      const date = utcDay(at);
      const day = await daily.findOne({ user_id: userId, date });
      const tokens = numberOf(day?.tokens);
      const cleared = Math.max(0, tokens - numberOf(day?.quota_reset_tokens));
      if (day) await daily.updateOne({ user_id: userId, date }, { $set: { quota_reset_tokens: tokens } });
      await resets.insertOne({
        _id: newObjectId(at),
        user_id: userId,
        date,
        tokens_cleared: cleared,
        reset_by: resetBy,
        timestamp: at,
      });
      return { date, tokens_cleared: cleared };
    },

    /** A user's logs since an instant, newest first. */
    logsOf(userId: string, since: Date): Promise<UsageLogRecord[]> {
      return logs.find({ user_id: userId, timestamp: { $gte: since } }, { sort: { timestamp: -1 } });
    },

    /** Every user's logs since an instant (admin views of the last hour; bounded by `limit`). */
    recentLogs(since: Date, limit: number): Promise<UsageLogRecord[]> {
      return logs.find({ timestamp: { $gte: since } }, { limit });
    },

    /** Daily statistics from `sinceDate` (YYYY-MM-DD) on, of one user or of everyone. */
    dailyStats(sinceDate: string, userId?: string): Promise<DailyStatsRecord[]> {
      return daily.find({ ...(userId !== undefined ? { user_id: userId } : {}), date: { $gte: sinceDate } });
    },

    /** The tier a user's most recent request was made with, if any. */
    async lastKnownTier(userId: string): Promise<string | undefined> {
      const [latest] = await daily.find({ user_id: userId }, { sort: { date: -1 }, limit: 1 });
      return typeof latest?.tier === "string" ? latest.tier : undefined;
    },
  };
}

/** Reads a counter defensively: documents written by the original engine may lack fields. */
export function numberOf(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}
