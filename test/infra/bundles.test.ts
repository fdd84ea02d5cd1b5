// What each function's bundle may contain. esbuild keeps every module an entry can reach (an
// `import()` included), so a local-only adapter or another feature's routes imported anywhere on a
// function's path would be deployed, and loaded at its cold start. Bundled with the CDK construct's
// esbuild settings (bench/cold-start/bundle-options.ts), metafile only.
import { build, type Metafile } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { featureRoutes } from "#functions/index.ts";
import { cdkEsbuildOptions } from "../../bench/cold-start/bundle-options.ts";
import { repoRoot } from "./support.ts";

/** The local runtime only: embedded store, filesystem blobs, in-process queue, the all-features engine. */
const LOCAL_ONLY = [
  "node_modules/mingo/",
  "node_modules/better-sqlite3/",
  "shared/store/embedded.ts",
  "shared/blobs/filesystem.ts",
  "shared/queue/in-process.ts",
  "shared/engine.ts",
  "infra/local/",
];
/** Document parsers and OCR: the ingestion worker and the qa/quiz file routes only. */
const PARSERS = [
  "node_modules/unpdf/",
  "node_modules/mammoth/",
  "node_modules/tesseract.js/",
  "shared/extraction/extract.ts",
];
const READS_ATTACHMENTS = new Set(["qa", "quiz"]);

const entries: Record<string, string> = {
  authorizer: "functions/authorizer/handler.ts",
  "ingest-worker": "functions/ingest/worker.ts",
  ...Object.fromEntries(featureRoutes.map(({ feature }) => [feature, `functions/${feature}/handler.ts`])),
};
const inputs = new Map<string, string[]>();

beforeAll(async () => {
  // One build for every entry: the graphs share most modules.
  const options = cdkEsbuildOptions(repoRoot, "", "", []);
  delete options.outfile;
  const result = await build({
    ...options,
    entryPoints: entries,
    outdir: "bundles",
    write: false,
    // What is bundled does not depend on these; they only slow the build.
    minify: false,
    sourcemap: false,
  });
  const metafile = result.metafile as Metafile;
  for (const output of Object.values(metafile.outputs)) {
    const name = Object.entries(entries).find(([, entry]) => entry === output.entryPoint)?.[0];
    if (name) inputs.set(name, Object.keys(output.inputs));
  }
}, 120_000);

function containing(name: string, fragments: readonly string[]): string[] {
  return fragments.filter((fragment) => (inputs.get(name) ?? []).some((input) => input.includes(fragment)));
}

describe("function bundles", () => {
  it("are built for every function", () => {
    // Assess
    expect([...inputs.keys()].sort()).toEqual(Object.keys(entries).sort());
  });

  it("hold no local-only adapter", () => {
    for (const name of Object.keys(entries)) {
      // Assess
      expect(containing(name, LOCAL_ONLY), name).toEqual([]);
    }
  });

  it("hold the document parsers only where documents are read", () => {
    for (const name of Object.keys(entries)) {
      // Act
      const parsers = containing(name, PARSERS);

      // Assess
      if (name === "ingest-worker" || READS_ATTACHMENTS.has(name)) expect(parsers.length, name).toBeGreaterThan(0);
      else expect(parsers, name).toEqual([]);
    }
  });

  it("hold only their own feature's routes", () => {
    for (const { feature } of featureRoutes) {
      // Act
      const apis = (inputs.get(feature) ?? []).filter((input) => /^functions\/[a-z]+\/api\.ts$/.test(input));

      // Assess
      expect(apis, feature).toEqual([`functions/${feature}/api.ts`]);
    }
  });

  it("leave the faiss layer's native module to the layer", () => {
    for (const name of Object.keys(entries)) {
      // Assess
      expect(containing(name, ["node_modules/faiss-node/"]), name).toEqual([]);
    }
  });
});
