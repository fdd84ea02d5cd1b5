// Everything that holds data or identity and must outlive redeploys: the data bucket, the ingestion
// queue and the secrets. Retained outside ephemeral stages, so deleting the stack never deletes a
// student's uploads or the JWT secret shared with the Collabry backend.
import { Aws, Duration, RemovalPolicy, Stack, type StackProps, Validations } from "aws-cdk-lib";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3n from "aws-cdk-lib/aws-s3-notifications";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import type { DeployConfig } from "../config.ts";
import { IngestQueue } from "../constructs/ingest-queue.ts";
import type { SecretName } from "../features.ts";

export interface StatefulStackProps extends StackProps {
  readonly config: DeployConfig;
}

/** Prefix of raw uploads; object-created events under it start ingestion. */
export const UPLOADS_PREFIX = "uploads/";

/**
 * The data bucket's name, known without a cross-stack reference: IAM policies of other stacks name
 * it literally (readable in review, stable across synths), and account + region keep it unique.
 */
export function dataBucketName(config: Pick<DeployConfig, "stage" | "region">): string {
  return `collabry-${config.stage}-data-${Aws.ACCOUNT_ID}-${config.region}`;
}

export class StatefulStack extends Stack {
  readonly dataBucket: s3.Bucket;
  readonly ingestQueue: sqs.Queue;
  readonly ingestDeadLetterQueue: sqs.Queue;
  /** Secrets by role; `llmApiKey` only exists for an external model endpoint. */
  readonly secrets: Partial<Record<SecretName, secretsmanager.ISecret>>;
  private readonly stage: string;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.stage = config.stage;
    const removalPolicy = config.ephemeral ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    const accessLogs = new s3.Bucket(this, "AccessLogsBucket", {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: "expire-access-logs", expiration: Duration.days(90) }],
      removalPolicy,
      autoDeleteObjects: config.ephemeral,
    });
    Validations.of(accessLogs).acknowledge({
      id: "AwsSolutions-S1",
      reason: "This is the server access log bucket of the data bucket; logging it into itself would loop.",
    });

    this.dataBucket = new s3.Bucket(this, "DataBucket", {
      bucketName: dataBucketName(config),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // SSE-S3: Lambda reads and writes need no KMS permissions or per-request KMS cost.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: "data-bucket/",
      // Browsers upload straight to S3 with presigned POSTs from the allowed frontends only.
      cors: [
        {
          allowedMethods: [s3.HttpMethods.POST, s3.HttpMethods.PUT],
          allowedOrigins: config.corsOrigins,
          allowedHeaders: ["*"],
          maxAge: 3_000,
        },
      ],
      lifecycleRules: [
        // Abandoned multipart uploads are invisible but billed: drop them after a day.
        { id: "abort-incomplete-multipart", abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // Raw uploads are only needed until ingestion (and a possible re-ingestion); indexes stay.
        {
          id: "expire-raw-uploads",
          prefix: UPLOADS_PREFIX,
          expiration: Duration.days(config.ingest.uploadsExpireDays),
        },
      ],
      removalPolicy,
      autoDeleteObjects: config.ephemeral,
    });

    const ingest = new IngestQueue(this, "Ingest", {
      workerTimeout: Duration.seconds(config.ingest.workerTimeoutSeconds),
      maxReceiveCount: config.ingest.maxReceiveCount,
      removalPolicy,
    });
    this.ingestQueue = ingest.queue;
    this.ingestDeadLetterQueue = ingest.deadLetterQueue;
    Validations.of(ingest.deadLetterQueue).acknowledge({
      id: "AwsSolutions-SQS3",
      reason: "This queue is the dead-letter queue of the ingestion queue; a DLQ of a DLQ would hide failures.",
    });

    this.dataBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.ingestQueue), {
      prefix: UPLOADS_PREFIX,
    });

    this.secrets = {
      jwtSecret: this.secret("JwtSecret", config.existingSecrets.jwtSecret, "jwt-secret", removalPolicy, {
        // Shared with the Collabry backend: import it (existingSecrets.jwtSecret) to keep one value.
        generate: true,
      }),
      mongoUri: this.secret("MongoUriSecret", config.existingSecrets.mongoUri, "mongo-uri", removalPolicy),
      serperApiKey: this.secret(
        "SerperApiKeySecret",
        config.existingSecrets.serperApiKey,
        "serper-api-key",
        removalPolicy,
      ),
    };
    if (config.llm.mode === "external") {
      this.secrets.llmApiKey = this.secret(
        "LlmApiKeySecret",
        config.existingSecrets.llmApiKey,
        "llm-api-key",
        removalPolicy,
      );
    }
  }

  /** Imports an existing secret by name, or creates one named collabry/<stage>/<suffix>. */
  private secret(
    id: string,
    existingName: string | undefined,
    suffix: string,
    removalPolicy: RemovalPolicy,
    options: { generate?: boolean } = {},
  ): secretsmanager.ISecret {
    if (existingName) return secretsmanager.Secret.fromSecretNameV2(this, id, existingName);
    const secret = new secretsmanager.Secret(this, id, {
      secretName: `collabry/${this.stage}/${suffix}`,
      description: options.generate
        ? "Generated value; replace it with the value the Collabry backend uses (see infra/README.md)."
        : "Placeholder value; set the real value after the first deploy (see infra/README.md).",
      // A random 64-character value: a usable HS256 key for the JWT secret, a placeholder otherwise.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy,
    });
    // Rotation would change a value owned by another system (backend JWT key, Atlas user, vendor key).
    Validations.of(secret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "The value is owned by an external system (Collabry backend, MongoDB Atlas, model/search vendor) and rotated there; see infra/README.md.",
    });
    return secret;
  }
}
