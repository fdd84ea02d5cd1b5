// The real entry point, the way `cdk synth` runs it: infra/bin/app.ts in a child process with the
// CLI's environment (CDK_OUTDIR, CDK_CONTEXT_JSON), bundling every function with the local esbuild.
// Docker and the npm registry are made unusable, so any Docker fallback or download fails the test.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { beforeAll, describe, expect, it } from "vitest";
import { CollabryFunction } from "../../infra/lib/constructs/collabry-function.ts";
import { cdkJsonContext, placeholderLayerDir, repoRoot } from "./support.ts";

interface LambdaTemplate {
  Resources: Record<string, { Type: string; Properties?: { Code?: { S3Key?: string } } }>;
}

/** Cloud assembly directories of the functions' code assets (asset.<hash> for S3 key <hash>.zip). */
function functionAssetDirs(template: LambdaTemplate): string[] {
  return Object.values(template.Resources)
    .filter((resource) => resource.Type === "AWS::Lambda::Function")
    .map((resource) => `asset.${String(resource.Properties?.Code?.S3Key).replace(/\.zip$/, "")}`);
}

const NO_DOCKER = { CDK_DOCKER: "/nonexistent/docker", PATH: process.env.PATH ?? "" };
// The worker's node_modules are installed from npm's cache, filled by the project's own install:
// in offline mode npm fails rather than reach the registry.
const NO_NETWORK = { npm_config_offline: "true" };

describe("full app synth (bin/app.ts, local esbuild, no Docker)", () => {
  let outdir: string;
  let run: ReturnType<typeof spawnSync>;

  beforeAll(() => {
    // Prepare
    outdir = mkdtempSync(join(tmpdir(), "collabry-cdk-out-"));
    const context = { ...cdkJsonContext(), stage: "dev", faissLayerDir: placeholderLayerDir() };

    // Act
    run = spawnSync(process.execPath, ["--import", "tsx", "infra/bin/app.ts"], {
      cwd: repoRoot,
      env: {
        ...process.env,
        ...NO_DOCKER,
        ...NO_NETWORK,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify(context),
      },
      encoding: "utf8",
      timeout: 170_000,
    });
  }, 180_000);

  it("exits 0 (zero cdk-nag findings) and writes every stack of the stage", () => {
    // Assess
    expect(run.status, String(run.stderr)).toBe(0);
    const templates = readdirSync(outdir).filter((file) => file.endsWith(".template.json"));
    expect(templates.sort()).toEqual(
      ["Collabry-dev-Api", "Collabry-dev-ModelHost", "Collabry-dev-Monitoring", "Collabry-dev-Stateful"].map(
        (stack) => `${stack}.template.json`,
      ),
    );
  });

  it("bundles every function as ESM with a source map", () => {
    // Prepare
    const template = JSON.parse(readFileSync(join(outdir, "Collabry-dev-Api.template.json"), "utf8")) as LambdaTemplate;

    // Act
    const assets = functionAssetDirs(template);

    // Assess
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      expect(existsSync(join(outdir, asset, "index.mjs")), asset).toBe(true);
      expect(existsSync(join(outdir, asset, "index.mjs.map")), asset).toBe(true);
    }
  });

  /** The code asset of the function whose description starts with `prefix`. */
  function assetOf(prefix: string): string {
    const template = JSON.parse(readFileSync(join(outdir, "Collabry-dev-Api.template.json"), "utf8")) as LambdaTemplate;
    const fn = Object.values(template.Resources).find(
      (resource) =>
        resource.Type === "AWS::Lambda::Function" &&
        String((resource.Properties as { Description?: string } | undefined)?.Description).startsWith(prefix),
    );
    return join(outdir, `asset.${String(fn?.Properties?.Code?.S3Key).replace(/\.zip$/, "")}`);
  }

  it("installs every parser beside the bundles that read documents, OCR's files and canvas for x86_64 Linux", () => {
    for (const prefix of ["Collabry ingest ", "Collabry qa (handler)", "Collabry quiz (streamingHandler)"]) {
      // Prepare
      const asset = assetOf(prefix);
      const modules = join(asset, "node_modules");

      // Act
      const code = readFileSync(join(asset, "index.mjs"), "utf8");

      // Assess: imported from node_modules when a document is read, never with the bundle.
      for (const parser of ["unpdf", "mammoth", "tesseract.js", "linkedom", "@mozilla/readability"]) {
        expect(code, `${prefix} ${parser}`).toContain(`import("${parser}")`);
        expect(code, `${prefix} ${parser}`).not.toMatch(new RegExp(`from\\s*"${parser.replace(".", "\\.")}"`));
        expect(existsSync(join(modules, parser, "package.json")), `${prefix} ${parser}`).toBe(true);
      }
      expect(existsSync(join(modules, "tesseract.js/src/worker-script/node/index.js")), prefix).toBe(true);
      expect(
        readdirSync(join(modules, "tesseract.js-core")).some((file) => file.endsWith(".wasm")),
        prefix,
      ).toBe(true);
      expect(existsSync(join(modules, "@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz")), prefix).toBe(true);
      // OCR's engines without LSTM, the browser builds and the unused models are removed.
      expect(existsSync(join(modules, "tesseract.js-core/tesseract-core-simd.wasm")), prefix).toBe(false);
      expect(existsSync(join(modules, "tesseract.js-core/tesseract-core-simd-lstm.wasm.js")), prefix).toBe(false);
      expect(existsSync(join(modules, "@tesseract.js-data/eng/4.0.0")), prefix).toBe(false);
      expect(
        readdirSync(join(modules, "@napi-rs/canvas-linux-x64-gnu")).some((file) => file.endsWith(".node")),
        prefix,
      ).toBe(true);
    }
  });

  it("installs only the web page reader beside the documents function, and nothing beside the others", () => {
    // Act
    const documents = join(assetOf("Collabry documents (handler)"), "node_modules");
    const meta = join(assetOf("Collabry meta (handler)"), "node_modules");

    // Assess
    expect(existsSync(join(documents, "linkedom/package.json"))).toBe(true);
    expect(existsSync(join(documents, "@mozilla/readability/package.json"))).toBe(true);
    expect(existsSync(join(documents, "unpdf"))).toBe(false);
    expect(existsSync(join(documents, "tesseract.js"))).toBe(false);
    expect(existsSync(meta)).toBe(false);
  });
});

