import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type AppEnv, requireAccess } from "#shared/http/app.ts";
import { toErrorResponse } from "#shared/http/errors.ts";
import { createRateLimiter, rateLimitGate } from "#shared/limits/rate-limit.ts";
import { classifyRoute } from "#shared/limits/route-classes.ts";
import { createLogger } from "#shared/observability/logger.ts";
import { openEmbeddedStore } from "#shared/store/embedded.ts";
import { newObjectId } from "#shared/store/ids.ts";
import type { CollectionOptions, DocumentStore } from "#shared/store/store.ts";
import {
  createUsageLedger,
  DAILY_STATS,
  ensureUsageIndexes,
  USAGE_LOGS,
  type UsageEntry,
} from "#shared/usage/ledger.ts";
import { usageMiddleware } from "#shared/usage/middleware.ts";

let dir: string;
let store: DocumentStore;
const at = new Date("2026-03-14T10:00:00.000Z");
const DAY = "2026-03-14";

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "collabry-usage-behind-"));
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
    responseTimeMs: 800,
    success: true,
    at,
    ...overrides,
  };
}

async function until(condition: () => Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function silentLogger() {
  return createLogger({ service: "test", level: "SILENT" });
}

describe("usage ledger writing behind", () => {
  it("keeps usage in memory, counts it toward the quota, and writes it on the timer as one upsert per day", async () => {
    // Prepare
    const ledger = createUsageLedger(store, { now: () => at, flushIntervalMs: 30, logger: silentLogger() });

    // Act
    await ledger.record(entry());
    await ledger.record(entry({ id: newObjectId(at) }));
    const storedAtOnce = await store.collection(USAGE_LOGS).countDocuments({ user_id: "alice" });
    const standing = await ledger.quotaStanding("alice", DAY);
    await until(async () => (await store.collection(DAILY_STATS).countDocuments({ user_id: "alice" })) === 1);

    // Assess
    expect(storedAtOnce).toBe(0);
    expect(standing).toEqual({ tokens: 690, averageTokensPerOperation: 345 });
    const day = await store.collection(DAILY_STATS).findOne({ user_id: "alice", date: DAY });
    expect(day).toMatchObject({ operations: 2, tokens: 690, successful: 2, operations_by_type: { chat: 2 } });
    expect(await store.collection(USAGE_LOGS).countDocuments({ user_id: "alice" })).toBe(2);
    await ledger.close();
  });

  it("writes everything still in memory on close, late charges included", async () => {
    // Prepare
    const ledger = createUsageLedger(store, { now: () => at, flushIntervalMs: 60_000, logger: silentLogger() });
    const first = entry();

    // Act
    await ledger.record(first);
    await ledger.chargeLate(first, { inputTokens: 0, outputTokens: 10 });
    await ledger.close();

    // Assess
    const log = await store.collection(USAGE_LOGS).findOne({ _id: first.id });
    expect(log).toMatchObject({ tokens_out: 55, total_tokens: 355 });
    const day = await store.collection(DAILY_STATS).findOne({ user_id: "alice", date: DAY });
    expect(day).toMatchObject({ operations: 1, tokens: 355 });
  });

  it("keeps a failed flush for the next tick, logs it, and loses nothing", async () => {
    // Prepare
    const logger = silentLogger();
    const warn = vi.spyOn(logger, "warn");
    let failuresLeft = 1;
    const flaky: DocumentStore = {
      ...store,
      collection: ((name: string, options?: CollectionOptions) => {
        const collection = store.collection(name, options);
        if (name !== DAILY_STATS) return collection;
        return {
          ...collection,
          updateOne: async (...args: Parameters<typeof collection.updateOne>) => {
            if (failuresLeft > 0) {
              failuresLeft -= 1;
              throw new Error("store unavailable");
            }
            return collection.updateOne(...args);
          },
        } as typeof collection;
      }) as DocumentStore["collection"],
    };
    const ledger = createUsageLedger(flaky, { now: () => at, flushIntervalMs: 20, logger });

    // Act
    await ledger.record(entry());
    await until(async () => warn.mock.calls.length > 0);
    const standingAfterFailure = await ledger.quotaStanding("alice", DAY);
    await until(async () => (await store.collection(DAILY_STATS).countDocuments({ user_id: "alice" })) === 1);

    // Assess
    expect(warn).toHaveBeenCalledWith(
      "usage flush failed; kept for the next attempt",
      expect.objectContaining({ failed_writes: 1 }),
    );
    expect(standingAfterFailure.tokens).toBe(345);
    const day = await store.collection(DAILY_STATS).findOne({ user_id: "alice", date: DAY });
    expect(day).toMatchObject({ operations: 1, tokens: 345 });
    expect(await store.collection(USAGE_LOGS).countDocuments({ user_id: "alice" })).toBe(1);
    await ledger.close();
  });
});

describe("quota reservation", () => {
  it("lets only as many parallel requests through as the remaining allowance covers", async () => {
    // Prepare: 700 of 1,000 tokens used, by requests of 345 tokens on average
    const ledger = createUsageLedger(store, { now: () => at, flushIntervalMs: 50, logger: silentLogger() });
    await ledger.record(entry({ usage: { ...entry().usage, inputTokens: 650, outputTokens: 50 } }));
    let releaseHandlers: () => void = () => undefined;
    const handlersMayFinish = new Promise<void>((resolve) => {
      releaseHandlers = resolve;
    });
    const app = new Hono<AppEnv>();
    app.use(
      "*",
      usageMiddleware({
        ledger,
        limits: { free: 1_000, basic: 0, pro: 0, enterprise: 0 },
        verifyToken: async () => ({ userId: "alice", tier: "free", isAdmin: false, role: "student" }),
        logger: silentLogger(),
        now: () => at,
      }),
    );
    app.post("/ai/chat", async (c) => {
      await handlersMayFinish;
      return c.json({ response: "ok" }, 200);
    });
    app.onError((error, c) => {
      const response = toErrorResponse(error, "test");
      return c.json(response.body, response.status as 429);
    });

    // Act
    const requests = Array.from({ length: 5 }, () =>
      app.request("/ai/chat", { method: "POST", headers: { authorization: "Bearer t" } }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    releaseHandlers();
    const statuses = (await Promise.all(requests)).map((response) => response.status).sort();

    // Assess: the first passes on 700 used; the second sees 700 + its 700-token reservation
    expect(statuses).toEqual([200, 429, 429, 429, 429]);
    expect(ledger.reservedTokens("alice", DAY)).toBe(0);
    await ledger.close();
  });

  it("counts the rate limit once, together with the quota check, and gives the reservation back when it refuses", async () => {
    // Prepare: a limit of 2 chats a minute; the quota has room
    const ledger = createUsageLedger(store, { now: () => at, flushIntervalMs: 50, logger: silentLogger() });
    const verifyToken = async () => ({ userId: "alice", tier: "free" as const, isAdmin: false, role: "student" });
    const limiter = createRateLimiter(store, {
      limits: { chat: 2, generate: 0, upload: 0, read: 0 },
      now: () => at.getTime(),
    });
    const app = new Hono<AppEnv>();
    app.use("*", (c, next) => {
      c.set("rateLimit", rateLimitGate(limiter, classifyRoute));
      return next();
    });
    app.use(
      "*",
      usageMiddleware({
        ledger,
        limits: { free: 1_000, basic: 0, pro: 0, enterprise: 0 },
        verifyToken,
        logger: silentLogger(),
      }),
    );
    app.post("/ai/chat", requireAccess("user", verifyToken), (c) => c.json({ response: "ok" }, 200));
    app.onError((error, c) => {
      const response = toErrorResponse(error, "test");
      return c.json(response.body, response.status as 429);
    });

    // Act
    const statuses: number[] = [];
    for (let index = 0; index < 3; index += 1) {
      statuses.push((await app.request("/ai/chat", { method: "POST", headers: { authorization: "Bearer t" } })).status);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));

    // Assess
    expect(statuses).toEqual([200, 200, 429]);
    expect(ledger.reservedTokens("alice", DAY)).toBe(0);
    await ledger.close();
  });
});
