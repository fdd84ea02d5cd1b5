// The Lambda bundles get zod through BUNDLE_ALIASES (shared/validation/zod-bundled): zod with English
// as its only locale, standing for the one zod installed. Checked three ways: each module there
// exports what zod's entry point of the same name exports (the same values; `locales` holding
// English only), so a zod upgrade that changes its exports fails here rather than in a deployed
// function; a bundle built with the CDK's esbuild settings behaves as zod itself does
// (zod-usage.ts, run both ways). That no function bundles a locale other than English is checked
// with the other contents of the bundles (bundles.test.ts).
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { build, type Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdkEsbuildOptions } from "../../bench/cold-start/bundle-options.ts";
import { BUNDLE_ALIASES } from "../../infra/lib/constructs/collabry-function.ts";
import { repoRoot } from "./support.ts";
import { type ZodUsage, zodUsage } from "./zod-usage.ts";

const SHIM_DIR = join(repoRoot, "shared", "validation", "zod-bundled");
/** The zod the shim's modules reach by relative path. */
const ZOD_DIR = join(repoRoot, "node_modules", "zod");
/**
 * Entry points of zod's package.json with no module in the shim: its manifest, and single locale
 * files by name (`zod/v4/locales/fr.js`), which would fail to resolve in a bundle rather than load
 * something else.
 */
const NOT_SHIMMED = ["./package.json", "./v4/locales/*"];
const LOCALES = /node_modules\/zod\/v4\/locales\//;

function shimModule(entryPoint: string): string {
  return join(SHIM_DIR, entryPoint === "." ? "" : entryPoint.slice(2), "index.ts");
}

function isNamespace(value: unknown): value is Record<string, unknown> {
  return Object.prototype.toString.call(value) === "[object Module]";
}

/** Same names with the same values, except `locales` (English only) and the namespaces holding it. */
function expectSameExports(shim: Record<string, unknown>, real: Record<string, unknown>, where: string): void {
  expect(Object.keys(shim).sort(), where).toEqual(Object.keys(real).sort());
  for (const name of Object.keys(real)) {
    const [mine, theirs] = [shim[name], real[name]];
    if (mine === theirs) continue;
    const at = `${where}.${name}`;
    expect(isNamespace(mine) && isNamespace(theirs), `${at} differs from zod's`).toBe(true);
    if (name === "locales") {
      expect(Object.keys(mine as object), at).toEqual(["en"]);
      expect((mine as Record<string, unknown>).en, at).toBe((theirs as Record<string, unknown>).en);
    } else {
      // The classic API (`z`, default) or `core`, rebuilt over the English-only locales.
      expectSameExports(mine as Record<string, unknown>, theirs as Record<string, unknown>, at);
    }
  }
}

describe("the zod of the Lambda bundles (shared/validation/zod-bundled)", () => {
  const manifest = JSON.parse(readFileSync(join(ZOD_DIR, "package.json"), "utf8")) as {
    exports: Record<string, unknown>;
  };
  const entryPoints = Object.keys(manifest.exports).filter((entryPoint) => !NOT_SHIMMED.includes(entryPoint));

  it("is what BUNDLE_ALIASES gives every bundle for zod and its subpaths", () => {
    // Assess: a directory, since esbuild's alias sends `zod/v4` to `<replacement>/v4`.
    expect(BUNDLE_ALIASES.zod).toBe("./shared/validation/zod-bundled");
    expect(join(repoRoot, BUNDLE_ALIASES.zod ?? "")).toBe(SHIM_DIR);
  });

  it("stands for the only zod installed, so no package is given a zod other than the one it resolves", () => {
    // Prepare: the alias applies to every importer, a package with its own copy of zod included.
    const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version?: string }>;
    };

    // Act
    const copies = Object.keys(lock.packages).filter((path) => /(^|\/)node_modules\/zod$/.test(path));

    // Assess
    expect(copies).toEqual(["node_modules/zod"]);
  });

  it("has a module for every entry point of zod's package.json", () => {
    // Assess
    expect(entryPoints).toEqual(expect.arrayContaining([".", "./v4", "./v4/core", "./v3", "./mini"]));
    for (const entryPoint of entryPoints) {
      expect(existsSync(shimModule(entryPoint)), `zod${entryPoint.slice(1)}`).toBe(true);
    }
  });

  it("exports the names and values of zod's own entry points, with English as the only locale", async () => {
    for (const entryPoint of entryPoints) {
      // Act
      const specifier = `zod${entryPoint.slice(1)}`;
      const shim = (await import(pathToFileURL(shimModule(entryPoint)).href)) as Record<string, unknown>;
      const real = (await import(specifier)) as Record<string, unknown>;

      // Assess
      expectSameExports(shim, real, specifier);
    }
  });
});

