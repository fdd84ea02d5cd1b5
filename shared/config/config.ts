// One zod schema for the engine's whole environment. Parsed once at start-up; a bad value fails
// fast with every problem named. Names from the original engine keep their meaning.
import { z } from "../validation/zod.ts";

const DEFAULT_CORS_ORIGINS = [
  "http://localhost:3000",
  "http://localhost:5000",
  "http://127.0.0.1:3000",
  "http://127.0.0.1:5000",
];

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value))
  .optional();

const optionalUrl = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value))
  .pipe(z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional())
  .optional();

// Every method of a zod schema returns a new schema (a classic one attaches ~40 methods when built),
// so the repeated parts are built once and each field adds only its own bounds (one `check` for
// both) and default: 28 integer fields built ~140 schemas as `.int().min().max().default()` chains.
const integer = z.coerce.number().int();
const int = (min: number, max: number) => integer.check(z.gte(min), z.lte(max));
const nonEmpty = z.string().trim().min(1);

const booleanFlag = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((value) => value === "true" || value === "1" || value === "yes");

export const configSchema = z.object({
  /** "aws" inside Lambda (detected), "local" for `npm start` and tests. */
  RUNTIME: z.enum(["local", "aws"]).default("local"),
  STAGE: nonEmpty.default("local"),
  HOST: nonEmpty.default("127.0.0.1"),
  PORT: int(0, 65535).default(8000),
  DATA_DIR: nonEmpty.default(".data"),
  LOG_LEVEL: z
    .string()
    .trim()
    .toUpperCase()
    .pipe(z.enum(["DEBUG", "INFO", "WARN", "ERROR", "SILENT"]))
    .default("INFO"),

  JWT_SECRET_KEY: optionalString,
  JWT_SECRET_ARN: optionalString,
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
  /** Seconds of clock skew tolerated on `exp`/`nbf`/`iat`. */
  JWT_CLOCK_TOLERANCE_SECONDS: int(0, 300).default(30),

  MONGO_URI: optionalString,
  MONGO_URI_SECRET_ARN: optionalString,
  MONGO_DB: nonEmpty.default("collabry"),

  CORS_ORIGINS: z
    .string()
    .optional()
    .transform((value) => {
      const origins = (value ?? "")
        .split(",")
        .map((origin) => origin.trim().replace(/\/+$/, ""))
        .filter((origin) => origin !== "");
      return origins.length > 0 ? origins : DEFAULT_CORS_ORIGINS;
    }),

  LLM_BASE_URL: optionalUrl,
  LLM_MODEL: optionalString,
  LLM_API_KEY: optionalString,
  LLM_API_KEY_SECRET_ARN: optionalString,
  OLLAMA_BASE_URL: optionalUrl,
  OLLAMA_MODEL: optionalString,
  /** Whole-answer deadline for one model call. */
  LLM_TIMEOUT_MS: int(1_000, 900_000).default(120_000),
  /** Deadline for the first streamed token. */
  LLM_FIRST_TOKEN_TIMEOUT_MS: int(500, 600_000).default(30_000),
  LLM_MAX_RETRIES: int(0, 5).default(2),
  /** Consecutive model failures that open the circuit (requests then go to the offline engine). */
  LLM_CIRCUIT_FAILURES: int(1, 100).default(3),
  /** Seconds the circuit stays open before one request probes the model again. */
  LLM_CIRCUIT_OPEN_SECONDS: int(1, 3_600).default(30),
  /**
   * Local runtime only: the model client (LangChain's ChatOpenAI) runs in a worker thread, so token
   * streaming does not compete with request handling for the one event loop. Lambdas ignore it.
   */
  LLM_CLIENT_THREAD: booleanFlag.default(true),

  /** S3 bucket for uploads and index shards; unset locally = files under DATA_DIR. */
  DATA_BUCKET: optionalString,
  /** S3-compatible endpoint (MinIO, s3rver); path-style addressing is used with it. */
  S3_ENDPOINT: optionalUrl,
  AWS_REGION: optionalString,
  /** SQS ingestion queue; unset locally = the durable in-process queue. */
  INGEST_QUEUE_URL: optionalString,
  INGEST_DLQ_URL: optionalString,
  /** Seconds a claimed ingestion message stays invisible (in-process queue). */
  INGEST_VISIBILITY_TIMEOUT_SECONDS: int(5, 43_200).default(300),
  /** Deliveries before a message moves to the dead-letter queue. */
  INGEST_MAX_RECEIVES: int(1, 100).default(5),
  /** Base URL browsers use to reach this engine (local presigned uploads); default http://localhost:PORT. */
  PUBLIC_BASE_URL: optionalUrl,

  /** Embedding model on an OpenAI-compatible endpoint (e.g. nomic-embed-text); unset = the local embedder. */
  EMBEDDINGS_MODEL: optionalString,
  /** Endpoint of the embedding model; defaults to the chat model's endpoint. */
  EMBEDDINGS_BASE_URL: optionalUrl,
  EMBEDDINGS_API_KEY: optionalString,

  /** Largest document accepted (presigned and inline uploads). */
  MAX_UPLOAD_BYTES: int(1_024, 1024 * 1024 * 1024).default(25 * 1024 * 1024),
  /** Largest file accepted through multipart routes (larger ones go through presigned uploads). */
  MAX_MULTIPART_BYTES: int(1_024, 100 * 1024 * 1024).default(5 * 1024 * 1024),
  MAX_DOCUMENT_PAGES: int(1, 100_000).default(500),
  MAX_EXTRACTED_CHARS: int(1_000, 100_000_000).default(3_000_000),
  /** Zip-bomb guard: total uncompressed size a DOCX may declare. */
  MAX_DOCX_UNCOMPRESSED_BYTES: int(1_024, 2 * 1024 * 1024 * 1024).default(100 * 1024 * 1024),
  /** OCR time budget per document. */
  OCR_TIMEOUT_MS: int(1_000, 900_000).default(120_000),
  /** Memory for cached index shards per process. */
  SHARD_CACHE_BYTES: int(1024 * 1024, 16 * 1024 * 1024 * 1024).default(256 * 1024 * 1024),

  /** Local runtime only, for tests that serve pages on 127.0.0.1: lets URL ingestion fetch loopback. Exactly "true". */
  ALLOW_LOOPBACK_FETCH: z
    .enum(["true", "false"], { error: 'must be "true" or "false"' })
    .default("false")
    .transform((value) => value === "true"),

  SERPER_API_KEY: optionalString,
  SERPER_API_KEY_SECRET_ARN: optionalString,

  /** JSON request bodies above this size get 413 (file uploads have their own limits). */
  MAX_BODY_BYTES: int(1_024, 50 * 1024 * 1024).default(1024 * 1024),
  MAX_SESSIONS_PER_USER: int(1, 10_000).default(50),
  /** Tokens of recent conversation sent to the model with each message. */
  CHAT_HISTORY_TOKEN_BUDGET: int(0, 100_000).default(3_000),
  /** Requests per user and minute by route class (sliding window, shared through the store); 0 = no limit. */
  RATE_LIMIT_CHAT_PER_MINUTE: int(0, 100_000).default(20),
  RATE_LIMIT_GENERATE_PER_MINUTE: int(0, 100_000).default(10),
  RATE_LIMIT_UPLOAD_PER_MINUTE: int(0, 100_000).default(10),
  RATE_LIMIT_READ_PER_MINUTE: int(0, 100_000).default(240),
  /** Daily AI tokens per subscription tier (the token's `tier` claim, default free); 0 = unlimited. */
  QUOTA_TOKENS_FREE: int(0, 1_000_000_000_000).default(50_000),
  QUOTA_TOKENS_BASIC: int(0, 1_000_000_000_000).default(200_000),
  QUOTA_TOKENS_PRO: int(0, 1_000_000_000_000).default(1_000_000),
  QUOTA_TOKENS_ENTERPRISE: int(0, 1_000_000_000_000).default(10_000_000),
  /** Print a ready dev token at local start-up. */
  PRINT_DEV_TOKEN: booleanFlag.default(true),
});

