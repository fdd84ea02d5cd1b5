// Virtual users: each has its own token and sessions and loops over a weighted mix of what the
// notebook page does, pausing a random "think time" between operations. Everything the engine
// acknowledged is written down in the user's ledger for the data check afterwards.
import { engineClient, type LoadRecorder, type StreamResult } from "./client.ts";
import { between, seededRandom } from "./stats.ts";

export interface AcknowledgedStream {
  kind: "session" | "generic";
  sessionId: string;
  key: string;
  message: string;
  /** The answer as streamed (compared with the stored assistant message). */
  text: string;
}

export interface UserLedger {
  userId: string;
  token: string;
  sessionIds: string[];
  /** Messages posted with POST …/messages and answered 200, by session. */
  messages: Array<{ sessionId: string; content: string }>;
  /** Streams that ended with `event: done` and no error event. */
  streams: AcknowledgedStream[];
  uploads: Array<{ taskId: string; filename: string }>;
}

export interface StreamSample {
  kind: "session" | "generic";
  key: string;
  outcome: StreamResult["outcome"];
  startedAt: number;
  firstTokenAt: number | null;
  latencyMs: number;
  sawDone: boolean;
  errorEvent: boolean;
}

/** What a run keeps of one stream a user read to its end. */
export function streamSample(kind: StreamSample["kind"], key: string, result: StreamResult): StreamSample {
  return {
    kind,
    key,
    outcome: result.outcome,
    startedAt: result.startedAt,
    firstTokenAt: result.firstTokenAt,
    latencyMs: result.latencyMs,
    sawDone: result.sawDone,
    errorEvent: result.events.includes("error"),
  };
}

export interface RunState {
  recorder: LoadRecorder;
  streams: StreamSample[];
  /** Date.now() after which no user starts a new operation (in-flight ones finish). */
  deadline: number;
  interrupted: () => boolean;
}

type Operation =
  | "listSessions"
  | "postMessage"
  | "readMessages"
  | "sessionStream"
  | "genericStream"
  | "upload"
  | "uploadStatus"
  | "listDocuments";

// Weights out of 100: reads dominate, as on the notebook page; one write in five is a chat turn.
const MIX: Array<[Operation, number]> = [
  ["listSessions", 15],
  ["postMessage", 20],
  ["readMessages", 15],
  ["sessionStream", 20],
  ["genericStream", 5],
  ["upload", 8],
  ["uploadStatus", 10],
  ["listDocuments", 7],
];

const SESSIONS_PER_USER = 2;
const TOPICS = ["photosynthesis", "the krebs cycle", "plate tectonics", "supply and demand", "the french revolution"];
const MATERIAL = [
  "Photosynthesis takes place in the chloroplasts of plant cells, where chlorophyll absorbs red and blue light.",
  "The light-dependent reactions split water, release oxygen and produce ATP and NADPH for the Calvin cycle.",
  "In the Calvin cycle the enzyme RuBisCO fixes carbon dioxide into three-carbon sugars that build glucose.",
  "Cellular respiration in the mitochondria releases the stored energy of glucose as ATP for the cell's work.",
  "Plate tectonics explains earthquakes and mountain ranges through the slow motion of lithospheric plates.",
  "When demand rises while supply stays fixed, the market price increases until a new equilibrium is reached.",
];

function pick(random: () => number): Operation {
  let roll = random() * 100;
  for (const [operation, weight] of MIX) {
    roll -= weight;
    if (roll < 0) return operation;
  }
  return "listSessions";
}

/** A few KB of study notes, different for every upload. */
function studyNotes(random: () => number, title: string): string {
  const lines = [`# ${title}`, ""];
  const target = between(random, 2_000, 6_000);
  let size = 0;
  while (size < target) {
    const sentence = MATERIAL[Math.floor(random() * MATERIAL.length)] ?? "";
    lines.push(`${sentence} (note ${between(random, 1, 1_000_000)})`);
    size += sentence.length + 16;
  }
  return lines.join("\n");
}