describe("a bundle built with the CDK's esbuild settings", () => {
  let work: string;
  let metafile: Metafile;
  let bundled: ZodUsage;
  let direct: ZodUsage;

  beforeAll(async () => {
    // Prepare
    work = await mkdtemp(join(tmpdir(), "collabry-zod-alias-"));
    const result = await build(cdkEsbuildOptions(repoRoot, "test/infra/zod-usage.ts", join(work, "index.mjs")));
    metafile = result.metafile as Metafile;
    await writeFile(
      join(work, "run.mjs"),
      'const { zodUsage } = await import("./index.mjs");\nprocess.stdout.write(JSON.stringify(await zodUsage()));\n',
    );

    // Act
    const { stdout } = await promisify(execFile)(process.execPath, ["run.mjs"], {
      cwd: work,
      env: { PATH: process.env.PATH ?? "" },
      timeout: 30_000,
    });
    bundled = JSON.parse(stdout);
    direct = JSON.parse(JSON.stringify(await zodUsage()));
  }, 60_000);

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("bundles the English messages and no other locale", () => {
    // Act: what is in the output (metafile.inputs also lists what was read and then left out).
    const inputs = Object.keys(Object.values(metafile.outputs).find((output) => output.entryPoint)?.inputs ?? {});
    const locales = inputs.filter((input) => LOCALES.test(input));

    // Assess
    expect(inputs).toContain("shared/validation/zod-bundled/classic.ts");
    expect(locales).toEqual(["node_modules/zod/v4/locales/en.js"]);
  });

  it("sees the exports zod has, with English as the only locale", () => {
    // Prepare: what zod itself has, its locales replaced by English.
    const expected = Object.fromEntries(
      Object.entries(direct.entryPoints).map(([entryPoint, shape]) => [
        entryPoint,
        Object.fromEntries(
          Object.entries(shape).map(([path, names]) => [path, path.endsWith("locales") && names ? ["en"] : names]),
        ),
      ]),
    );

    // Assess
    expect(direct.entryPoints.zod?.locales?.length).toBeGreaterThan(40);
    expect(bundled.entryPoints).toEqual(expected);
  });

  it("builds route schemas with .openapi() and their OpenAPI document as zod itself does", () => {
    // Assess
    expect(bundled.openApiZIsZodZ).toBe(true);
    expect(bundled.openApiDocument).toEqual(direct.openApiDocument);
    expect(bundled.openApiDocument).toMatchObject({
      components: { schemas: { Person: { properties: { name: { type: "string", minLength: 1, example: "Ada" } } } } },
    });
    expect(bundled.jsonSchema).toEqual(direct.jsonSchema);
  });

  it("refuses bad input with zod's English messages", () => {
    // Assess
    expect(bundled.messages).toEqual(direct.messages);
    expect(bundled.messages).toMatchObject({
      tooSmall: "Too small: expected string to have >=1 characters",
      wrongType: "Invalid input: expected number, received string",
      v3TooSmall: "String must contain at least 2 character(s)",
      mini: "too_small",
    });
    expect(bundled.invalidRequest).toEqual(direct.invalidRequest);
    expect(bundled.invalidRequest.status).toBe(400);
    expect(JSON.stringify(bundled.invalidRequest.body)).toContain("Too small: expected string to have >=1 characters");
  });
});
