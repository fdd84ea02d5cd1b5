import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createRateLimiter,
  ensureRateLimitIndexes,
  millisecondsUntilAllowed,
  RATE_LIMITS,
} from "#shared/limits/rate-limit.ts";
import { openEmbeddedStore } from "#shared/store/embedded.ts";
import type { DocumentStore } from "#shared/store/store.ts";

const MINUTE = 60_000;
// A window boundary (so tests can place the clock at an exact share of a window), in the near future:
// the store's TTL sweep runs on the real clock and would delete counters dated in the past.
const T0 = (Math.floor(Date.now() / MINUTE) + 10) * MINUTE;

let dir: string;
let store: DocumentStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "collabry-limits-"));
  store = await openEmbeddedStore({ dir });
  await ensureRateLimitIndexes(store);
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function limits(chat: number) {
  return { chat, generate: 10, upload: 10, read: 240 };
}

describe("createRateLimiter", () => {
  it("lets the limit through in a window, rejects the next with Retry-After until the next window", async () => {
    // Prepare
    let now = T0 + 15_000;
    const limiter = createRateLimiter(store, { limits: limits(3), now: () => now });

    // Act
    const allowed = [
      await limiter.check("alice", "chat"),
      await limiter.check("alice", "chat"),
      await limiter.check("alice", "chat"),
    ];
    const fourth = await limiter.check("alice", "chat");
    now = T0 + MINUTE + 1;
    // 3 requests in the previous window weigh 3 × (1 − 1/60000) ≈ 3: still full just after the boundary.
    const justAfterBoundary = await limiter.check("alice", "chat");
    now = T0 + MINUTE + 20_001;
    const aThirdIntoNextWindow = await limiter.check("alice", "chat");

    // Assess
    expect(allowed.every((decision) => decision.allowed)).toBe(true);
    expect(fourth).toEqual({ allowed: false, retryAfterSeconds: 65 });
    expect(justAfterBoundary.allowed).toBe(false);
    expect(aThirdIntoNextWindow).toEqual({ allowed: true, retryAfterSeconds: 0 });
  });

  it("weighs the previous window by the share of it still inside the last minute", async () => {
    // Prepare
    let now = T0 + 50_000;
    const limiter = createRateLimiter(store, { limits: limits(10), now: () => now });
    for (let i = 0; i < 10; i++) await limiter.check("alice", "chat");

    // Act: half-way through the next window, the previous 10 count as 5.
    now = T0 + MINUTE + 30_000;
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push(await limiter.check("alice", "chat"));

    // Assess
    expect(decisions.map((decision) => decision.allowed)).toEqual([true, true, true, true, true, false]);
    // 5 in the current window: one more fits once 10 × (1 − f) ≤ 4, i.e. at f = 0.6, 6 s from now.
    expect(decisions[5]?.retryAfterSeconds).toBe(6);
  });

  it("never lets more than the limit through when 50 requests arrive at once", async () => {
    // Prepare
    const limiter = createRateLimiter(store, { limits: limits(10), now: () => T0 + 1_000 });

    // Act
    const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.check("alice", "chat")));

    // Assess
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(10);
    const stored = await store.collection(RATE_LIMITS).find({ user_id: "alice" });
    expect(stored.map((doc) => doc.count)).toEqual([10]);
  });

  it("shares one budget between two processes on the same store", async () => {
    // Prepare
    const other = await openEmbeddedStore({ dir });
    const clock = () => T0 + 1_000;
    const first = createRateLimiter(store, { limits: limits(10), now: clock });
    const second = createRateLimiter(other, { limits: limits(10), now: clock });

    // Act
    const decisions = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? first : second).check("alice", "chat")),
    );
    await other.close();

    // Assess
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(10);
  });

  it("keeps users and classes apart, and a limit of 0 disables its class", async () => {
    // Prepare
    const limiter = createRateLimiter(store, {
      limits: { chat: 1, generate: 0, upload: 1, read: 1 },
      now: () => T0,
    });
    await limiter.check("alice", "chat");

    // Act
    const aliceChat = await limiter.check("alice", "chat");
    const aliceRead = await limiter.check("alice", "read");
    const bobChat = await limiter.check("bob", "chat");
    const unlimited = await Promise.all(Array.from({ length: 20 }, () => limiter.check("alice", "generate")));

    // Assess
    expect(aliceChat.allowed).toBe(false);
    expect(aliceRead.allowed).toBe(true);
    expect(bobChat.allowed).toBe(true);
    expect(unlimited.every((decision) => decision.allowed)).toBe(true);
  });

  it("gives a rejected request's count back, so retrying does not push Retry-After out", async () => {
    // Prepare
    const limiter = createRateLimiter(store, { limits: limits(2), now: () => T0 + 30_000 });
    await limiter.check("alice", "chat");
    await limiter.check("alice", "chat");

    // Act
    const rejections = [];
    for (let i = 0; i < 5; i++) rejections.push(await limiter.check("alice", "chat"));

    // Assess
    expect(new Set(rejections.map((decision) => decision.retryAfterSeconds))).toEqual(new Set([60]));
    const stored = await store.collection(RATE_LIMITS).find({ user_id: "alice" });
    expect(stored.map((doc) => doc.count)).toEqual([2]);
  });

  it("stores counters that expire two windows after their window starts", async () => {
    // Prepare
    const limiter = createRateLimiter(store, { limits: limits(5), now: () => T0 + 42_000 });

    // Act
    await limiter.check("alice", "chat");
    const [counter] = await store.collection(RATE_LIMITS).find({ user_id: "alice" });

    // Assess
    expect(counter).toMatchObject({ class: "chat", count: 1, window_start: new Date(T0) });
    expect(counter?.expires_at).toEqual(new Date(T0 + 2 * MINUTE));
  });
});

describe("millisecondsUntilAllowed", () => {
  it("waits for the previous window to fade when the current one still has room", () => {
    // Act
    const wait = millisecondsUntilAllowed(10, 10, 4, 0.25, MINUTE);

    // Assess: needs 10 × (1 − f) ≤ 5 → f ≥ 0.5, a quarter of a window from now.
    expect(wait).toBe(15_000);
  });

  it("waits into the next window when the current one alone is full", () => {
    // Act
    const wait = millisecondsUntilAllowed(4, 0, 4, 0.5, MINUTE);

    // Assess: next window, 4 × (1 − f) ≤ 3 → f ≥ 0.25: half a window + a quarter.
    expect(wait).toBe(45_000);
  });
});
