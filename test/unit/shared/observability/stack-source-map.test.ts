import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BundleSourceMap, sourceMappedStack, withSourceMappedStack } from "#shared/observability/stack-source-map.ts";
import { cdkEsbuildOptions } from "../../../../bench/cold-start/bundle-options.ts";

const run = promisify(execFile);
const ENTRY = "test/unit/shared/observability/failing-bundle-entry.ts";

/** 1-based line of the first line of the entry's source containing `text`. */
async function entryLine(text: string): Promise<number> {
  const lines = (await readFile(ENTRY, "utf8")).split("\n");
  return lines.findIndex((line) => line.includes(text)) + 1;
}

let dir: string;
let bundle: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stack-map-"));
  bundle = join(dir, "index.mjs");
  // Built as the CDK builds a function: one minified ESM file with its map beside it, no sources content.
  await build(cdkEsbuildOptions(process.cwd(), ENTRY, bundle));
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a logged error in a minified bundle", () => {
  it("shows the sources' files and lines in its stack, its location and its cause", async () => {
    // Act
    const { stderr } = await run(process.execPath, [bundle], { env: { PATH: process.env.PATH ?? "" } });

    // Assess (Powertools writes ERROR lines to stderr)
    const line = JSON.parse(stderr.trim().split("\n").at(-1) ?? "{}") as {
      message?: string;
      error?: { stack?: string; location?: string; cause?: { stack?: string } };
    };
    expect(line.message).toBe("reading failed");
    const thrownAt = await entryLine('throw new Error("the lesson could not be read"');
    const causeAt = await entryLine("const cause = new RangeError");
    expect(line.error?.stack).toContain(`${ENTRY}:${thrownAt}:`);
    // Sources are named relative to the bundle's folder, less leading `../` (the project root for cdk.out/asset.*/).
    expect(line.error?.location?.endsWith(`${ENTRY}:${thrownAt}`)).toBe(true);
    expect(line.error?.cause?.stack).toContain(`${ENTRY}:${causeAt}:`);
    expect(line.error?.stack).not.toContain("index.mjs");
  });
});

describe("sourceMappedStack", () => {
  // Line 1 of a bundle is the CDK's banner, which maps to nothing; the code starts on line 2.
  it("rewrites frames of a file with a map beside it and leaves the others as they are", () => {
    // Arrange
    const stack = [
      "Error: boom",
      `    at f (file://${bundle}:2:10)`,
      "    at node:internal/process/task_queues:95:5",
      `    at ${join(dir, "elsewhere.mjs")}:3:4`,
    ].join("\n");

    // Act
    const mapped = sourceMappedStack(stack).split("\n");

    // Assess
    expect(mapped[0]).toBe("Error: boom");
    expect(mapped[1]).toMatch(/^ {4}at f \(\S*node_modules\/\S+\.js:\d+:\d+\)$/);
    expect(mapped[2]).toBe("    at node:internal/process/task_queues:95:5");
    expect(mapped[3]).toBe(`    at ${join(dir, "elsewhere.mjs")}:3:4`);
  });

  it("maps every cause of an error once, and keeps the stack of an error it cannot change", () => {
    // Arrange
    const cause = new Error("inner");
    cause.stack = `Error: inner\n    at g (file://${bundle}:2:20)`;
    const error = new Error("outer", { cause });
    error.stack = `Error: outer\n    at h (${bundle}:2:30)`;
    const frozen = Object.freeze(Object.assign(new Error("frozen"), {}));
    const frozenStack = frozen.stack;

    // Act
    withSourceMappedStack(error);
    withSourceMappedStack(frozen);

    // Assess
    expect(error.stack).toMatch(/at h \(\S*node_modules\/\S+\.js:\d+:\d+\)$/);
    expect(cause.stack).toMatch(/at g \(\S*node_modules\/\S+\.js:\d+:\d+\)$/);
    expect(frozen.stack).toBe(frozenStack);
  });
});

describe("BundleSourceMap", () => {
  it("resolves every position of a bundle as Node's own source map does", async () => {
    // Arrange
    const json = await readFile(`${bundle}.map`, "utf8");
    const code = (await readFile(bundle, "utf8")).split("\n");
    const ours = BundleSourceMap.parse(json);
    const node = new SourceMap(JSON.parse(json));
    let compared = 0;

    // Act / Assess
    for (let line = 0; line < code.length; line += 1) {
      const width = code[line]?.length ?? 0;
      for (let column = 0; column <= width; column += 7) {
        const expected = node.findEntry(line, column) as {
          generatedLine?: number;
          originalSource?: string;
          originalLine?: number;
          originalColumn?: number;
        };
        const position = ours.originalPosition(line, column);
        if (expected.originalSource === undefined || expected.generatedLine !== line) {
          expect(position).toBeUndefined();
          continue;
        }
        expect(position, `${line}:${column}`).toEqual({
          source: expect.stringMatching(/\S/),
          line: (expected.originalLine ?? 0) + 1,
          column: (expected.originalColumn ?? 0) + 1,
        });
        expect(expected.originalSource.endsWith(position?.source ?? "\0")).toBe(true);
        compared += 1;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it("answers undefined outside the mappings and refuses what is not a version 3 map", () => {
    // Arrange
    const map = BundleSourceMap.parse(JSON.stringify({ version: 3, sources: ["a.ts"], mappings: "AAAA;;CACC" }));

    // Act / Assess
    expect(map.originalPosition(0, 0)).toEqual({ source: "a.ts", line: 1, column: 1 });
    expect(map.originalPosition(1, 0)).toBeUndefined();
    expect(map.originalPosition(2, 5)).toEqual({ source: "a.ts", line: 2, column: 2 });
    expect(map.originalPosition(9, 0)).toBeUndefined();
    expect(map.originalPosition(-1, 0)).toBeUndefined();
    expect(() => BundleSourceMap.parse(JSON.stringify({ version: 2, sources: [], mappings: "" }))).toThrow(/version 3/);
    expect(() => BundleSourceMap.parse("[]")).toThrow();
  });

  it("stops at a malformed segment instead of reading garbage", () => {
    // Arrange
    const map = BundleSourceMap.parse(JSON.stringify({ version: 3, sources: ["a.ts"], mappings: "AAAA,C!AA;AACA" }));

    // Act / Assess
    expect(map.originalPosition(0, 0)).toEqual({ source: "a.ts", line: 1, column: 1 });
    expect(map.originalPosition(1, 0)).toEqual({ source: "a.ts", line: 2, column: 1 });
  });
});
