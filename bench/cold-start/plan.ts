// The deployment units measured (one per Lambda the API stack creates), the environment each gets,
// and the requests each answers. Requests run in this order against one shared DATA_DIR, so later
// units find the document and session made by earlier ones.
import { featureRoutes } from "#functions/index.ts";
import { AUTHORIZER_PROFILE, INGEST_WORKER_PROFILE, profileFor } from "#infra/lib/features.ts";
import { ingestSqsEvent, restEvent, tokenAuthorizerEvent } from "./events.ts";
import type { ProbeInvocation, ProbeResult } from "./protocol.ts";

/** A mistake in the bench's arguments: reported as a message, without a stack. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * - `aws`: what a deployed function parses (RUNTIME=aws detected from AWS_LAMBDA_FUNCTION_NAME),
 *   JWT_SECRET_KEY given directly, MONGO_URI set but never contacted (authorizer only).
 * - `lambda-embedded-store`: the Lambda environment with RUNTIME=local forced, so the engine opens
 *   the embedded store in a temporary DATA_DIR (no MongoDB here), filesystem blobs and the
 *   in-process queue instead of S3/SQS, the offline chat model and the local embedder.
 * - `aws-unreachable-mongo`: `aws` with MONGO_URI on a closed port (what a feature does when the
 *   cluster is down); informational, not held to the targets.
 */
export type ConfigMode = "aws" | "lambda-embedded-store" | "aws-unreachable-mongo";

export interface BenchState {
  token: string;
  userId: string;
  documentId?: string;
  sessionId?: string;
}

export interface Unit {
  /** The function as deployed: `<feature>`, `<feature>-streaming`, `authorizer`, `ingest-worker`. */
  name: string;
  /** The bundle (one per entry module; a feature's two functions share it). */
  bundle: string;
  entry: string;
  exportName: "handler" | "streamingHandler";
  streaming: boolean;
  /** Run the exact CDK bundle (cloud adapters) instead of the runnable one (embedded adapters). */
  exact?: boolean;
  /** The faiss layer is attached (profile.usesVectorIndex): faiss-node resolves. */
  layer: boolean;
  /**
   * The stack gives the function a chat and embeddings model (profile.usesModel): the runnable bundles
   * get a loopback OpenAI-compatible stub in its place, so their init loads the model clients as
   * the deployed function's does.
   */
  usesModel: boolean;
  /** What the stub model answers this function with (tokens; structured features need valid JSON). */
  modelTokens?: string[];
  memoryMb: number;
  config: ConfigMode;
  informational: boolean;
  /** Why an informational unit exists. */
  note?: string;
  invocations(state: BenchState): ProbeInvocation[];
  /** Picks ids for later units out of the answers. */
  after?(result: ProbeResult, state: BenchState): void;
}

const MATERIAL =
  "Photosynthesis converts light energy into chemical energy. In the light-dependent reactions, " +
  "chlorophyll in the thylakoid membranes absorbs photons, water is split and oxygen is released, " +
  "while ATP and NADPH are produced. In the Calvin cycle, which runs in the stroma, the enzyme " +
  "RuBisCO fixes carbon dioxide into three-carbon sugars using that ATP and NADPH. Factors such as " +
  "light intensity, carbon dioxide concentration and temperature limit the overall rate.";

const MORE_MATERIAL =
  "Chlorophyll absorbs mostly red and blue light. The light-dependent reactions therefore depend on " +
  "chlorophyll and on light intensity. The Calvin cycle uses ATP and NADPH from the light-dependent " +
  "reactions; RuBisCO is the enzyme of the Calvin cycle that fixes carbon dioxide. Without ATP and " +
  "NADPH the Calvin cycle stops, and without carbon dioxide RuBisCO has nothing to fix.";

/** Enough repeated key terms for the offline quiz generator. */
const QUIZ_MATERIAL = `${MATERIAL} ${MORE_MATERIAL}`;

