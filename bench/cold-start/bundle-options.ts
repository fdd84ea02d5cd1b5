// The esbuild options of the deployed bundles. The CDK construct passes its settings to
// NodejsFunction, which turns them into an esbuild command line; only EXTERNAL_MODULES is exported,
// so the rest is mirrored here and `checkCdkParity` proves the mirror by bundling through the CDK.
import type { BuildOptions } from "esbuild";
import { BUNDLE_ALIASES, EXTERNAL_MODULES } from "#infra/lib/constructs/collabry-function.ts";

/** The banner of infra/lib/constructs/collabry-function.ts (ESM output meeting require()). */
export const CDK_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * What NodejsFunction runs for a CollabryFunction: `esbuild --bundle <entry> --target=node22
 * --platform=node --format=esm --outfile=<dir>/index.mjs --minify --sourcemap
 * --sources-content=false --external:<each> --banner:js=<banner> --main-fields=module,main
 * --alias:<each>`,
 * from the project root.
 */
export function cdkEsbuildOptions(
  projectRoot: string,
  entry: string,
  outfile: string,
  extraExternals: readonly string[] = [],
): BuildOptions {
  return {
    absWorkingDir: projectRoot,
    entryPoints: [entry],
    bundle: true,
    target: "node22",
    platform: "node",
    format: "esm",
    outfile,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external: [...EXTERNAL_MODULES, ...extraExternals],
    alias: { ...BUNDLE_ALIASES },
    banner: { js: CDK_BANNER },
    mainFields: ["module", "main"],
    logLevel: "silent",
    metafile: true,
  };
}

/**
 * Bench-only deviation for the runs that use the embedded store (there is no MongoDB here):
 * better-sqlite3 finds its addon through `bindings`, which reads `__filename` and fails once bundled
 * into ESM ("ReferenceError: __filename is not defined"); mingo is required on first use
 * (shared/store/embedded.ts), which esbuild leaves to the runtime. Deployed functions use MongoDB and
 * never load that adapter, so the runnable bundles find these two beside them; sizes are reported
 * from the exact CDK bundles.
 */
export const EMBEDDED_STORE_EXTERNALS = ["better-sqlite3", "mingo"];
