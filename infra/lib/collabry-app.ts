// Composition of the stacks for one stage. Used by infra/bin/app.ts and by the tests, so what is
// tested is exactly what is deployed.
import { type App, Tags } from "aws-cdk-lib";
import type { FeatureRoutes } from "#shared/http/routes.ts";
import type { DeployConfig } from "./config.ts";
import { acknowledgeNagFindings } from "./nag-acknowledgements.ts";
import { ApiStack, type ModelEndpoint } from "./stacks/api-stack.ts";
import { ModelHostStack } from "./stacks/model-host-stack.ts";
import { MonitoringStack } from "./stacks/monitoring-stack.ts";
import { dataBucketName, StatefulStack } from "./stacks/stateful-stack.ts";

export interface CollabryAppOptions {
  readonly config: DeployConfig;
  readonly featureRoutes: readonly FeatureRoutes[];
  /** Repository root (functions/ and package-lock.json live here). */
  readonly projectRoot: string;
  readonly faissLayerDir: string;
}

export interface CollabryStacks {
  readonly config: DeployConfig;
  readonly stateful: StatefulStack;
  readonly modelHost?: ModelHostStack;
  readonly api: ApiStack;
  readonly monitoring: MonitoringStack;
}

export function buildCollabryApp(app: App, options: CollabryAppOptions): CollabryStacks {
  const { config } = options;
  // Region only, no account: the stacks stay environment-agnostic, so synth never needs a lookup
  // (availability zones come from Fn::GetAZs at deploy time).
  const env = { region: config.region };
  const prefix = `Collabry-${config.stage}`;
  Tags.of(app).add("project", "collabry-ai-engine");
  Tags.of(app).add("stage", config.stage);

  const stateful = new StatefulStack(app, `${prefix}-Stateful`, {
    env,
    config,
    description: "Collabry AI Engine: data bucket, ingestion queue, secrets",
    terminationProtection: !config.ephemeral,
  });

  let modelHost: ModelHostStack | undefined;
  let model: ModelEndpoint;
  if (config.llm.mode === "ollama") {
    modelHost = new ModelHostStack(app, `${prefix}-ModelHost`, {
      env,
      config,
      ollama: config.llm,
      description: "Collabry AI Engine: VPC and the Ollama GPU host",
    });
    model = {
      mode: "ollama",
      baseUrl: modelHost.host.baseUrl,
      vpc: modelHost.vpc,
      securityGroup: modelHost.functionsSecurityGroup,
    };
  } else {
    model = { mode: "external", baseUrl: config.llm.baseUrl };
  }

  const api = new ApiStack(app, `${prefix}-Api`, {
    env,
    config,
    description: "Collabry AI Engine: REST API, authorizer, feature functions, ingestion worker",
    projectRoot: options.projectRoot,
    featureRoutes: options.featureRoutes,
    dataBucketName: dataBucketName(config),
    ingestQueue: stateful.ingestQueue,
    secrets: stateful.secrets,
    model,
    faissLayerDir: options.faissLayerDir,
  });

  const monitoring = new MonitoringStack(app, `${prefix}-Monitoring`, {
    env,
    config,
    description: "Collabry AI Engine: dashboard and alarms",
    api: api.featureApi.api,
    features: api.features.map(({ feature, profile, buffered, streaming }) => ({
      feature,
      usesModel: profile.usesModel,
      functions: [buffered, streaming].filter((fn) => fn !== undefined),
    })),
    authorizerFunction: api.authorizerFunction,
    ingestWorker: api.ingestWorker?.function,
    ingestQueue: stateful.ingestQueue,
    ollama: modelHost
      ? { targetGroup: modelHost.host.targetGroup, autoScalingGroup: modelHost.host.autoScalingGroup }
      : undefined,
  });

  const stacks: CollabryStacks = { config, stateful, modelHost, api, monitoring };
  acknowledgeNagFindings(stacks);
  return stacks;
}
