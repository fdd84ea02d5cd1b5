import { describe, expect, it } from "vitest";
import { onDemand } from "#shared/on-demand.ts";

describe("onDemand", () => {
  it("loads once and hands the same module to every later call", async () => {
    let loads = 0;
    const load = onDemand(async () => {
      loads += 1;
      return { value: loads };
    });

    const [first, second] = await Promise.all([load(), load()]);
    const third = await load();

    expect(loads).toBe(1);
    expect(first).toBe(second);
    expect(third).toBe(first);
  });

  it("tries again after a failed load instead of keeping the failure", async () => {
    let attempts = 0;
    const load = onDemand(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error("module not installed");
      return "parser";
    });

    await expect(load()).rejects.toThrow("module not installed");
    await expect(load()).resolves.toBe("parser");
    expect(attempts).toBe(2);
  });
});
