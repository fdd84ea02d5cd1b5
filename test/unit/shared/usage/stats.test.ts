import { describe, expect, it } from "vitest";
import type { DailyStatsRecord, UsageLogRecord } from "#shared/usage/ledger.ts";
import { summarizeGlobalUsage, summarizeRealtimeUsage, summarizeUserUsage } from "#shared/usage/stats.ts";

const now = new Date("2026-03-14T12:00:00.000Z");

function log(overrides: Partial<UsageLogRecord> & { timestamp: Date }): UsageLogRecord {
  return {
    _id: `log-${overrides.timestamp.getTime()}-${Math.random()}`,
    user_id: "alice",
    operation: "chat",
    tokens_in: 100,
    tokens_out: 20,
    total_tokens: 120,
    response_time_ms: 400,
    success: true,
    model: "stub-model",
    estimated: false,
    date: overrides.timestamp.toISOString().slice(0, 10),
    ...overrides,
  };
}

describe("summarizeUserUsage", () => {
  it("aggregates a user's logs into the contract's usage stats", () => {
    // Prepare
    const logs = [
      log({ timestamp: new Date("2026-03-14T11:00:00.000Z") }),
      log({
        timestamp: new Date("2026-03-14T09:00:00.000Z"),
        operation: "qa",
        total_tokens: 300,
        response_time_ms: 800,
      }),
      log({ timestamp: new Date("2026-03-12T09:00:00.000Z"), success: false, total_tokens: 0, response_time_ms: 0 }),
    ];

    // Act
    const stats = summarizeUserUsage(logs, { userId: "alice", days: 3, now, limit: 50_000, usedToday: 420 });

    // Assess
    expect(stats).toEqual({
      user_id: "alice",
      period_days: 3,
      total_operations: 3,
      successful_operations: 2,
      failed_operations: 1,
      total_tokens: 420,
      avg_response_time_ms: 400,
      success_rate: 66.67,
      operations_by_type: { chat: 2, qa: 1 },
      daily_usage: {
        "2026-03-12": { operations: 1, tokens: 0 },
        "2026-03-13": { operations: 0, tokens: 0 },
        "2026-03-14": { operations: 2, tokens: 420 },
      },
      most_recent_activity: "2026-03-14T11:00:00.000Z",
      subscription_limit: 50_000,
      usage_percentage: 0.84,
    });
  });

  it("reports an idle user with zeros and no activity", () => {
    // Act
    const stats = summarizeUserUsage([], { userId: "bob", days: 1, now, limit: 0, usedToday: 0 });

    // Assess
    expect(stats).toMatchObject({
      total_operations: 0,
      success_rate: 0,
      avg_response_time_ms: 0,
      daily_usage: { "2026-03-14": { operations: 0, tokens: 0 } },
      most_recent_activity: null,
      usage_percentage: 0,
    });
  });
});

describe("summarizeGlobalUsage", () => {
  it("totals every user's days and ranks the top users by tokens", () => {
    // Prepare
    const day = (user: string, date: string, operations: number, tokens: number): DailyStatsRecord => ({
      _id: `${user}-${date}`,
      user_id: user,
      date,
      operations,
      tokens,
      successful: operations - 1,
      failed: 1,
      operations_by_type: { chat: operations - 1, quiz: 1 },
      response_time_ms_total: operations * 100,
    });
    const days = [
      day("alice", "2026-03-14", 4, 1_000),
      day("bob", "2026-03-14", 2, 5_000),
      day("alice", "2026-03-13", 2, 10),
    ];

    // Act
    const global = summarizeGlobalUsage(days, { days: 2, now, topUsers: 1 });

    // Assess
    expect(global).toEqual({
      period_days: 2,
      total_users: 2,
      total_operations: 8,
      successful_operations: 5,
      failed_operations: 3,
      total_tokens: 6_010,
      avg_response_time_ms: 100,
      success_rate: 62.5,
      top_users: [{ user_id: "bob", operations: 2, tokens: 5_000 }],
      operations_by_type: { chat: 5, quiz: 3 },
      daily_usage: {
        "2026-03-13": { operations: 2, tokens: 10, active_users: 1 },
        "2026-03-14": { operations: 6, tokens: 6_000, active_users: 2 },
      },
    });
  });
});

describe("summarizeRealtimeUsage", () => {
  it("splits the last hour into the last five minutes and the hour, with the error rate", () => {
    // Prepare
    const logs = [
      log({ timestamp: new Date(now.getTime() - 60_000) }),
      log({ timestamp: new Date(now.getTime() - 120_000), user_id: "bob", success: false, total_tokens: 0 }),
      log({ timestamp: new Date(now.getTime() - 30 * 60_000), user_id: "carol" }),
      log({ timestamp: new Date(now.getTime() - 50 * 60_000), user_id: "carol" }),
    ];

    // Act
    const realtime = summarizeRealtimeUsage(logs, now);

    // Assess
    expect(realtime).toEqual({
      timestamp: now.toISOString(),
      last_5_minutes: { operations: 2, tokens: 120, failed: 1, active_users: 2 },
      last_hour: { operations: 4, tokens: 360, failed: 1, active_users: 3 },
      active_users: 2,
      error_rate: 25,
    });
  });
});
