import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openEmbeddedStore } from "#shared/store/embedded.ts";
import { newObjectId } from "#shared/store/ids.ts";
import type { DocumentStore } from "#shared/store/store.ts";
import {
  createUsageLedger,
  DAILY_STATS,
  ensureUsageIndexes,
  QUOTA_RESETS,
  USAGE_LOGS,
  type UsageEntry,
} from "#shared/usage/ledger.ts";
import { sequentialRoundTrips, timedStore } from "#test/support/timed-store.ts";

let dir: string;
let store: DocumentStore;
const at = new Date("2026-03-14T10:00:00.000Z");

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "collabry-usage-"));
  store = await openEmbeddedStore({ dir });
  await ensureUsageIndexes(store);
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function entry(overrides: Partial<UsageEntry> = {}): UsageEntry {
  return {
    id: newObjectId(at),
    userId: "alice",
    tier: "free",
    operation: "chat",
    usage: { inputTokens: 300, outputTokens: 45, estimated: false, models: ["stub-model"], calls: 1, failedCalls: 0 },
    responseTimeMs: 812.4,
    success: true,
    at,
    ...overrides,
  };
}

describe("usage ledger", () => {
  it("writes a request's log and its day together, one store round trip that the response waits for", async () => {
    // Prepare
    const timed = timedStore(store, 5);
    const ledger = createUsageLedger(timed.store, { now: () => at });
    const recorded = entry();
    const from = performance.now();

    // Act
    await ledger.record(recorded);
    await ledger.chargeLate({ id: recorded.id, userId: "alice", at }, { inputTokens: 0, outputTokens: 5 });

    // Assess
    expect(sequentialRoundTrips(timed.operations, from, performance.now())).toEqual([
      ["daily_stats.updateOne", "usage_logs.insertOne"],
      ["daily_stats.updateOne", "usage_logs.updateOne"],
    ]);
    expect(await store.collection(DAILY_STATS).findOne({ user_id: "alice" })).toMatchObject({
      operations: 1,
      tokens: 350,
    });
  });

  it("stores a usage log and adds the request to the user's day", async () => {
    // Prepare
    const ledger = createUsageLedger(store, { now: () => at });

    // Act
    await ledger.record(entry());
    await ledger.record(entry({ id: newObjectId(at), operation: "quiz", success: false, error: "The model failed" }));

    // Assess
    const logs = await store.collection(USAGE_LOGS).find({ user_id: "alice" }, { sort: { timestamp: 1 } });
    expect(logs[0]).toMatchObject({
      user_id: "alice",
      operation: "chat",
      tokens_in: 300,
      tokens_out: 45,
      total_tokens: 345,
      response_time_ms: 812,
      success: true,
      model: "stub-model",
      estimated: false,
      date: "2026-03-14",
    });
    expect(logs[1]).toMatchObject({ operation: "quiz", success: false, error: "The model failed" });
    const days = await store.collection(DAILY_STATS).find({ user_id: "alice" });
    expect(days).toHaveLength(1);
    expect(days[0]).toMatchObject({
      date: "2026-03-14",
      operations: 2,
      tokens: 690,
      successful: 1,
      failed: 1,
      operations_by_type: { chat: 1, quiz: 1 },
      tier: "free",
    });
    expect(await ledger.tokensTowardQuota("alice", "2026-03-14")).toBe(690);
  });

  it("adds usage that arrived after recording to the same log and day", async () => {
    // Prepare
    const ledger = createUsageLedger(store, { now: () => at });
    const first = entry();
    await ledger.record(first);

    // Act
    await ledger.chargeLate(first, { inputTokens: 10, outputTokens: 5 });

    // Assess
    const log = await store.collection(USAGE_LOGS).findOne({ _id: first.id });
    expect(log).toMatchObject({ tokens_in: 310, tokens_out: 50, total_tokens: 360 });
    expect(await ledger.tokensTowardQuota("alice", "2026-03-14")).toBe(360);
  });

  it("resets the quota without deleting history, and audits who did it", async () => {
    // Prepare
    const ledger = createUsageLedger(store, { now: () => at });
    await ledger.record(entry());

    // Act
    const reset = await ledger.resetQuota("alice", "admin-1");
    await ledger.record(entry({ id: newObjectId(at) }));

    // Assess
    expect(reset).toEqual({ date: "2026-03-14", tokens_cleared: 345 });
    expect(await ledger.tokensTowardQuota("alice", "2026-03-14")).toBe(345);
    expect(await store.collection(USAGE_LOGS).countDocuments({ user_id: "alice" })).toBe(2);
    expect(await store.collection(DAILY_STATS).findOne({ user_id: "alice" })).toMatchObject({ tokens: 690 });
    expect(await store.collection(QUOTA_RESETS).findOne({ user_id: "alice" })).toMatchObject({
      reset_by: "admin-1",
      tokens_cleared: 345,
      date: "2026-03-14",
    });
  });
});
