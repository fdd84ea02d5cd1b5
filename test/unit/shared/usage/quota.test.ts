import { describe, expect, it } from "vitest";
import {
  dailyTokenLimit,
  isQuotaExhausted,
  quotaExceededError,
  secondsUntilUtcMidnight,
  tierOf,
  usagePercentage,
  utcDay,
} from "#shared/usage/quota.ts";

const limits = { free: 50_000, basic: 200_000, pro: 1_000_000, enterprise: 0 };

describe("quota arithmetic", () => {
  it("counts Retry-After down to the next 00:00 UTC", () => {
    // Prepare
    const evening = new Date("2026-03-14T23:59:30.000Z");
    const morning = new Date("2026-03-14T00:00:00.000Z");
    const midday = new Date("2026-12-31T12:00:00.250Z");

    // Act
    const results = [evening, morning, midday].map(secondsUntilUtcMidnight);

    // Assess
    expect(results).toEqual([30, 86_400, 43_200]);
  });

  it("answers 429 with the contract's message and Retry-After until midnight", () => {
    // Prepare
    const now = new Date("2026-03-14T22:00:00.000Z");

    // Act
    const error = quotaExceededError(50_412, 50_000, now);

    // Assess
    expect(error.statusCode).toBe(429);
    expect(error.message).toBe("Daily AI quota reached (50412 of 50000 tokens used). It resets at 00:00 UTC.");
    expect(error.headers).toEqual({ "Retry-After": "7200" });
  });

  it("gives each tier its limit, unknown or missing tiers the free one, and 0 means unlimited", () => {
    // Act
    const pro = dailyTokenLimit("pro", limits);
    const shouting = dailyTokenLimit("BASIC", limits);
    const unknown = dailyTokenLimit("platinum", limits);
    const missing = dailyTokenLimit(undefined, limits);

    // Assess
    expect([pro, shouting, unknown, missing]).toEqual([1_000_000, 200_000, 50_000, 50_000]);
    expect(tierOf("enterprise")).toBe("enterprise");
    expect(isQuotaExhausted(10_000_000_000, limits.enterprise)).toBe(false);
    expect(isQuotaExhausted(50_000, limits.free)).toBe(true);
    expect(isQuotaExhausted(49_999, limits.free)).toBe(false);
  });

  it("reports the day and the share of the allowance used", () => {
    // Act
    const day = utcDay(new Date("2026-03-14T23:59:59.999Z"));

    // Assess
    expect(day).toBe("2026-03-14");
    expect(usagePercentage(12_345, 50_000)).toBe(24.69);
    expect(usagePercentage(5, 0)).toBe(0);
  });
});