function recordOf(body: unknown): Record<string, unknown> {
  return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Creates the user's sessions; returns false when the engine refused (the user then sits the run out). */
export async function setUpUser(baseUrl: string, ledger: UserLedger, state: RunState): Promise<boolean> {
  const client = engineClient(baseUrl, ledger.token, state.recorder);
  for (let index = 0; index < SESSIONS_PER_USER; index += 1) {
    const created = await client.json("POST", "POST /ai/sessions", "/ai/sessions", { title: `Load ${index + 1}` });
    const id = recordOf(created.body).id;
    if (created.outcome !== 200 || typeof id !== "string") return false;
    ledger.sessionIds.push(id);
  }
  return true;
}

/** Runs one user's loop until the deadline. */
export async function runUser(
  baseUrl: string,
  ledger: UserLedger,
  state: RunState,
  options: { seed: number; thinkMs: number; index: number },
): Promise<void> {
  const random = seededRandom(options.seed * 1_000_003 + options.index);
  const client = engineClient(baseUrl, ledger.token, state.recorder);
  let counter = 0;
  const nextKey = () => {
    counter += 1;
    return `u${options.index}-${counter}`;
  };
  const anySession = () => ledger.sessionIds[Math.floor(random() * ledger.sessionIds.length)] ?? "";

  async function chat(kind: "session" | "generic"): Promise<void> {
    const sessionId = anySession();
    const key = nextKey();
    const topic = TOPICS[Math.floor(random() * TOPICS.length)] ?? "photosynthesis";
    const message = `Explain ${topic} in simple words [load:${key}]`;
    const result =
      kind === "session"
        ? await client.stream(
            "POST /ai/sessions/{id}/chat/stream",
            `/ai/sessions/${sessionId}/chat/stream`,
            { message },
            "session",
          )
        : await client.stream("POST /ai/chat/stream", "/ai/chat/stream", { message, session_id: sessionId }, "generic");
    const sample = streamSample(kind, key, result);
    state.streams.push(sample);
    if (result.outcome === 200 && result.sawDone && !sample.errorEvent) {
      ledger.streams.push({ kind, sessionId, key, message, text: result.text });
    }
  }

  async function upload(): Promise<void> {
    const key = nextKey();
    const filename = `notes-${key}.md`;
    const response = await client.json("POST", "POST /ai/upload", "/ai/upload", {
      content: studyNotes(random, `Study notes ${key}`),
      filename,
      metadata: { session_id: anySession(), source_id: `source-${key}`, source_type: "notes" },
    });
    const taskId = recordOf(response.body).task_id;
    if (response.outcome === 200 && typeof taskId === "string") ledger.uploads.push({ taskId, filename });
  }

  while (Date.now() < state.deadline && !state.interrupted()) {
    const operation = pick(random);
    switch (operation) {
      case "listSessions":
        await client.json("GET", "GET /ai/sessions", "/ai/sessions");
        break;
      case "postMessage": {
        const sessionId = anySession();
        const content = `My note on ${TOPICS[Math.floor(random() * TOPICS.length)]} [load:${nextKey()}]`;
        const response = await client.json(
          "POST",
          "POST /ai/sessions/{id}/messages",
          `/ai/sessions/${sessionId}/messages`,
          { role: "user", content, timestamp: new Date().toISOString() },
        );
        if (response.outcome === 200) ledger.messages.push({ sessionId, content });
        break;
      }
      case "readMessages":
        await client.json("GET", "GET /ai/sessions/{id}/messages", `/ai/sessions/${anySession()}/messages?limit=50`);
        break;
      case "sessionStream":
        await chat("session");
        break;
      case "genericStream":
        await chat("generic");
        break;
      case "upload":
        await upload();
        break;
      case "uploadStatus": {
        const latest = ledger.uploads[ledger.uploads.length - 1];
        if (latest) {
          await client.json("GET", "GET /ai/upload/status/{task_id}", `/ai/upload/status/${latest.taskId}`);
        } else {
          await upload();
        }
        break;
      }
      case "listDocuments":
        await client.json("GET", "GET /ai/documents", "/ai/documents");
        break;
    }
    if (options.thinkMs > 0) await sleep(between(random, 0, options.thinkMs));
  }
}
