import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { featureRoutes } from "#functions/index.ts";
import type { CollabryFunction } from "../../infra/lib/constructs/collabry-function.ts";
import { logicalIdOf, resourcesOf, type SynthResult, synthCollabry } from "./support.ts";

/** Every statement of the policies attached to a function's role, as JSON text. */
function policyText(result: SynthResult, fn: CollabryFunction | undefined): string {
  const role = fn?.role;
  if (!role) return "";
  const roleId = logicalIdOf(role);
  return JSON.stringify(
    resourcesOf(result.api, "AWS::IAM::Policy")
      .filter(([, policy]) => JSON.stringify(policy.Properties?.Roles).includes(`"${roleId}"`))
      .map(([, policy]) => policy.Properties?.PolicyDocument),
  );
}

describe("stateful stack", () => {
  let result: SynthResult;

  beforeAll(() => {
    // Prepare
    result = synthCollabry({ featureRoutes });
  });

  it("blocks public access, encrypts and retains the data bucket outside ephemeral stages", () => {
    // Assess
    result.stateful.hasResource("AWS::S3::Bucket", {
      Properties: Match.objectLike({
        BucketName: Match.anyValue(),
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
        },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: "data-bucket/" }),
      }),
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
    });
  });

  it("denies every non-TLS request to both buckets", () => {
    // Act
    const policies = resourcesOf(result.stateful, "AWS::S3::BucketPolicy");

    // Assess
    expect(policies).toHaveLength(2);
    for (const [, policy] of policies) {
      expect(policy.Properties?.PolicyDocument).toMatchObject({
        Statement: expect.arrayContaining([
          expect.objectContaining({
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action: "s3:*",
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          }),
        ]),
      });
    }
  });

  it("aborts abandoned multipart uploads and expires raw uploads", () => {
    // Assess
    result.stateful.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: "Enabled" }),
          Match.objectLike({ Prefix: "uploads/", ExpirationInDays: 30, Status: "Enabled" }),
        ]),
      },
    });
  });

  it("sends uploads/ object-created events to the ingestion queue", () => {
    // Assess
    result.stateful.hasResourceProperties("Custom::S3BucketNotifications", {
      NotificationConfiguration: {
        QueueConfigurations: [
          Match.objectLike({
            Events: ["s3:ObjectCreated:*"],
            Filter: { Key: { FilterRules: [{ Name: "prefix", Value: "uploads/" }] } },
          }),
        ],
      },
    });
  });

  it("has an ingestion queue with a DLQ, a bounded receive count and visibility ≥ 6× the worker timeout", () => {
    // Prepare
    const workerTimeout = result.stacks.config.ingest.workerTimeoutSeconds;

    // Act
    const queues = resourcesOf(result.stateful, "AWS::SQS::Queue");
    const main = queues.find(([, queue]) => queue.Properties?.RedrivePolicy !== undefined);

    // Assess
    expect(queues).toHaveLength(2);
    const props = main?.[1].Properties ?? {};
    expect(props.RedrivePolicy).toMatchObject({ maxReceiveCount: 5 });
    expect(props.VisibilityTimeout).toBeGreaterThanOrEqual(6 * workerTimeout);
    for (const [, queue] of queues) expect(queue.Properties?.SqsManagedSseEnabled).toBe(true);
  });

  it("wires the worker with partial batch failures and reserved concurrency", () => {
    // Prepare
    const worker = result.stacks.api.ingestWorker?.function;

    // Act
    const workerId = worker ? logicalIdOf(worker) : "";

    // Assess
    result.api.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: workerId },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      BatchSize: 5,
    });
    result.api.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "index.handler",
      ReservedConcurrentExecutions: 5,
      Timeout: result.stacks.config.ingest.workerTimeoutSeconds,
    });
  });

  it("creates the four secrets (LLM key only for an external model is absent here) and retains them", () => {
    // Act
    const secrets = resourcesOf(result.stateful, "AWS::SecretsManager::Secret");

    // Assess: ollama mode needs no LLM API key
    expect(secrets.map(([, secret]) => secret.Properties?.Name).sort()).toEqual(
      ["collabry/test/jwt-secret", "collabry/test/mongo-uri", "collabry/test/serper-api-key"].sort(),
    );
    result.stateful.allResources("AWS::SecretsManager::Secret", { DeletionPolicy: "Retain" });
  });

  it("grants each secret only to the functions that need it", () => {
    // Prepare
    const { api } = result.stacks;
    const find = (feature: string) => api.features.find((entry) => entry.feature === feature);

    // Act
    const authorizer = policyText(result, api.authorizerFunction);
    const meta = policyText(result, find("meta")?.buffered);
    const chat = policyText(result, find("chat")?.buffered);
    const worker = policyText(result, api.ingestWorker?.function);

    // Assess
    expect(authorizer).toContain("JwtSecret");
    expect(authorizer).not.toContain("MongoUriSecret");
    expect(authorizer).not.toContain("s3:");
    expect(meta).toContain("JwtSecret");
    expect(meta).toContain("MongoUriSecret");
    expect(meta).not.toContain("SerperApiKeySecret");
    expect(meta).not.toContain("s3:");
    expect(chat).toContain("s3:GetObject");
    expect(chat).not.toContain("s3:PutObject");
    expect(chat).not.toContain("SerperApiKeySecret");
    expect(worker).toContain("MongoUriSecret");
    expect(worker).not.toContain("JwtSecret");
    expect(worker).toContain("s3:PutObject");
    for (const text of [authorizer, meta, chat, worker]) expect(text).not.toContain("SerperApiKeySecret");
  });

  it("lets only the document feature enqueue ingestion and write uploads", () => {
    // Prepare
    const { api } = result.stacks;
    const senders = api.features.filter(({ profile }) => profile.sendsToIngestQueue);

    // Act
    const texts = api.features.map(({ feature, buffered }) => [feature, policyText(result, buffered)] as const);

    // Assess
    expect(senders.map(({ feature }) => feature)).toEqual(
      featureRoutes.some(({ feature }) => feature === "documents") ? ["documents"] : [],
    );
    for (const [feature, text] of texts) {
      const isSender = senders.some((sender) => sender.feature === feature);
      expect(text.includes("sqs:SendMessage"), feature).toBe(isSender);
      if (isSender) expect(text, feature).toContain("s3:PutObject");
    }
  });
});

