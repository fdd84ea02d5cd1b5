import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, expect, it } from "vitest";
import { cdkEsbuildOptions } from "../../../../bench/cold-start/bundle-options.ts";

const run = promisify(execFile);
let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// Logs and `error.name` checks read these names; a Lambda bundle is minified, which renames classes.
it("keeps every exported error class's name in a minified bundle", async () => {
  // Prepare
  dir = await mkdtemp(join(tmpdir(), "error-names-"));
  const outfile = join(dir, "index.mjs");
  // Built as the CDK builds a function (minified); the store's native addon stays outside, as in the bench.
  await build(
    cdkEsbuildOptions(process.cwd(), "test/unit/shared/http/error-names-entry.ts", outfile, ["better-sqlite3"]),
  );

  // Act
  const { stdout } = await run(process.execPath, [outfile], { cwd: process.cwd() });
  const names = JSON.parse(stdout) as Record<string, string>;

  // Assess
  expect(Object.keys(names).length).toBeGreaterThanOrEqual(20);
  for (const [exported, name] of Object.entries(names)) expect(name, exported).toBe(exported);
}, 60_000);