/** The stub model's answers: prose, except where a feature validates the model's JSON. */
const PROSE_ANSWER = ["RuBisCO ", "fixes ", "carbon ", "dioxide ", "in ", "the ", "Calvin ", "cycle."];
const MODEL_ANSWERS: Record<string, string[]> = {
  quiz: [
    JSON.stringify({
      questions: ["RuBisCO", "chlorophyll", "the stroma"].map((answer, index) => ({
        question: ["Which enzyme fixes carbon dioxide?", "What absorbs photons?", "Where does the Calvin cycle run?"][
          index
        ],
        options: [answer, ...["NADPH", "oxygen", "water"]],
        answer,
        explanation: `The material names ${answer}.`,
      })),
    }),
  ],
  mindmap: [
    JSON.stringify({
      root: {
        label: "Photosynthesis",
        children: [
          {
            label: "Light-dependent reactions",
            children: [{ label: "Thylakoid membranes" }, { label: "Water splitting" }],
          },
          { label: "Calvin cycle", children: [{ label: "Carbon dioxide fixation" }, { label: "Three-carbon sugars" }] },
        ],
      },
    }),
  ],
};

function jsonField(body: string | undefined, field: string): string | undefined {
  if (!body) return undefined;
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const value = parsed[field];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

type Requests = (state: BenchState) => ProbeInvocation[];

const post =
  (label: string, path: string, body: unknown): Requests =>
  (state) => [{ label, event: restEvent({ method: "POST", path, token: state.token, body }) }];
const get =
  (label: string, path: string): Requests =>
  (state) => [{ label, event: restEvent({ method: "GET", path, token: state.token }) }];
const twice =
  (first: Requests, second: Requests): Requests =>
  (state) => [...first(state), ...second(state)];

/** First and second request of each feature's buffered function. */
const BUFFERED: Record<string, Requests> = {
  meta: (state) => [
    { label: "GET /health", event: restEvent({ method: "GET", path: "/health" }) },
    { label: "GET /openapi.json", event: restEvent({ method: "GET", path: "/openapi.json" }) },
    ...get("GET /test-auth", "/test-auth")(state),
  ],
  documents: twice(
    post("POST /ai/upload", "/ai/upload", {
      content: `${MATERIAL}\n\n${MORE_MATERIAL}`,
      filename: "photosynthesis.md",
    }),
    get("GET /ai/documents", "/ai/documents"),
  ),
  sessions: twice(
    post("POST /ai/sessions", "/ai/sessions", { title: "Cold start bench" }),
    get("GET /ai/sessions", "/ai/sessions"),
  ),
  chat: twice(
    post("POST /ai/chat", "/ai/chat", { message: "What does RuBisCO do?" }),
    post("POST /ai/chat", "/ai/chat", { message: "And where does the Calvin cycle run?" }),
  ),
  qa: twice(
    post("POST /ai/qa", "/ai/qa", { question: "What is released when water is split?" }),
    post("POST /ai/qa", "/ai/qa", { question: "Which factors limit photosynthesis?" }),
  ),
  summarize: twice(
    post("POST /ai/summarize", "/ai/summarize", { text: MATERIAL }),
    post("POST /ai/summarize", "/ai/summarize", { text: MATERIAL }),
  ),
  quiz: twice(
    post("POST /ai/qa/generate", "/ai/qa/generate", { text: QUIZ_MATERIAL, num_questions: 3 }),
    post("POST /ai/qa/generate", "/ai/qa/generate", { text: QUIZ_MATERIAL, num_questions: 3 }),
  ),
  studyplan: twice(
    post("POST /ai/generate-study-plan", "/ai/generate-study-plan", {
      subject: "Biology",
      topics: ["Photosynthesis", "Cell respiration"],
      startDate: "2026-12-01",
      endDate: "2026-12-14",
    }),
    post("POST /ai/generate-study-plan", "/ai/generate-study-plan", {
      subject: "Chemistry",
      topics: ["Redox reactions"],
      startDate: "2026-12-01",
      endDate: "2026-12-07",
    }),
  ),
  mindmap: twice(
    post("POST /ai/mindmap", "/ai/mindmap", { topic: "Photosynthesis", depth: 2 }),
    post("POST /ai/mindmap", "/ai/mindmap", { topic: "Calvin cycle", depth: 2 }),
  ),
  flashcards: twice(get("GET /ai/flashcards", "/ai/flashcards"), get("GET /ai/flashcards", "/ai/flashcards")),
  usage: twice(get("GET /ai/usage/me", "/ai/usage/me"), get("GET /ai/usage/me", "/ai/usage/me")),
};

/** First and second request of each feature's streaming function. */
const STREAMING: Record<string, Requests> = {
  sessions: (state) => {
    const id = state.sessionId ?? "missing-session";
    const resource = "/ai/sessions/{id}/chat/stream";
    const path = `/ai/sessions/${id}/chat/stream`;
    return [
      {
        label: "POST /ai/sessions/{id}/chat/stream",
        event: restEvent({
          method: "POST",
          path,
          resource,
          pathParameters: { id },
          token: state.token,
          body: { message: "Explain the light-dependent reactions." },
        }),
      },
      {
        label: "GET /ai/sessions/{id}/chat/stream",
        event: restEvent({
          method: "GET",
          path,
          resource,
          pathParameters: { id },
          query: { message: "And the Calvin cycle?" },
          token: state.token,
        }),
      },
    ];
  },
  chat: twice(
    post("POST /ai/chat/stream", "/ai/chat/stream", { message: "What does chlorophyll absorb?" }),
    post("POST /ai/chat/stream", "/ai/chat/stream", { message: "What is NADPH for?" }),
  ),
  qa: twice(
    post("POST /ai/qa/stream", "/ai/qa/stream", { question: "Where is oxygen produced?" }),
    post("POST /ai/qa/stream", "/ai/qa/stream", { question: "What does the Calvin cycle make?" }),
  ),
  summarize: twice(
    post("POST /ai/summarize/stream", "/ai/summarize/stream", { text: MATERIAL }),
    post("POST /ai/summarize/stream", "/ai/summarize/stream", { text: MATERIAL }),
  ),
  quiz: twice(
    post("POST /ai/qa/generate/stream", "/ai/qa/generate/stream", { text: QUIZ_MATERIAL, num_questions: 3 }),
    post("POST /ai/qa/generate/stream", "/ai/qa/generate/stream", { text: QUIZ_MATERIAL, num_questions: 3 }),
  ),
};

/** Runs documents before the worker and sessions before its stream; the rest keep featureRoutes' order. */
const ORDER = ["meta", "documents", "sessions"];

export function buildPlan(): Unit[] {
  const units: Unit[] = [
    {
      name: "authorizer",
      bundle: "authorizer",
      entry: "functions/authorizer/handler.ts",
      exportName: "handler",
      streaming: false,
      layer: false,
      usesModel: false,
      memoryMb: AUTHORIZER_PROFILE.memoryMb,
      config: "aws",
      informational: false,
      invocations: (state) => [
        { label: "TOKEN (valid)", event: tokenAuthorizerEvent(state.token) },
        { label: "TOKEN (valid, warm)", event: tokenAuthorizerEvent(state.token) },
      ],
    },
  ];
  const features = [...featureRoutes].sort(
    (a, b) => rank(a.feature) - rank(b.feature) || featureRoutes.indexOf(a) - featureRoutes.indexOf(b),
  );
  for (const { feature, routes } of features) {
    const { profile } = profileFor(feature);
    const entry = `functions/${feature}/handler.ts`;
    const common = {
      bundle: feature,
      entry,
      layer: profile.usesVectorIndex,
      usesModel: profile.usesModel,
      ...(profile.usesModel ? { modelTokens: MODEL_ANSWERS[feature] ?? PROSE_ANSWER } : {}),
      memoryMb: profile.memoryMb,
    };
    if (routes.some((route) => !route.streaming)) {
      const buffered: Unit = {
        ...common,
        name: feature,
        exportName: "handler",
        streaming: false,
        config: "lambda-embedded-store",
        informational: false,
        invocations: BUFFERED[feature] ?? get("GET /health (no plan)", "/health"),
        after: afterBuffered(feature),
      };
      units.push(buffered);
    }
    if (feature === "documents") units.push(workerUnit());
    if (routes.some((route) => route.streaming)) {
      // A streaming entry of its own (the feature's profile names it) is a bundle of its own.
      const own = profile.streamingEntry;
      units.push({
        ...common,
        ...(own ? { bundle: `${feature}-streaming`, entry: `functions/${feature}/${own}` } : {}),
        name: `${feature}-streaming`,
        exportName: "streamingHandler",
        streaming: true,
        config: "lambda-embedded-store",
        informational: false,
        invocations: STREAMING[feature] ?? (() => []),
      });
    }
  }
  if (!units.some((unit) => unit.name === "ingest-worker")) units.push(workerUnit());
  units.push({
    name: "meta@unreachable-mongo",
    bundle: "meta",
    entry: "functions/meta/handler.ts",
    exportName: "handler",
    streaming: false,
    exact: true,
    layer: profileFor("meta").profile.usesVectorIndex,
    usesModel: false,
    memoryMb: profileFor("meta").profile.memoryMb,
    config: "aws-unreachable-mongo",
    informational: true,
    note: "the deployed bundle (MongoDB adapter), RUNTIME=aws with MongoDB down: /health must answer and say so",
    invocations: () => [{ label: "GET /health", event: restEvent({ method: "GET", path: "/health" }) }],
  });
  return units;
}

/** Units whose requests use what an earlier unit made (the worker ingests the uploaded document). */
const PREREQUISITES: Record<string, string> = { "ingest-worker": "documents", "sessions-streaming": "sessions" };

/**
 * The units named in `only` (a function's name, or a bundle's name for both of its functions), with
 * the units they depend on, in plan order.
 */
export function selectUnits(plan: readonly Unit[], only: readonly string[]): Unit[] {
  const wanted = new Set(only);
  for (const name of only) {
    const prerequisite = PREREQUISITES[name];
    if (prerequisite) wanted.add(prerequisite);
  }
  // A feature's name selects both its functions, also where the streaming one has a bundle of its own.
  const selected = plan.filter(
    (unit) => wanted.has(unit.name) || wanted.has(unit.bundle) || wanted.has(unit.name.replace(/-streaming$/, "")),
  );
  const unknown = only.filter((name) => !plan.some((unit) => unit.name === name || unit.bundle === name));
  if (unknown.length > 0) {
    throw new UsageError(
      `--only: no function or bundle named ${unknown.join(", ")} (known: ${plan.map((unit) => unit.name).join(", ")})`,
    );
  }
  return selected;
}

function rank(feature: string): number {
  const index = ORDER.indexOf(feature);
  return index === -1 ? ORDER.length : index;
}

function afterBuffered(feature: string): Unit["after"] {
  if (feature === "documents") {
    return (result, state) => {
      const id =
        jsonField(result.invocations[0]?.body, "document_id") ?? jsonField(result.invocations[0]?.body, "task_id");
      if (id) state.documentId = id;
    };
  }
  if (feature === "sessions") {
    return (result, state) => {
      const id = jsonField(result.invocations[0]?.body, "id") ?? jsonField(result.invocations[0]?.body, "_id");
      if (id) state.sessionId = id;
    };
  }
  return undefined;
}

function workerUnit(): Unit {
  return {
    name: "ingest-worker",
    bundle: "ingest-worker",
    entry: "functions/ingest/worker.ts",
    exportName: "handler",
    streaming: false,
    layer: INGEST_WORKER_PROFILE.usesVectorIndex,
    usesModel: INGEST_WORKER_PROFILE.usesModel,
    modelTokens: PROSE_ANSWER,
    memoryMb: INGEST_WORKER_PROFILE.memoryMb,
    config: "lambda-embedded-store",
    informational: false,
    invocations: (state) => {
      const documentId = state.documentId ?? "missing-document";
      return [
        { label: "SQS ingest (new document)", event: ingestSqsEvent(state.userId, documentId) },
        { label: "SQS ingest (redelivery, idempotent)", event: ingestSqsEvent(state.userId, documentId) },
      ];
    },
  };
}
