// What each feature's Lambda needs, beside its routes (which come from functions/index.ts as data).
// Least privilege by default: a feature missing here gets the minimum (JWT + MongoDB, no model, no
// bucket) and the synth warns, so a new feature is deployed but cannot reach what nobody granted.
import type { FeatureRoutes, RouteSpec } from "#shared/http/routes.ts";
import type { ParsedContent } from "./constructs/document-parsers.ts";

export type SecretName = "jwtSecret" | "mongoUri" | "llmApiKey" | "serperApiKey";

export interface FeatureProfile {
  /** Secrets the function may read (IAM grant + `*_SECRET_ARN` variable). */
  secrets: readonly SecretName[];
  /** Calls the chat/embeddings model: runs in the VPC when the model is the Ollama host. */
  usesModel: boolean;
  /** Loads FAISS shards: gets the faiss layer. */
  usesVectorIndex: boolean;
  /** Access to the data bucket. */
  bucket: "none" | "read" | "readWrite";
  /** Sends ingestion messages (inline uploads). */
  sendsToIngestQueue: boolean;
  memoryMb: number;
  timeoutSeconds: number;
  /** Parses files or web pages itself: its parsers are installed beside the bundle (constructs/document-parsers.ts). */
  parses?: ParsedContent;
  /**
   * Module of the streaming routes' function (`streamingHandler`) in functions/<feature>/ when it is
   * not handler.ts, so it gets a bundle of its own: for a feature whose streaming routes always call
   * the model and whose buffered ones rarely do, only the streaming bundle links the model clients.
   */
  streamingEntry?: string;
}

const base = { secrets: ["jwtSecret", "mongoUri"], memoryMb: 512, timeoutSeconds: 30 } as const;

/** Generation features: retrieve the user's material, call the model, answer (often streamed). */
const generation: FeatureProfile = {
  ...base,
  secrets: ["jwtSecret", "mongoUri", "llmApiKey"],
  usesModel: true,
  usesVectorIndex: true,
  bucket: "read",
  sendsToIngestQueue: false,
  memoryMb: 1_024,
  // Buffered integrations end at API Gateway's 29 s limit: running longer would only bill work
  // nobody receives. Streamed routes get STREAMING_TIMEOUT_SECONDS.
  timeoutSeconds: 29,
};

export const DEFAULT_PROFILE: FeatureProfile = {
  ...base,
  usesModel: false,
  usesVectorIndex: false,
  bucket: "none",
  sendsToIngestQueue: false,
};

export const FEATURE_PROFILES: Readonly<Record<string, FeatureProfile>> = {
  meta: { ...DEFAULT_PROFILE, memoryMb: 256, timeoutSeconds: 10 },
  // The chat stream links the model clients (functions/sessions/streaming.ts); the buffered routes
  // (listing, reading, deleting sessions and messages) never call the model and bundle none of it.
  sessions: { ...generation, streamingEntry: "streaming.ts" },
  chat: generation,
  documents: {
    ...DEFAULT_PROFILE,
    bucket: "readWrite",
    sendsToIngestQueue: true,
    timeoutSeconds: 30,
    parses: "web pages",
  },
  // The file routes (/ai/qa/file, /ai/qa/generate/file) read an attached document without storing it.
  qa: { ...generation, parses: "documents" },
  summarize: generation,
  quiz: { ...generation, parses: "documents" },
  flashcards: generation,
  mindmap: generation,
  studyplan: generation,
  usage: DEFAULT_PROFILE,
  tools: { ...generation, secrets: ["jwtSecret", "mongoUri", "llmApiKey", "serperApiKey"] },
};

/** The authorizer only verifies JWTs. */
export const AUTHORIZER_PROFILE = { secrets: ["jwtSecret"] as const, memoryMb: 256, timeoutSeconds: 10 };

/** The ingestion worker: extract, chunk, embed, write FAISS shards. */
export const INGEST_WORKER_PROFILE: FeatureProfile = {
  secrets: ["mongoUri", "llmApiKey"],
  usesModel: true,
  usesVectorIndex: true,
  bucket: "readWrite",
  sendsToIngestQueue: false,
  memoryMb: 2_048,
  timeoutSeconds: 300,
};

/** Streaming Lambdas may run up to API Gateway's 15-minute streaming limit; 5 minutes is plenty for an answer. */
export const STREAMING_TIMEOUT_SECONDS = 300;

export function profileFor(feature: string): { profile: FeatureProfile; known: boolean } {
  const profile = FEATURE_PROFILES[feature];
  return profile ? { profile, known: true } : { profile: DEFAULT_PROFILE, known: false };
}

/** "METHOD /path": the key used in config overrides and tests. */
export function routeKey(route: Pick<RouteSpec, "method" | "path">): string {
  return `${route.method} ${route.path}`;
}

/** Flat list of routes with their feature, checked for duplicates (two features cannot own one route). */
export function flattenRoutes(features: readonly FeatureRoutes[]): Array<RouteSpec & { feature: string }> {
  const seen = new Map<string, string>();
  const routes: Array<RouteSpec & { feature: string }> = [];
  for (const { feature, routes: featureRoutes } of features) {
    if (!/^[a-z][a-z0-9-]*$/.test(feature)) throw new Error(`feature name "${feature}" must be lower-case kebab`);
    for (const route of featureRoutes) {
      const key = routeKey(route);
      const owner = seen.get(key);
      if (owner) throw new Error(`route ${key} is declared by both "${owner}" and "${feature}"`);
      seen.set(key, feature);
      routes.push({ ...route, feature });
    }
  }
  return routes;
}