describe("stateful stack, ephemeral stage with an external model and an imported JWT secret", () => {
  let result: SynthResult;

  beforeAll(() => {
    // Prepare
    result = synthCollabry({
      featureRoutes,
      config: {
        ephemeral: true,
        llm: {
          mode: "external",
          baseUrl: "https://api.openai.example/v1",
          chatModel: "gpt-4o-mini",
          embeddingsModel: "text-embedding-3-small",
        },
        existingSecrets: { jwtSecret: "shared/collabry-jwt" },
      },
    });
  });

  it("destroys data with the stack and imports the JWT secret instead of creating it", () => {
    // Act
    const names = resourcesOf(result.stateful, "AWS::SecretsManager::Secret").map(([, s]) => s.Properties?.Name);

    // Assess
    result.stateful.hasResource("AWS::S3::Bucket", { DeletionPolicy: "Delete" });
    expect(names).not.toContain("collabry/test/jwt-secret");
    expect(names).toContain("collabry/test/llm-api-key");
    expect(JSON.stringify(result.api.toJSON())).toContain("secret:shared/collabry-jwt-??????");
  });

  it("grants the LLM API key to model callers only", () => {
    // Prepare
    const { api } = result.stacks;
    const chat = api.features.find(({ feature }) => feature === "chat")?.buffered;
    const meta = api.features.find(({ feature }) => feature === "meta")?.buffered;

    // Assess
    expect(policyText(result, chat)).toContain("LlmApiKeySecret");
    expect(policyText(result, meta)).not.toContain("LlmApiKeySecret");
  });

  it("deploys no GPU host and no VPC functions", () => {
    // Assess
    expect(result.modelHost).toBeUndefined();
    for (const [, fn] of resourcesOf(result.api, "AWS::Lambda::Function")) {
      expect(fn.Properties?.VpcConfig).toBeUndefined();
    }
    result.api.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ LLM_BASE_URL: "https://api.openai.example/v1" }) },
    });
  });
});
