// The request path: the REST API, the JWT authorizer, one Lambda per feature (plus one for its
// streaming routes), the faiss layer and the ingestion worker. Everything stateless: the stack can
// be destroyed and redeployed without losing data.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as s3 from "aws-cdk-lib/aws-s3";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import type { FeatureRoutes } from "#shared/http/routes.ts";
import type { DeployConfig } from "../config.ts";
import { CollabryFunction, type CollabryFunctionProps, lambdaArchitecture } from "../constructs/collabry-function.ts";
import { type ParsedContent, parserBundling } from "../constructs/document-parsers.ts";
import { FaissLayer } from "../constructs/faiss-layer.ts";
import { type ApiRoute, FeatureApi } from "../constructs/feature-api.ts";
import { IngestWorker } from "../constructs/ingest-worker.ts";
import {
  AUTHORIZER_PROFILE,
  type FeatureProfile,
  flattenRoutes,
  INGEST_WORKER_PROFILE,
  profileFor,
  type SecretName,
  STREAMING_TIMEOUT_SECONDS,
} from "../features.ts";

export const METRICS_NAMESPACE = "CollabryAI";

/** Where the model lives for the functions that call it. */
export type ModelEndpoint =
  | { mode: "ollama"; baseUrl: string; vpc: ec2.IVpc; securityGroup: ec2.ISecurityGroup }
  | { mode: "external"; baseUrl: string };

export interface ApiStackProps extends StackProps {
  readonly config: DeployConfig;
  /** Repository root: functions/<feature>/handler.ts are resolved from here. */
  readonly projectRoot: string;
  readonly featureRoutes: readonly FeatureRoutes[];
  /** Name of the data bucket (see dataBucketName). */
  readonly dataBucketName: string;
  readonly ingestQueue: sqs.IQueue;
  readonly secrets: Partial<Record<SecretName, secretsmanager.ISecret>>;
  readonly model: ModelEndpoint;
  /** Directory of the built faiss layer (layers/faiss/out by default; tests pass a placeholder). */
  readonly faissLayerDir: string;
}

/** The Lambdas of one feature: buffered routes and, when it has any, streaming routes. */
export interface FeatureFunctions {
  readonly feature: string;
  readonly profile: FeatureProfile;
  readonly buffered?: CollabryFunction;
  readonly streaming?: CollabryFunction;
}

const SECRET_ENV: Record<SecretName, string> = {
  jwtSecret: "JWT_SECRET_ARN",
  mongoUri: "MONGO_URI_SECRET_ARN",
  llmApiKey: "LLM_API_KEY_SECRET_ARN",
  serperApiKey: "SERPER_API_KEY_SECRET_ARN",
};

export class ApiStack extends Stack {
  readonly featureApi: FeatureApi;
  readonly features: FeatureFunctions[] = [];
  readonly authorizerFunction: CollabryFunction;
  readonly faissLayer: FaissLayer;
  /** Undefined until functions/ingest/worker.ts exists (see infra/README.md). */
  readonly ingestWorker?: IngestWorker;
  readonly allFunctions: CollabryFunction[] = [];
  /** Bucket access granted to each function (for review and the nag acknowledgements). */
  readonly bucketAccess = new Map<CollabryFunction, FeatureProfile["bucket"]>();
  private readonly props: ApiStackProps;
  private readonly dataBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    this.props = props;
    const { config } = props;
    this.dataBucket = s3.Bucket.fromBucketName(this, "DataBucket", props.dataBucketName);
    const architecture = lambdaArchitecture(config.architecture);

    // Old layer versions are kept: a rollback of the functions must still find the layer it used.
    this.faissLayer = new FaissLayer(this, "FaissLayer", {
      directory: props.faissLayerDir,
      architecture,
      removalPolicy: config.ephemeral ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });

    this.authorizerFunction = this.makeFunction("Authorizer", {
      name: "authorizer",
      entry: this.entry("authorizer", "handler.ts"),
      handler: "handler",
      secrets: AUTHORIZER_PROFILE.secrets,
      // The authorizer parses the same config: MongoDB's ARN is named (required in AWS) but not granted.
      namedSecrets: ["jwtSecret", "mongoUri"],
      memoryMb: AUTHORIZER_PROFILE.memoryMb,
      timeoutSeconds: AUTHORIZER_PROFILE.timeoutSeconds,
      usesModel: false,
    });

