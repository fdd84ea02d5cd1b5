// CDK entry point: `npx cdk synth -c stage=dev` (cdk.json runs this file with tsx).
// Reads infra/bin/config/<stage>.json, layers the `config` context object over it, validates it
// with zod and synthesizes every stack of the stage offline, with cdk-nag's AWS Solutions checks.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { featureRoutes } from "#functions/index.ts";
import { buildCollabryApp } from "../lib/collabry-app.ts";
import { loadDeployConfig } from "../lib/config.ts";

const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = resolve(here, "../..");

const app = new App();
const stage = app.node.tryGetContext("stage") ?? "dev";
if (typeof stage !== "string") throw new Error("context `stage` must be a string, e.g. -c stage=dev");

const rawOverrides: unknown = app.node.tryGetContext("config");
const contextOverrides = typeof rawOverrides === "string" ? JSON.parse(rawOverrides) : rawOverrides;
if (contextOverrides !== undefined && (typeof contextOverrides !== "object" || contextOverrides === null)) {
  throw new Error('context `config` must be a JSON object, e.g. -c config=\'{"alarmEmail":"ops@example.com"}\'');
}

const config = loadDeployConfig({ stage, configDir: join(here, "config"), contextOverrides });

const faissLayerContext: unknown = app.node.tryGetContext("faissLayerDir");
const faissLayerDir =
  typeof faissLayerContext === "string"
    ? resolve(projectRoot, faissLayerContext)
    : join(projectRoot, "layers/faiss/out");

buildCollabryApp(app, { config, featureRoutes, projectRoot, faissLayerDir });

// cdk-nag 3 is a validation plugin: synth fails listing every finding without an acknowledgement.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