/** Cross-field rules, checked on the raw environment so they are reported together with field errors. */
function crossFieldProblems(input: Record<string, string | undefined>): string[] {
  const set = (name: string) => (input[name] ?? "").trim() !== "";
  const problems: string[] = [];
  if (input.RUNTIME === "aws") {
    // In AWS there is no generated secret and no embedded store: both must be configured.
    if (!set("JWT_SECRET_KEY") && !set("JWT_SECRET_ARN"))
      problems.push("JWT_SECRET_ARN: required in AWS (or JWT_SECRET_KEY)");
    if (!set("MONGO_URI") && !set("MONGO_URI_SECRET_ARN"))
      problems.push("MONGO_URI_SECRET_ARN: required in AWS (or MONGO_URI)");
  }
  if (set("JWT_SECRET_KEY") && (input.JWT_SECRET_KEY ?? "").trim().length < 16) {
    problems.push("JWT_SECRET_KEY: must be at least 16 characters");
  }
  if (set("LLM_BASE_URL") && !set("LLM_MODEL")) problems.push("LLM_MODEL: required when LLM_BASE_URL is set");
  return problems;
}

export type Config = z.infer<typeof configSchema>;

/** Raised at start-up when the environment does not parse; the message names every problem. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
  }
}

/** Parses the environment (AWS runtime detected from Lambda's variables); throws ConfigError naming every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // A blank variable (`PORT=` in a .env file or compose file) means unset, so its default applies
  // instead of failing validation (or, for numbers, silently coercing to 0).
  const input: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value.trim() !== "") input[name] = value;
  if (input.RUNTIME === undefined && env.AWS_LAMBDA_FUNCTION_NAME) input.RUNTIME = "aws";
  // Parsed once per process: zod's compiled fast path for an object this wide costs more to generate
  // than it saves on one parse (a cold start's config parse 5–8 → 2.7–3.5 ms).
  const parsed = configSchema.safeParse(input, { jitless: true });
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join(".") || "(environment)"}: ${issue.message}`);
  problems.push(...crossFieldProblems(input));
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return parsed.data;
}
