// Synthesizes the Collabry stacks for tests: bundling off (no esbuild, no Docker), a throw-away
// project root holding stub handler files (NodejsFunction only checks that entries exist), and a
// placeholder faiss layer directory, so infra tests never wait on function code or a native build.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { App, CfnElement, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import type { FeatureRoutes } from "#shared/http/routes.ts";
import { buildCollabryApp, type CollabryStacks } from "../../infra/lib/collabry-app.ts";
import { type DeployConfigInput, mergeConfig, parseDeployConfig } from "../../infra/lib/config.ts";
import { profileFor } from "../../infra/lib/features.ts";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The feature flags of cdk.json, so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson: { context?: Record<string, unknown> } = JSON.parse(readFileSync(join(repoRoot, "cdk.json"), "utf8"));
  const { stage: _stage, ...flags } = cdkJson.context ?? {};
  return flags;
}

export const baseConfig: DeployConfigInput = {
  stage: "test",
  region: "eu-west-1",
  corsOrigins: ["https://app.collabry.test", "http://localhost:3000"],
  llm: { mode: "ollama" },
  alarmEmail: "oncall@collabry.test",
};

export const externalLlm = {
  llm: {
    mode: "external",
    baseUrl: "https://api.openai.example/v1",
    chatModel: "gpt-4o-mini",
    embeddingsModel: "text-embedding-3-small",
  },
} as const;

/** A placeholder layer directory with the shape build-layer.mjs produces. */
export function placeholderLayerDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "collabry-faiss-layer-"));
  const moduleDir = join(dir, "nodejs", "node_modules", "faiss-node");
  mkdirSync(moduleDir, { recursive: true });
  writeFileSync(join(moduleDir, "package.json"), '{"name":"faiss-node","version":"0.0.0-placeholder"}\n');
  return dir;
}

/** A project root with stub entries for the given features (and the worker when asked). */
export function stubProjectRoot(features: readonly FeatureRoutes[], options: { worker: boolean }): string {
  const root = mkdtempSync(join(tmpdir(), "collabry-project-"));
  writeFileSync(join(root, "package-lock.json"), '{"lockfileVersion":3}\n');
  // The worker's nodeModules take their versions from the project's package.json.
  const { dependencies } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  writeFileSync(
    join(root, "package.json"),
    `${JSON.stringify({ name: "collabry-stub", private: true, dependencies })}\n`,
  );
  const write = (path: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), "export const handler = () => undefined;\n");
  };
  write("functions/authorizer/handler.ts");
  for (const { feature } of features) {
    write(`functions/${feature}/handler.ts`);
    const { streamingEntry } = profileFor(feature).profile;
    if (streamingEntry) write(`functions/${feature}/${streamingEntry}`);
  }
  if (options.worker) write("functions/ingest/worker.ts");
  return root;
}

export interface SynthOptions {
  config?: Record<string, unknown>;
  featureRoutes: readonly FeatureRoutes[];
  worker?: boolean;
  /**
   * Run aws-cdk-lib's built-in CloudFormation schema validation (WASM, ~5 s per app): on in the
   * nag and full-synth tests, off where a file only asserts template properties.
   */
  validate?: boolean;
}

export interface SynthResult {
  stacks: CollabryStacks;
  stateful: Template;
  api: Template;
  monitoring: Template;
  modelHost?: Template;
}

export function synthCollabry(options: SynthOptions): SynthResult {
  const app = new App({
    context: { ...cdkJsonContext(), "aws:cdk:bundling-stacks": [] },
    builtinCloudFormationValidation: options.validate ?? false,
  });
  const config = parseDeployConfig(mergeConfig({ ...baseConfig }, options.config ?? {}));
  const stacks = buildCollabryApp(app, {
    config,
    featureRoutes: options.featureRoutes,
    projectRoot: stubProjectRoot(options.featureRoutes, { worker: options.worker ?? true }),
    faissLayerDir: placeholderLayerDir(),
  });
  return {
    stacks,
    stateful: Template.fromStack(stacks.stateful),
    api: Template.fromStack(stacks.api),
    monitoring: Template.fromStack(stacks.monitoring),
    modelHost: stacks.modelHost ? Template.fromStack(stacks.modelHost) : undefined,
  };
}

/** Resources of one type, by logical id. */
export function resourcesOf(
  template: Template,
  type: string,
): Array<[string, { Properties?: Record<string, unknown> }]> {
  return Object.entries(template.findResources(type)) as Array<[string, { Properties?: Record<string, unknown> }]>;
}

/** Logical id of a construct's CloudFormation resource in its stack. */
export function logicalIdOf(construct: IConstruct): string {
  const child = construct.node.defaultChild;
  if (!(child instanceof CfnElement)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(child).getLogicalId(child);
}