    const apiRoutes: ApiRoute[] = [];
    const routes = flattenRoutes(props.featureRoutes);
    for (const { feature, routes: featureRoutes } of props.featureRoutes) {
      const { profile, known } = profileFor(feature);
      if (!known) {
        Annotations.of(this).addWarningV2(
          `collabry:unprofiledFeature:${feature}`,
          `Feature "${feature}" has no profile in infra/lib/features.ts: deployed with JWT + MongoDB only (no model, bucket or layer).`,
        );
      }
      const sizing = config.functions[feature] ?? {};
      const common = {
        name: feature,
        secrets: profile.secrets,
        namedSecrets: profile.secrets,
        memoryMb: sizing.memoryMb ?? profile.memoryMb,
        usesModel: profile.usesModel,
        parses: profile.parses,
      };
      const pascal = toPascal(feature);
      const buffered = featureRoutes.some((route) => !route.streaming)
        ? this.makeFunction(`${pascal}Function`, {
            ...common,
            entry: this.entry(feature, "handler.ts"),
            handler: "handler",
            timeoutSeconds: sizing.timeoutSeconds ?? profile.timeoutSeconds,
          })
        : undefined;
      // A streamifyResponse handler cannot answer buffered invocations (and vice versa): the
      // streaming routes get their own function from the same module's `streamingHandler`, or from
      // the feature's streaming entry when its profile names one.
      const streaming = featureRoutes.some((route) => route.streaming)
        ? this.makeFunction(`${pascal}StreamingFunction`, {
            ...common,
            entry: this.entry(feature, profile.streamingEntry ?? "handler.ts"),
            handler: "streamingHandler",
            timeoutSeconds: STREAMING_TIMEOUT_SECONDS,
          })
        : undefined;
      for (const fn of [buffered, streaming]) {
        if (!fn) continue;
        this.grantProfile(fn, profile);
      }
      this.features.push({ feature, profile, buffered, streaming });
      for (const route of routes.filter((candidate) => candidate.feature === feature)) {
        const fn = route.streaming ? streaming : buffered;
        if (!fn) throw new Error(`no function for ${route.method} ${route.path}`);
        apiRoutes.push({ ...route, function: fn });
      }
    }

    this.featureApi = new FeatureApi(this, "Api", {
      stageName: config.stage,
      routes: apiRoutes,
      authorizerFunction: this.authorizerFunction,
      corsOrigins: config.corsOrigins,
      stageThrottle: config.throttling.stage,
      streamingThrottle: config.throttling.streaming,
      routeThrottles: config.throttling.routes,
      authorizerCacheTtl: Duration.seconds(config.authorizerCacheSeconds),
      streamingTimeout: Duration.seconds(STREAMING_TIMEOUT_SECONDS),
      accessLogRetention: config.logRetentionDays,
    });

    // The worker is wired once its entry exists, so the infrastructure can ship ahead of the code.
    const workerEntry = this.entry("ingest", "worker.ts");
    if (existsSync(workerEntry)) {
      const workerFunctionProps = this.functionProps({
        name: "ingest",
        entry: workerEntry,
        handler: "handler",
        secrets: INGEST_WORKER_PROFILE.secrets,
        namedSecrets: ["jwtSecret", ...INGEST_WORKER_PROFILE.secrets],
        memoryMb: config.ingest.workerMemoryMb,
        timeoutSeconds: config.ingest.workerTimeoutSeconds,
        usesModel: true,
      });
      this.ingestWorker = new IngestWorker(this, "IngestWorker", {
        queue: props.ingestQueue,
        functionProps: workerFunctionProps,
        batchSize: config.ingest.batchSize,
        reservedConcurrency: config.ingest.reservedConcurrency,
      });
      this.afterCreate(this.ingestWorker.function, INGEST_WORKER_PROFILE.secrets);
      this.grantProfile(this.ingestWorker.function, INGEST_WORKER_PROFILE);
    } else {
      Annotations.of(this).addInfo(
        `Ingestion worker not deployed: ${workerEntry} does not exist yet (queue and DLQ are deployed).`,
      );
    }

