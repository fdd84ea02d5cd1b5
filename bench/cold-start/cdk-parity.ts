// Proof that the bench bundles what the CDK deploys: one entry is bundled by NodejsFunction itself
// (a CollabryFunction in a throw-away app, local esbuild) and compared with the bench's bundle.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { CollabryFunction } from "#infra/lib/constructs/collabry-function.ts";

export interface ParityResult {
  entry: string;
  identical: boolean;
  cdk_bytes: number;
  bench_bytes: number;
  /** The source maps differ only in their `sources` paths (relative to different output folders). */
  sourcemap_mappings_identical: boolean;
  error?: string;
}

async function findCdkBundle(outdir: string): Promise<string> {
  for (const name of await readdir(outdir)) {
    if (!name.startsWith("asset.")) continue;
    const candidate = join(outdir, name, "index.mjs");
    if (
      await stat(candidate).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  throw new Error(`no asset with index.mjs under ${outdir}`);
}

function mappingsOf(sourceMap: string): string {
  const parsed = JSON.parse(sourceMap) as { mappings?: unknown };
  return typeof parsed.mappings === "string" ? parsed.mappings : "";
}

/** Bundles `entry` through the CDK into `outdir` and compares it with the bench's `benchBundle`. */
export async function checkCdkParity(options: {
  projectRoot: string;
  entry: string;
  outdir: string;
  /** Bundles the entry with the bench's options; returns the bundle's path. */
  bundle: () => Promise<string>;
}): Promise<ParityResult> {
  const { projectRoot, entry, outdir } = options;
  try {
    const app = new App({ outdir });
    const stack = new Stack(app, "ColdStartParity");
    new CollabryFunction(stack, "Probe", {
      entry: join(projectRoot, entry),
      handler: "handler",
      projectRoot,
      depsLockFilePath: join(projectRoot, "package-lock.json"),
    });
    const cdkBundle = await findCdkBundle(outdir);
    // Built right after the CDK's, so that a concurrent edit of the sources cannot come between.
    const benchBundle = await options.bundle();
    const [cdkCode, benchCode] = await Promise.all([readFile(cdkBundle), readFile(benchBundle)]);
    const [cdkMap, benchMap] = await Promise.all([
      readFile(`${cdkBundle}.map`, "utf8"),
      readFile(`${benchBundle}.map`, "utf8"),
    ]);
    return {
      entry,
      identical: cdkCode.equals(benchCode),
      cdk_bytes: cdkCode.length,
      bench_bytes: benchCode.length,
      sourcemap_mappings_identical: mappingsOf(cdkMap) === mappingsOf(benchMap),
    };
  } catch (error) {
    return {
      entry,
      identical: false,
      cdk_bytes: 0,
      bench_bytes: 0,
      sourcemap_mappings_identical: false,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}
