// Aggregation of stored usage into the contract's shapes. Pure functions over records, so the
// arithmetic is tested without a store; fields are read defensively because documents written by
// the original engine may lack some of them.
import { type DailyStatsRecord, numberOf, type UsageLogRecord } from "./ledger.ts";
import { usagePercentage, utcDay } from "./quota.ts";

/** The contract's "Usage stats" shape. */
export interface UsageStats {
  user_id: string;
  period_days: number;
  total_operations: number;
  successful_operations: number;
  failed_operations: number;
  total_tokens: number;
  avg_response_time_ms: number;
  success_rate: number;
  operations_by_type: Record<string, number>;
  daily_usage: Record<string, { operations: number; tokens: number }>;
  most_recent_activity: string | null;
  subscription_limit: number;
  usage_percentage: number;
}

/** What a user's report needs beside the logs. */
export interface UserUsageContext {
  userId: string;
  days: number;
  now: Date;
  /** Daily token limit of the user's tier (0 = unlimited). */
  limit: number;
  /** Tokens of today that count toward the quota. */
  usedToday: number;
}

const DAY_MS = 24 * 3600 * 1000;

/** The first instant of a period of `days` UTC days ending today. */
export function periodStart(now: Date, days: number): Date {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(today - (days - 1) * DAY_MS);
}

function emptyDays(now: Date, days: number): Record<string, { operations: number; tokens: number }> {
  const start = periodStart(now, days).getTime();
  const daily: Record<string, { operations: number; tokens: number }> = {};
  for (let index = 0; index < days; index += 1)
    daily[utcDay(new Date(start + index * DAY_MS))] = { operations: 0, tokens: 0 };
  return daily;
}

function percent(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 10_000) / 100;
}

