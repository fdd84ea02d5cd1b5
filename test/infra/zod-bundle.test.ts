// The engine's own `z` (shared/validation/zod.ts) in a Lambda bundle: schemas built at module scope
// work even when the same bundle also loads zod through `import()` (the ingestion worker loads
// LangChain that way), where esbuild initialises zod's modules on demand. (That only the functions
// it uses are bundled is checked on the authorizer in bundles.test.ts.)
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdkEsbuildOptions } from "../../bench/cold-start/bundle-options.ts";
import { repoRoot } from "./support.ts";

const ENTRY = `
import { loadConfig } from "./shared/config/config.ts";
import { z } from "./shared/validation/zod.ts";
// Built at module scope, like config.ts's own schema.
const Card = z.object({ front: z.string().trim().min(1), back: z.string(), due: z.coerce.number().int() });
// Loaded on demand elsewhere in the bundle, as the worker loads LangChain.
const lazyZod = () => import("zod/v4");
const config = loadConfig({ RUNTIME: "local", JWT_SECRET_KEY: "a-secret-of-at-least-32-characters!!" });
const { z: lazy } = await lazyZod();
process.stdout.write(JSON.stringify({
  card: Card.safeParse({ front: " Osmosis ", back: "water across a membrane", due: "3" }),
  refused: Card.safeParse({ front: "", back: 1, due: "x" }).success,
  runtime: config.RUNTIME,
  lazy: lazy.string().parse("ok"),
}));
`;

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "collabry-zod-bundle-"));
  const options = cdkEsbuildOptions(repoRoot, "", join(work, "index.mjs"));
  delete options.entryPoints;
  await build({
    ...options,
    stdin: { contents: ENTRY, resolveDir: repoRoot, sourcefile: "zod-entry.ts", loader: "ts" },
  });
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("the engine's z in a bundle", () => {
  it("builds and validates schemas at module scope while zod is also loaded on demand", async () => {
    // Act
    const { stdout } = await promisify(execFile)(process.execPath, ["index.mjs"], {
      cwd: work,
      env: { PATH: process.env.PATH ?? "" },
      timeout: 30_000,
    });

    // Assess
    expect(JSON.parse(stdout)).toEqual({
      card: { success: true, data: { front: "Osmosis", back: "water across a membrane", due: 3 } },
      refused: false,
      runtime: "local",
      lazy: "ok",
    });
  });
});