    new CfnOutput(this, "ApiUrl", {
      value: this.featureApi.api.url,
      description: "Base URL for the frontend and the Collabry backend (AI_ENGINE_URL)",
    });
  }

  private entry(feature: string, file: string): string {
    return join(this.props.projectRoot, "functions", feature, file);
  }

  private functionProps(spec: FunctionSpec): CollabryFunctionProps {
    const { config, model } = this.props;
    const environment: Record<string, string> = {
      STAGE: config.stage,
      DATA_BUCKET: this.dataBucket.bucketName,
      INGEST_QUEUE_URL: this.props.ingestQueue.queueUrl,
      MONGO_DB: config.mongoDb,
      CORS_ORIGINS: config.corsOrigins.join(","),
      POWERTOOLS_SERVICE_NAME: spec.name,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      LOG_LEVEL: config.logLevel,
    };
    if (config.jwt.issuer) environment.JWT_ISSUER = config.jwt.issuer;
    if (config.jwt.audience) environment.JWT_AUDIENCE = config.jwt.audience;
    for (const name of spec.namedSecrets) {
      const secret = this.props.secrets[name];
      if (secret) environment[SECRET_ENV[name]] = secret.secretArn;
    }
    // Only model callers learn where the model is; the others run the offline engine by design.
    if (spec.usesModel) {
      environment.LLM_BASE_URL = model.baseUrl;
      environment.LLM_MODEL = config.llm.chatModel;
      environment.EMBEDDINGS_MODEL = config.llm.embeddingsModel;
    }
    // Model callers reach the Ollama load balancer from the private subnets; everything else stays
    // outside the VPC (no ENI, no NAT dependency).
    const network =
      spec.usesModel && model.mode === "ollama"
        ? { vpc: model.vpc, securityGroups: [model.securityGroup], vpcSubnets: { subnets: model.vpc.privateSubnets } }
        : {};
    return {
      entry: spec.entry,
      handler: spec.handler,
      architecture: lambdaArchitecture(config.architecture),
      memorySize: spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      environment,
      logRetention: config.logRetentionDays,
      logRemovalPolicy: config.ephemeral ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      description: `Collabry ${spec.name} (${spec.handler})`,
      projectRoot: this.props.projectRoot,
      depsLockFilePath: join(this.props.projectRoot, "package-lock.json"),
      ...(spec.parses ? { bundling: parserBundling(spec.parses, lambdaArchitecture(config.architecture)) } : {}),
      ...network,
    };
  }

  private makeFunction(id: string, spec: FunctionSpec): CollabryFunction {
    const fn = new CollabryFunction(this, id, this.functionProps(spec));
    this.afterCreate(fn, spec.secrets);
    return fn;
  }

  private afterCreate(fn: CollabryFunction, secrets: readonly SecretName[]): void {
    for (const name of secrets) this.props.secrets[name]?.grantRead(fn);
    this.allFunctions.push(fn);
  }

  private grantProfile(fn: CollabryFunction, profile: FeatureProfile): void {
    this.bucketAccess.set(fn, profile.bucket);
    if (profile.bucket === "read") this.dataBucket.grantRead(fn);
    if (profile.bucket === "readWrite") this.dataBucket.grantReadWrite(fn);
    if (profile.sendsToIngestQueue) this.props.ingestQueue.grantSendMessages(fn);
    if (profile.usesVectorIndex) this.faissLayer.attachTo(fn);
  }
}

interface FunctionSpec {
  name: string;
  entry: string;
  handler: "handler" | "streamingHandler";
  /** Secrets granted (IAM). */
  secrets: readonly SecretName[];
  /** Secrets whose ARN is passed in the environment (a superset of `secrets`). */
  namedSecrets: readonly SecretName[];
  memoryMb: number;
  timeoutSeconds: number;
  usesModel: boolean;
  /** Its parsers are installed beside the bundle. */
  parses?: ParsedContent | undefined;
}

function toPascal(name: string): string {
  return name
    .split(/[-_]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}
