// Persistence of AI usage: one `usage_logs` document per AI request and one `daily_stats` document
// per user and UTC day (upsert + $inc), the collections the original engine used. Quota resets
// never delete history: they record how many of the day's tokens no longer count (see resetQuota).
//
// Write-behind (the long-running local runtime; `flushIntervalMs` > 0): usage is metering, not the
// student's data, and writing it costs two commits per AI request. So requests are kept in memory
// and written on a short timer (and by `flush`/`close` at shutdown), with one upsert per user and
// day however many requests it had. Quota checks read the stored day plus what is still in memory.
// A failed write stays in memory and is retried on the next tick, with a warning. What a crash of
// the process can lose is the usage of the last interval; a graceful stop loses nothing. A Lambda
// (frozen after its response) writes through instead: `flushIntervalMs` 0, the default.
import type { TokenUsage } from "../llm/chat-model.ts";
import type { Logger } from "../observability/logger.ts";
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

/** Indexes of the usage collections: one per query shape (per user, and the admin views across users). */
export async function ensureUsageIndexes(store: DocumentStore): Promise<void> {
  await store.ensureIndexes(USAGE_LOGS, [
    { keys: { user_id: 1, timestamp: -1 }, name: "user_id_1_timestamp_-1" },
    // The realtime view reads every user's logs of the last hour.
    { keys: { timestamp: -1 }, name: "timestamp_-1" },
  ]);
  await store.ensureIndexes(DAILY_STATS, [
    { keys: { user_id: 1, date: 1 }, name: "user_id_1_date_1", unique: true },
    // The global view reads every user's days of a period.
    { keys: { date: 1 }, name: "date_1" },
  ]);
  await store.ensureIndexes(QUOTA_RESETS, [{ keys: { user_id: 1, timestamp: -1 }, name: "user_id_1_timestamp_-1" }]);
}

/** The usage persistence port over the document store. */
export type UsageLedger = ReturnType<typeof createUsageLedger>;

export interface UsageLedgerOptions {
  now?: () => Date;
  /** Write-behind period; 0 (default) writes every request before `record` resolves. */
  flushIntervalMs?: number;
  /** Where failed write-behind flushes are reported. */
  logger?: Logger;
}

/** Increments of one user's day waiting to be written. */
interface PendingDay {
  userId: string;
  date: string;
  inc: Record<string, number>;
  set: { tier?: string; updated_at?: Date };
}

/** A user's standing toward today's quota. */
export interface QuotaStanding {
  /** Tokens counting toward the quota (stored and not yet written, minus an admin reset). */
  tokens: number;
  /** Mean tokens of the day's requests (0 before the first one). */
  averageTokensPerOperation: number;
}

function addInto(target: Record<string, number>, increments: Record<string, number>): void {
  for (const [field, value] of Object.entries(increments)) target[field] = (target[field] ?? 0) + value;
}