function timestampOf(record: UsageLogRecord): Date | undefined {
  const value: unknown = record.timestamp;
  const date = value instanceof Date ? value : typeof value === "string" ? new Date(value) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

function tokensOf(record: UsageLogRecord): number {
  if (typeof record.total_tokens === "number") return numberOf(record.total_tokens);
  return numberOf(record.tokens_in) + numberOf(record.tokens_out);
}

/** One user's statistics over the period, in the contract's shape. */
export function summarizeUserUsage(logs: readonly UsageLogRecord[], context: UserUsageContext): UsageStats {
  const dailyUsage = emptyDays(context.now, context.days);
  const byType: Record<string, number> = {};
  let successful = 0;
  let tokens = 0;
  let responseTime = 0;
  let latest: Date | undefined;
  for (const record of logs) {
    const at = timestampOf(record);
    const recordTokens = tokensOf(record);
    if (record.success !== false) successful += 1;
    tokens += recordTokens;
    responseTime += numberOf(record.response_time_ms);
    const operation = typeof record.operation === "string" ? record.operation : "unknown";
    byType[operation] = (byType[operation] ?? 0) + 1;
    const day = at ? utcDay(at) : typeof record.date === "string" ? record.date : undefined;
    const bucket = day === undefined ? undefined : dailyUsage[day];
    if (bucket) {
      bucket.operations += 1;
      bucket.tokens += recordTokens;
    }
    if (at && (!latest || at > latest)) latest = at;
  }
  const total = logs.length;
  return {
    user_id: context.userId,
    period_days: context.days,
    total_operations: total,
    successful_operations: successful,
    failed_operations: total - successful,
    total_tokens: tokens,
    avg_response_time_ms: total === 0 ? 0 : Math.round((responseTime / total) * 10) / 10,
    success_rate: percent(successful, total),
    operations_by_type: byType,
    daily_usage: dailyUsage,
    most_recent_activity: latest ? latest.toISOString() : null,
    subscription_limit: context.limit,
    usage_percentage: usagePercentage(context.usedToday, context.limit),
  };
}

/** Usage across every user over a period (admin). */
export interface GlobalUsage {
  period_days: number;
  total_users: number;
  total_operations: number;
  successful_operations: number;
  failed_operations: number;
  total_tokens: number;
  avg_response_time_ms: number;
  success_rate: number;
  top_users: Array<{ user_id: string; operations: number; tokens: number }>;
  operations_by_type: Record<string, number>;
  daily_usage: Record<string, { operations: number; tokens: number; active_users: number }>;
}

/** Totals, top users (by tokens), operations by type and daily usage from daily statistics. */
export function summarizeGlobalUsage(
  days: readonly DailyStatsRecord[],
  context: { days: number; now: Date; topUsers: number },
): GlobalUsage {
  const daily: GlobalUsage["daily_usage"] = {};
  for (const [day, usage] of Object.entries(emptyDays(context.now, context.days))) {
    daily[day] = { ...usage, active_users: 0 };
  }
  const users = new Map<string, { operations: number; tokens: number }>();
  const byType: Record<string, number> = {};
  let operations = 0;
  let successful = 0;
  let failed = 0;
  let tokens = 0;
  let responseTime = 0;
  for (const day of days) {
    const dayOperations = numberOf(day.operations);
    const dayTokens = numberOf(day.tokens);
    operations += dayOperations;
    successful += numberOf(day.successful);
    failed += numberOf(day.failed);
    tokens += dayTokens;
    responseTime += numberOf(day.response_time_ms_total);
    const user = users.get(day.user_id) ?? { operations: 0, tokens: 0 };
    user.operations += dayOperations;
    user.tokens += dayTokens;
    users.set(day.user_id, user);
    for (const [operation, count] of Object.entries(day.operations_by_type ?? {})) {
      byType[operation] = (byType[operation] ?? 0) + numberOf(count);
    }
    const bucket = daily[day.date];
    if (bucket) {
      bucket.operations += dayOperations;
      bucket.tokens += dayTokens;
      bucket.active_users += 1;
    }
  }
  const topUsers = [...users.entries()]
    .map(([user_id, usage]) => ({ user_id, ...usage }))
    .sort((a, b) => b.tokens - a.tokens || b.operations - a.operations || a.user_id.localeCompare(b.user_id))
    .slice(0, context.topUsers);
  return {
    period_days: context.days,
    total_users: users.size,
    total_operations: operations,
    successful_operations: successful,
    failed_operations: failed,
    total_tokens: tokens,
    avg_response_time_ms: operations === 0 ? 0 : Math.round((responseTime / operations) * 10) / 10,
    success_rate: percent(successful, operations),
    top_users: topUsers,
    operations_by_type: byType,
    daily_usage: daily,
  };
}

interface WindowUsage {
  operations: number;
  tokens: number;
  failed: number;
  active_users: number;
}

/** Activity of the last minutes (admin). */
export interface RealtimeUsage {
  timestamp: string;
  last_5_minutes: WindowUsage;
  last_hour: WindowUsage;
  /** Users with an AI request in the last 5 minutes. */
  active_users: number;
  /** Failed share of the last hour's requests, in percent. */
  error_rate: number;
}

function windowOf(logs: readonly UsageLogRecord[], since: Date): WindowUsage {
  const inWindow = logs.filter((record) => {
    const at = timestampOf(record);
    return at !== undefined && at >= since;
  });
  return {
    operations: inWindow.length,
    tokens: inWindow.reduce((sum, record) => sum + tokensOf(record), 0),
    failed: inWindow.filter((record) => record.success === false).length,
    active_users: new Set(inWindow.map((record) => record.user_id)).size,
  };
}

/** Operations, tokens, active users and error rate of the last 5 minutes and the last hour. */
export function summarizeRealtimeUsage(lastHourLogs: readonly UsageLogRecord[], now: Date): RealtimeUsage {
  const lastFive = windowOf(lastHourLogs, new Date(now.getTime() - 5 * 60 * 1000));
  const lastHour = windowOf(lastHourLogs, new Date(now.getTime() - 3600 * 1000));
  return {
    timestamp: now.toISOString(),
    last_5_minutes: lastFive,
    last_hour: lastHour,
    active_users: lastFive.active_users,
    error_rate: percent(lastHour.failed, lastHour.operations),
  };
}
