// Deploy configuration: one zod schema, parsed once in infra/bin/app.ts from the per-stage file and
// CDK context. A bad value fails the synth naming every problem (no silent defaults for what matters).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { z } from "#shared/validation/zod.ts";

const retentionValues = new Set<number>(
  Object.values(RetentionDays).filter((value): value is number => typeof value === "number"),
);

const origin = z
  .string()
  .trim()
  .regex(/^https?:\/\/[^/\s]+$/, "must be an origin like https://app.example.com (scheme and host, no path)");

const modelName = z.string().trim().min(1);

const throttleSchema = z.object({
  /** Steady-state requests per second. */
  rateLimit: z.number().positive().max(10_000),
  /** Bucket size for bursts. */
  burstLimit: z.number().int().positive().max(5_000),
});

const ollamaSchema = z.object({
  mode: z.literal("ollama"),
  /** A g-family GPU type: g5.xlarge (1× A10G, 24 GiB) fits an 8B chat model plus the embedder. */
  instanceType: z
    .string()
    .regex(/^g\d[a-z]*\.[0-9]*x?large$/, "must be a GPU instance type of the g family, e.g. g5.xlarge")
    .default("g5.xlarge"),
  chatModel: modelName.default("llama3.1:8b"),
  embeddingsModel: modelName.default("nomic-embed-text"),
  /** Pinned Ollama release installed by the user data (reproducible hosts). */
  ollamaVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/)
    .default("0.12.6"),
  /** SSM public parameter of the AWS Deep Learning Base GPU AMI (NVIDIA driver, CUDA; Amazon Linux 2023). */
  amiParameter: z
    .string()
    .startsWith("/aws/service/")
    .default("/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id"),
  /** Size of the EBS data volume holding the models. */
  dataVolumeGiB: z.number().int().min(30).max(2_000).default(100),
  /** Ollama unloads a model after this idle time (Go duration); long keeps the first token fast. */
  keepAlive: z.string().default("24h"),
});

const externalSchema = z.object({
  mode: z.literal("external"),
  /** OpenAI-compatible base URL, e.g. https://api.openai.com/v1 or https://api.groq.com/openai/v1. */
  baseUrl: z.url({ protocol: /^https$/, error: "must be an https URL" }),
  chatModel: modelName,
  embeddingsModel: modelName,
});