/** Reads and writes usage over the document store. */
export function createUsageLedger(store: DocumentStore, options: UsageLedgerOptions = {}) {
  const logs = store.collection<UsageLogRecord>(USAGE_LOGS);
  const daily = store.collection<DailyStatsRecord>(DAILY_STATS);
  const resets = store.collection<QuotaResetRecord>(QUOTA_RESETS);
  const now = options.now ?? (() => new Date());
  const interval = options.flushIntervalMs ?? 0;

  // Write-behind state: logs not yet inserted, token charges for logs already handed to the store,
  // day increments; `inFlight` holds the day increments a running flush is writing (still counted).
  const pendingLogs = new Map<string, UsageLogRecord>();
  const lateCharges = new Map<string, { userId: string; date: string; tokensIn: number; tokensOut: number }>();
  let pendingDays = new Map<string, PendingDay>();
  let inFlightDays = new Map<string, PendingDay>();
  let flushing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  // Tokens reserved by requests still running, per user and day (see reserve).
  const reserved = new Map<string, number>();
  const dayKey = (userId: string, date: string) => `${date}|${userId}`;

  function addDay(days: Map<string, PendingDay>, day: PendingDay): void {
    const key = dayKey(day.userId, day.date);
    const known = days.get(key);
    if (!known) {
      days.set(key, { ...day, inc: { ...day.inc }, set: { ...day.set } });
      return;
    }
    addInto(known.inc, day.inc);
    if (day.set.tier !== undefined) known.set.tier = day.set.tier;
    if (day.set.updated_at !== undefined && (known.set.updated_at ?? day.set.updated_at) <= day.set.updated_at) {
      known.set.updated_at = day.set.updated_at;
    }
  }

  function pendingTokens(userId: string, date: string): { tokens: number; operations: number } {
    let tokens = 0;
    let operations = 0;
    for (const days of [pendingDays, inFlightDays]) {
      const day = days.get(dayKey(userId, date));
      tokens += day?.inc.tokens ?? 0;
      operations += day?.inc.operations ?? 0;
    }
    return { tokens, operations };
  }

  function schedule(): void {
    if (timer !== undefined || interval <= 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      // A failure is logged and its usage kept for the next tick by flushOnce itself.
      flush().catch(() => undefined);
    }, interval);
    // Pending usage alone must not keep a process alive; close() writes it.
    timer.unref();
  }

  function updateOf(day: PendingDay): Record<string, unknown> {
    const set: Record<string, unknown> = {};
    if (day.set.tier !== undefined) set.tier = day.set.tier;
    if (day.set.updated_at !== undefined) set.updated_at = day.set.updated_at;
    return { $inc: day.inc, ...(Object.keys(set).length > 0 ? { $set: set } : {}) };
  }

  async function flushOnce(): Promise<void> {
    const batchLogs = [...pendingLogs.values()];
    pendingLogs.clear();
    // Charges of logs handed to the store by an earlier flush (flushes never overlap, so those
    // inserts have settled); a charge of a log still pending was added to the log itself.
    const charges = [...lateCharges.entries()];
    lateCharges.clear();
    inFlightDays = pendingDays;
    pendingDays = new Map();
    const days = [...inFlightDays.values()];
    // Every write is issued before any is awaited: the embedded store commits each at the call, so
    // a reader sees a request's log and its day together.
    const [inserted, charged, dayOutcomes] = await Promise.all([
      Promise.allSettled(batchLogs.map((log) => logs.insertOne(log))),
      Promise.allSettled(
        charges.map(([id, charge]) =>
          logs.updateOne(
            { _id: id },
            {
              $inc: {
                tokens_in: charge.tokensIn,
                tokens_out: charge.tokensOut,
                total_tokens: charge.tokensIn + charge.tokensOut,
              },
            },
          ),
        ),
      ),
      Promise.allSettled(days.map((day) => incrementDay(day.userId, day.date, updateOf(day)))),
    ]);
    const failures: unknown[] = [];
    inserted.forEach((outcome, index) => {
      const log = batchLogs[index];
      // A duplicate is a log a previous, failed flush did write after all.
      if (outcome.status === "fulfilled" || outcome.reason instanceof DuplicateKeyError || !log) return;
      failures.push(outcome.reason);
      // Back in memory; charges arriving meanwhile were kept apart and are folded in.
      const charge = lateCharges.get(log._id);
      if (charge) {
        log.tokens_in += charge.tokensIn;
        log.tokens_out += charge.tokensOut;
        log.total_tokens += charge.tokensIn + charge.tokensOut;
        lateCharges.delete(log._id);
      }
      pendingLogs.set(log._id, log);
    });
    charged.forEach((outcome, index) => {
      const entry = charges[index];
      if (outcome.status === "fulfilled" || !entry) return;
      failures.push(outcome.reason);
      const [id, charge] = entry;
      const known = lateCharges.get(id);
      lateCharges.set(id, {
        ...charge,
        tokensIn: charge.tokensIn + (known?.tokensIn ?? 0),
        tokensOut: charge.tokensOut + (known?.tokensOut ?? 0),
      });
    });
    dayOutcomes.forEach((outcome, index) => {
      const day = days[index];
      if (outcome.status === "fulfilled" || !day) return;
      failures.push(outcome.reason);
      addDay(pendingDays, day);
    });
    inFlightDays = new Map();
    if (failures.length > 0) {
      const first = failures[0];
      options.logger?.warn("usage flush failed; kept for the next attempt", {
        failed_writes: failures.length,
        error: first instanceof Error ? first.name : "unknown",
      });
      schedule();
      throw first instanceof Error ? first : new Error("usage flush failed");
    }
  }

  /** Today's tokens toward the quota and the mean tokens of one request, stored and pending alike. */
  async function quotaStanding(userId: string, date: string): Promise<QuotaStanding> {
    const day = await daily.findOne({ user_id: userId, date });
    const pending = pendingTokens(userId, date);
    const tokens = numberOf(day?.tokens) + pending.tokens;
    const operations = numberOf(day?.operations) + pending.operations;
    return {
      tokens: Math.max(0, tokens - numberOf(day?.quota_reset_tokens)),
      averageTokensPerOperation: operations > 0 ? tokens / operations : 0,
    };
  }

  /** Reports read what has been recorded: pending usage is written first (a failed write leaves it pending). */
  const written = () => flush().catch(() => undefined);

  /** Writes everything recorded so far; rejects (keeping it for a retry) when a write fails. */
  async function flush(): Promise<void> {
    while (flushing) await flushing.catch(() => undefined);
    if (pendingLogs.size === 0 && lateCharges.size === 0 && pendingDays.size === 0) return;
    flushing = flushOnce().finally(() => {
      flushing = undefined;
    });
    await flushing;
  }

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
    /** Stores one AI request and adds it to the user's day (in memory until the next flush when writing behind). */
    async record(entry: UsageEntry): Promise<void> {
      const total = entry.usage.inputTokens + entry.usage.outputTokens;
      const date = utcDay(entry.at);
      const log: UsageLogRecord = {
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
      };
      const day: PendingDay = {
        userId: entry.userId,
        date,
        inc: {
          operations: 1,
          tokens: total,
          successful: entry.success ? 1 : 0,
          failed: entry.success ? 0 : 1,
          [`operations_by_type.${entry.operation}`]: 1,
          response_time_ms_total: Math.round(entry.responseTimeMs),
        },
        set: { tier: entry.tier, updated_at: entry.at },
      };
      if (interval <= 0) {
        // Issued together: with MongoDB each is a round trip that the response waits for.
        await Promise.all([logs.insertOne(log), incrementDay(entry.userId, date, updateOf(day))]);
        return;
      }
      pendingLogs.set(log._id, log);
      addDay(pendingDays, day);
      schedule();
    },

    /** Adds usage that arrived after its request was recorded to that request's log and day. */
    async chargeLate(entry: Pick<UsageEntry, "id" | "userId" | "at">, usage: TokenUsage): Promise<void> {
      const total = usage.inputTokens + usage.outputTokens;
      const date = utcDay(entry.at);
      if (interval <= 0) {
        await Promise.all([
          logs.updateOne(
            { _id: entry.id },
            { $inc: { tokens_in: usage.inputTokens, tokens_out: usage.outputTokens, total_tokens: total } },
          ),
          incrementDay(entry.userId, date, { $inc: { tokens: total } }),
        ]);
        return;
      }
      const log = pendingLogs.get(entry.id);
      if (log) {
        log.tokens_in += usage.inputTokens;
        log.tokens_out += usage.outputTokens;
        log.total_tokens += total;
      } else {
        const known = lateCharges.get(entry.id);
        lateCharges.set(entry.id, {
          userId: entry.userId,
          date,
          tokensIn: usage.inputTokens + (known?.tokensIn ?? 0),
          tokensOut: usage.outputTokens + (known?.tokensOut ?? 0),
        });
      }
      addDay(pendingDays, { userId: entry.userId, date, inc: { tokens: total }, set: {} });
      schedule();
    },

    /** Tokens of `date` that count toward the user's quota (the day's tokens minus any admin reset). */
    async tokensTowardQuota(userId: string, date: string): Promise<number> {
      return (await quotaStanding(userId, date)).tokens;
    },

    quotaStanding,

    /** Tokens that running requests of the user have reserved for `date`. */
    reservedTokens(userId: string, date: string): number {
      return reserved.get(dayKey(userId, date)) ?? 0;
    },

    /**
     * Sets `tokens` aside for a request that passed the quota check, so that requests running
     * alongside it count them; the returned function gives them back once the request's real
     * usage is recorded. Per process: concurrent Lambdas each see only their own reservations.
     */
    reserve(userId: string, date: string, tokens: number): () => void {
      const key = dayKey(userId, date);
      reserved.set(key, (reserved.get(key) ?? 0) + tokens);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (reserved.get(key) ?? 0) - tokens;
        if (left > 0) reserved.set(key, left);
        else reserved.delete(key);
      };
    },

    flush,

    /** Writes what is still in memory and stops the timer (graceful shutdown). */
    async close(): Promise<void> {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await flush();
    },

    /**
     * Gives a user today's full allowance back. The logs and the day's statistics stay as they are
     * (audit); the day's current token count is set aside as `quota_reset_tokens` and a
     * `quota_resets` document records who reset how much.
     */
    async resetQuota(userId: string, resetBy: string): Promise<{ date: string; tokens_cleared: number }> {
      const at = now();
      const date = utcDay(at);
      // Usage still in memory belongs to the day being reset: written first, so the reset covers it.
      await flush();
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
    async logsOf(userId: string, since: Date): Promise<UsageLogRecord[]> {
      await written();
      return logs.find({ user_id: userId, timestamp: { $gte: since } }, { sort: { timestamp: -1 } });
    },

    /** Every user's logs since an instant (admin views of the last hour; bounded by `limit`). */
    async recentLogs(since: Date, limit: number): Promise<UsageLogRecord[]> {
      await written();
      return logs.find({ timestamp: { $gte: since } }, { limit });
    },

    /** Daily statistics from `sinceDate` (YYYY-MM-DD) on, of one user or of everyone. */
    async dailyStats(sinceDate: string, userId?: string): Promise<DailyStatsRecord[]> {
      await written();
      return daily.find({ ...(userId !== undefined ? { user_id: userId } : {}), date: { $gte: sinceDate } });
    },

    /** The tier a user's most recent request was made with, if any. */
    async lastKnownTier(userId: string): Promise<string | undefined> {
      await written();
      const [latest] = await daily.find({ user_id: userId }, { sort: { date: -1 }, limit: 1 });
      return typeof latest?.tier === "string" ? latest.tier : undefined;
    },
  };
}

/** Reads a counter defensively: documents written by the original engine may lack fields. */
export function numberOf(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}
