// The load generator's HTTP side against the engine on loopback, every call timed and counted per
// route template. Streams are read frame by frame so the time to the first token is what a browser
// would see, not the time to the whole answer. Requests go through a fetch over node:http with
// kept-alive connections (the engine's model transport): undici's fetch made this generator use
// more CPU than the server it measured (0.45 core at 100 streams, 2.8 ms per stream), CPU taken
// from the engine on a 2-core machine.
import { createHttpFetch } from "#shared/llm/http-fetch.ts";
import { preciseNow } from "./stats.ts";

const loadFetch = createHttpFetch();

/** Outcome class of one request: an HTTP status, or why there was none. */
export type Outcome = number | "timeout" | "network";

export interface RouteSamples {
  latenciesMs: number[];
  outcomes: Map<Outcome, number>;
}

/** Every request of the run, grouped by route template (`POST /ai/sessions/{id}/messages`). */
export class LoadRecorder {
  readonly routes = new Map<string, RouteSamples>();
  /** When each request ended (performance.now()), for the run's timeline. */
  readonly completedAt: number[] = [];

  record(route: string, outcome: Outcome, latencyMs: number): void {
    this.completedAt.push(performance.now());
    let samples = this.routes.get(route);
    if (!samples) {
      samples = { latenciesMs: [], outcomes: new Map() };
      this.routes.set(route, samples);
    }
    samples.latenciesMs.push(latencyMs);
    samples.outcomes.set(outcome, (samples.outcomes.get(outcome) ?? 0) + 1);
  }
}

export interface JsonResult {
  outcome: Outcome;
  body: unknown;
  latencyMs: number;
}

export interface StreamResult {
  outcome: Outcome;
  /** Request start → first token frame, as wall-clock (preciseNow) instants. */
  startedAt: number;
  firstTokenAt: number | null;
  latencyMs: number;
  /** The answer as the client reassembles it. */
  text: string;
  events: string[];
  sawDone: boolean;
  /** Body of a JSON error answered instead of a stream. */
  errorBody: unknown;
}

const REQUEST_TIMEOUT_MS = 30_000;
// A stream of ~40 tokens takes ~1 s; 60 s means the engine is stuck, not slow.
const STREAM_TIMEOUT_MS = 60_000;

function classify(error: unknown): Outcome {
  return error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError")
    ? "timeout"
    : "network";
}

/** A client bound to one engine and one user's token. */
export function engineClient(baseUrl: string, token: string, recorder: LoadRecorder) {
  const headers = (json: boolean): Record<string, string> => ({
    authorization: `Bearer ${token}`,
    ...(json ? { "content-type": "application/json" } : {}),
  });

  async function json(method: string, route: string, path: string, body?: unknown): Promise<JsonResult> {
    const started = performance.now();
    let outcome: Outcome;
    let parsed: unknown;
    try {
      const response = await loadFetch(`${baseUrl}${path}`, {
        method,
        headers: headers(body !== undefined),
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      outcome = response.status;
      const text = await response.text();
      try {
        parsed = text === "" ? undefined : (JSON.parse(text) as unknown);
      } catch {
        parsed = text;
      }
    } catch (error) {
      outcome = classify(error);
    }
    const latencyMs = performance.now() - started;
    recorder.record(route, outcome, latencyMs);
    return { outcome, body: parsed, latencyMs };
  }

  /**
   * Posts to an SSE route and reads it to the end. `framing` follows the contract: session frames
   * are concatenated payloads with literal `\n` for newlines; generic events join their data lines.
   */
  async function stream(
    route: string,
    path: string,
    body: unknown,
    framing: "session" | "generic",
  ): Promise<StreamResult> {
    const startedAt = preciseNow();
    const started = performance.now();
    const result: StreamResult = {
      outcome: "network",
      startedAt,
      firstTokenAt: null,
      latencyMs: 0,
      text: "",
      events: [],
      sawDone: false,
      errorBody: undefined,
    };
    try {
      const response = await loadFetch(`${baseUrl}${path}`, {
        method: "POST",
        headers: { ...headers(true), accept: "text/event-stream" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(STREAM_TIMEOUT_MS),
      });
      result.outcome = response.status;
      if (!response.ok || !response.body || !response.headers.get("content-type")?.startsWith("text/event-stream")) {
        const text = await response.text();
        try {
          result.errorBody = JSON.parse(text) as unknown;
        } catch {
          result.errorBody = text;
        }
      } else {
        await readEvents(response.body, (event, data) => {
          if (event === "message") {
            // The first token frame: timed here, before anything else of this chunk is parsed.
            result.firstTokenAt ??= preciseNow();
            result.text += framing === "session" ? data.replace(/\\n/g, "\n") : data;
          } else {
            result.events.push(event);
            if (event === "done") result.sawDone = true;
          }
        });
      }
    } catch (error) {
      result.outcome = classify(error);
    }
    result.latencyMs = performance.now() - started;
    recorder.record(route, result.outcome, result.latencyMs);
    return result;
  }

  return { json, stream };
}

/** Feeds each SSE event (name, data lines joined with newlines) to `onEvent` as its blank line arrives. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: string, data: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "message";
  let data: string[] = [];
  const line = (text: string) => {
    if (text === "") {
      if (data.length > 0) onEvent(event, data.join("\n"));
      else if (event !== "message") onEvent(event, "");
      event = "message";
      data = [];
    } else if (text.startsWith("event:")) {
      event = text.slice(6).trim();
    } else if (text.startsWith("data:")) {
      const value = text.slice(5);
      data.push(value.startsWith(" ") ? value.slice(1) : value);
    }
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.indexOf("\n");
    while (newline !== -1) {
      line(buffer.slice(0, newline).replace(/\r$/, ""));
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf("\n");
    }
  }
  buffer += decoder.decode();
  if (buffer !== "") line(buffer);
  line("");
}