export const deployConfigSchema = z.object({
  /** Stage name: part of every stack and resource name. */
  stage: z.string().regex(/^[a-z][a-z0-9-]{1,15}$/, "lower-case letters, digits and dashes, 2-16 characters"),
  region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "must be an AWS region like eu-west-1"),
  /** Ephemeral stages (previews, dev) destroy their data with the stack; others retain it. */
  ephemeral: z.boolean().default(false),
  corsOrigins: z.array(origin).min(1),
  llm: z.discriminatedUnion("mode", [ollamaSchema, externalSchema]),
  /** Alarm notifications; no subscription when omitted (the topic still exists). */
  alarmEmail: z.email().optional(),
  logRetentionDays: z
    .number()
    .int()
    .refine(
      (days) => retentionValues.has(days),
      "must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, …)",
    )
    .default(30),
  logLevel: z.enum(["DEBUG", "INFO", "WARN", "ERROR"]).default("INFO"),
  /** One Lambda architecture for every function and for the faiss layer (see infra/README.md). */
  architecture: z.enum(["x86_64", "arm64"]).default("x86_64"),
  mongoDb: z.string().trim().min(1).default("collabry"),
  jwt: z.object({ issuer: z.string().min(1).optional(), audience: z.string().min(1).optional() }).default({}),
  /** Authorizer result cache (0 disables caching). */
  authorizerCacheSeconds: z.number().int().min(0).max(3_600).default(300),
  throttling: z
    .object({
      /** Stage-wide default for every method. */
      stage: throttleSchema.default({ rateLimit: 50, burstLimit: 100 }),
      /** Streaming routes hold a model slot for the whole answer: a lower default. */
      streaming: throttleSchema.default({ rateLimit: 5, burstLimit: 10 }),
      /** Per-route overrides keyed "METHOD /path" exactly as in featureRoutes, e.g. "POST /ai/chat". */
      routes: z.record(z.string().regex(/^(GET|POST|PUT|PATCH|DELETE) \/\S*$/), throttleSchema).default({}),
    })
    .default({ stage: { rateLimit: 50, burstLimit: 100 }, streaming: { rateLimit: 5, burstLimit: 10 }, routes: {} }),
  /** Per-feature Lambda sizing overrides (defaults live in infra/lib/features.ts). */
  functions: z
    .record(
      z.string(),
      z.object({
        memoryMb: z.number().int().min(128).max(10_240).optional(),
        timeoutSeconds: z.number().int().min(1).max(900).optional(),
      }),
    )
    .default({}),
  ingest: z
    .object({
      workerMemoryMb: z.number().int().min(512).max(10_240).default(2_048),
      workerTimeoutSeconds: z.number().int().min(30).max(900).default(300),
      /** Caps parallel ingestion (≥ 2: the SQS poller's minimum concurrency) so the embedder and MongoDB are not flooded. */
      reservedConcurrency: z.number().int().min(2).max(100).default(5),
      maxReceiveCount: z.number().int().min(1).max(20).default(5),
      batchSize: z.number().int().min(1).max(10).default(5),
      /** Raw uploads under `uploads/` expire after this many days (their text lives on in the index). */
      uploadsExpireDays: z.number().int().min(1).max(3_650).default(30),
      /** Alarm when the oldest ingestion message waits longer than this. */
      maxQueueAgeSeconds: z.number().int().min(60).default(900),
    })
    .default({
      workerMemoryMb: 2_048,
      workerTimeoutSeconds: 300,
      reservedConcurrency: 5,
      maxReceiveCount: 5,
      batchSize: 5,
      uploadsExpireDays: 30,
      maxQueueAgeSeconds: 900,
    }),
  /** Names of secrets that already exist (e.g. the JWT secret shared with the Collabry backend). */
  existingSecrets: z
    .object({
      jwtSecret: z.string().min(1).optional(),
      mongoUri: z.string().min(1).optional(),
      llmApiKey: z.string().min(1).optional(),
      serperApiKey: z.string().min(1).optional(),
    })
    .default({}),
});

export type DeployConfig = z.infer<typeof deployConfigSchema>;
export type DeployConfigInput = z.input<typeof deployConfigSchema>;
export type OllamaConfig = z.infer<typeof ollamaSchema>;

/** Raised when the deploy configuration does not parse; the message names every problem. */
export class DeployConfigError extends Error {
  override readonly name = "DeployConfigError";
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid deploy configuration (${source}):\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
  }
}

/** Validates an already-merged configuration object. */
export function parseDeployConfig(input: unknown, source = "inline"): DeployConfig {
  const parsed = deployConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new DeployConfigError(
      source,
      parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`),
    );
  }
  return parsed.data;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deep merge for config layering: objects merge key by key, everything else (arrays too) replaces. */
export function mergeConfig(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergeConfig(current, value) : value;
  }
  return merged;
}

/**
 * Loads `<configDir>/<stage>.json` (when present) and layers the `config` context object over it,
 * e.g. `-c stage=dev -c config='{"alarmEmail":"ops@example.com"}'`.
 */
export function loadDeployConfig(options: {
  stage: string;
  configDir: string;
  contextOverrides?: Record<string, unknown>;
}): DeployConfig {
  const file = join(options.configDir, `${options.stage}.json`);
  let fromFile: Record<string, unknown> = {};
  if (existsSync(file)) {
    const raw: unknown = JSON.parse(readFileSync(file, "utf8"));
    if (!isPlainObject(raw)) throw new DeployConfigError(file, ["the file must hold a JSON object"]);
    fromFile = raw;
  } else if (!options.contextOverrides) {
    throw new DeployConfigError(file, [
      `no configuration for stage "${options.stage}": create ${file} or pass -c config='{…}'`,
    ]);
  }
  const merged = mergeConfig(mergeConfig(fromFile, options.contextOverrides ?? {}), { stage: options.stage });
  return parseDeployConfig(merged, existsSync(file) ? file : "context");
}