describe("house function bundling", () => {
  it("keeps faiss-node and the AWS SDK as runtime imports instead of bundling them", () => {
    // Prepare: a throw-away project whose handler imports both (node_modules linked for esbuild)
    const root = mkdtempSync(join(tmpdir(), "collabry-bundle-"));
    mkdirSync(join(root, "functions/qa"), { recursive: true });
    symlinkSync(join(repoRoot, "node_modules"), join(root, "node_modules"));
    writeFileSync(join(root, "package-lock.json"), '{"lockfileVersion":3}\n');
    writeFileSync(
      join(root, "functions/qa/handler.ts"),
      'import { IndexFlatIP } from "faiss-node";\nimport { S3Client } from "@aws-sdk/client-s3";\n' +
        "export const handler = async () => [new IndexFlatIP(2), new S3Client({})].length;\n",
    );
    const outdir = mkdtempSync(join(tmpdir(), "collabry-bundle-out-"));
    const app = new App({ outdir, builtinCloudFormationValidation: false });
    const stack = new Stack(app, "Bundle");
    new CollabryFunction(stack, "Qa", {
      entry: join(root, "functions/qa/handler.ts"),
      projectRoot: root,
      depsLockFilePath: join(root, "package-lock.json"),
    });

    // Act
    const assembly = app.synth();
    const [asset] = functionAssetDirs(assembly.getStackByName("Bundle").template as LambdaTemplate);
    const code = readFileSync(join(outdir, asset ?? "missing", "index.mjs"), "utf8");

    // Assess
    expect(code).toMatch(/from\s*"faiss-node"/);
    expect(code).toMatch(/from\s*"@aws-sdk\/client-s3"/);
    expect(code).toContain("createRequire");
  }, 60_000);
});
