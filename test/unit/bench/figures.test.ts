import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { figure, figuresTable } from "../../../bench/figures.ts";
import { readFigures, renderReport } from "../../../bench/run.ts";
import { percentile, percentiles, seededRandom } from "../../../bench/stats.ts";

describe("figure", () => {
  it("computes the ratio to the baseline and the verdict against a lower-is-better target", () => {
    const item = figure({
      id: "retrieval.100k.p95_ms",
      label: "retrieval p95, 100k chunks",
      unit: "ms",
      value: 12,
      better: "lower",
      baseline: { label: "plain TypeScript scan", value: 80 },
      target: { op: "<=", value: 30 },
    });
    expect(item.ratio).toBe(0.15);
    expect(item.pass).toBe(true);
    expect(item.baseline).toEqual({ label: "plain TypeScript scan", value: 80 });
  });

  it("misses a higher-is-better target below it and has no ratio without a usable baseline", () => {
    const item = figure({
      id: "quality.recall_at_5",
      label: "recall@5",
      unit: "",
      value: 0.8,
      better: "higher",
      baseline: { label: "vector only", value: 0 },
      target: { op: ">=", value: 0.85 },
    });
    expect(item.pass).toBe(false);
    expect(item.ratio).toBeNull();
  });

  it("leaves the verdict open when the value could not be measured", () => {
    const item = figure({
      id: "x",
      label: "x",
      unit: "ms",
      value: undefined,
      better: "lower",
      target: { op: "<=", value: 1 },
    });
    expect(item.value).toBeNull();
    expect(item.pass).toBeNull();
  });
});

describe("figuresTable", () => {
  it("renders one row per figure with value, baseline, ratio, target and verdict", () => {
    const table = figuresTable([
      figure({
        id: "a",
        label: "init, chat",
        unit: "ms",
        value: 412.345,
        better: "lower",
        baseline: { label: "empty handler", value: 41.2 },
        target: { op: "<=", value: 300 },
      }),
    ]);
    const row = table.trim().split("\n")[2];
    expect(row).toBe("| init, chat | 412 ms | 41.2 ms (empty handler) | ×10 | <= 300 ms | **miss** |");
  });
});

describe("bench/run", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("reads the figures of a result file and refuses a file without them", async () => {
    dir = await mkdtemp(join(tmpdir(), "bench-run-"));
    const good = join(dir, "good.json");
    const bad = join(dir, "bad.json");
    const item = figure({ id: "a", label: "a", unit: "ms", value: 1, better: "lower" });
    await writeFile(good, JSON.stringify({ figures: [item] }));
    await writeFile(bad, JSON.stringify({ benchmark: "old format" }));
    await expect(readFigures(good)).resolves.toEqual([item]);
    await expect(readFigures(bad)).rejects.toThrow(/no "figures" array/);
  });

  it("reports failed benchmarks and gathers missed targets at the end", () => {
    const missed = figure({
      id: "chat.overhead.c100.p95_ms",
      label: "chat overhead p95, 100 streams",
      unit: "ms",
      value: 80,
      better: "lower",
      target: { op: "<=", value: 50 },
      note: "two cores shared with the load generator",
    });
    const report = renderReport(
      [
        { name: "chat", title: "Chat", ok: true, seconds: 60, figures: [missed] },
        { name: "rag", title: "RAG", ok: false, seconds: 3, figures: [], error: "exit 1: boom" },
      ],
      {
        generated_at: "now",
        cpus: 2,
        cpu_model: "cpu",
        node: "v20",
        load_average_1m_at_start: 1,
        load_average_1m_at_end: 2,
        total_s: 63,
      },
    );
    expect(report).toContain("Failed: exit 1: boom");
    expect(report).toContain("- chat overhead p95, 100 streams: 80 ms — two cores shared with the load generator");
  });
});

describe("stats", () => {
  it("gives nearest-rank percentiles", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 95)).toBe(95);
    expect(percentiles(values)).toMatchObject({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    expect(percentiles([])).toMatchObject({ count: 0, p50: null });
  });

  it("repeats the same sequence for the same seed", () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
  });
});
