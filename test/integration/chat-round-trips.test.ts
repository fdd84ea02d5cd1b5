// How many store round trips a chat turn waits for, one after another, before the model is called.
// With MongoDB each is a network round trip on the path to the first token, so the engine issues
// what it can together: the quota check with the rate limit, then the session, its history and the
// search of the student's documents. The store here makes every operation take 40 ms and records it.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openEmbeddedStore } from "#shared/store/embedded.ts";
import { clientFor, parseSessionStream, startTestEngine, type TestEngine } from "#test/support/engine.ts";
import { type StubLlm, startStubLlm } from "#test/support/stub-llm.ts";
import { sequentialRoundTrips, type TimedStore, timedStore } from "#test/support/timed-store.ts";

const STORE_DELAY_MS = 40;

let engine: TestEngine | undefined;
let stub: StubLlm | undefined;

afterEach(async () => {
  await engine?.cleanup();
  engine = undefined;
  await stub?.close().catch(() => undefined);
  stub = undefined;
});

async function start(): Promise<{ engine: TestEngine; stub: StubLlm; timed: TimedStore }> {
  stub = await startStubLlm({ tokens: ["Chlorophyll ", "absorbs ", "light."] });
  const dataDir = await mkdtemp(join(tmpdir(), "collabry-round-trips-"));
  const timed = timedStore(await openEmbeddedStore({ dir: dataDir }), STORE_DELAY_MS);
  engine = await startTestEngine(
    {
      LLM_BASE_URL: stub.baseUrl,
      LLM_MODEL: "stub-model",
      // Both checks on, as deployed: each is a store operation on the way to the model.
      RATE_LIMIT_CHAT_PER_MINUTE: "100",
      QUOTA_TOKENS_FREE: "100000",
      // The model client in this thread: its request leaves as soon as the engine makes it.
      LLM_CLIENT_THREAD: "false",
    },
    dataDir,
    { store: timed.store },
  );
  return { engine, stub, timed };
}

/**
 * Writes that run on their own schedule, not on a request's path: the usage ledger's write-behind
 * flush and the ingest queue's poll.
 */
const BACKGROUND = /^(usage_logs\.|daily_stats\.updateOne|queue_ingest\.)/;

/**
 * The store steps, each the operations issued together, that ended between `from` and the arrival of
 * the last model request: those the turn waited for before calling the model. (The student's message
 * is stored while the model call starts; the store's delay keeps that write from ending first.)
 */
function stepsBeforeModel(timed: TimedStore, stub: StubLlm, from: number): string[][] {
  const modelRequest = stub.requests.findLast((request) => request.path.endsWith("/chat/completions"));
  if (!modelRequest) throw new Error("the model was never called");
  const operations = timed.operations.filter((operation) => !BACKGROUND.test(operation.name));
  return sequentialRoundTrips(operations, from, modelRequest.receivedAt);
}

describe("store round trips before the model is called", () => {
  it("are two for a session chat stream: the quota with the rate limit, then the session with its history and documents", async () => {
    // Prepare
    const { engine, stub, timed } = await start();
    const client = clientFor(engine.url, await engine.token("alice"));
    const { id } = (await (await client.send("POST", "/ai/sessions", { title: "Light" })).json()) as { id: string };
    // A first turn warms the engine's code and the model connection up.
    await (await client.send("POST", `/ai/sessions/${id}/chat/stream`, { message: "Hello" })).text();
    const from = performance.now();

    // Act
    const response = await client.send("POST", `/ai/sessions/${id}/chat/stream`, {
      message: "What does chlorophyll do?",
    });
    const { text } = parseSessionStream(await response.text());

    // Assess
    expect(response.status).toBe(200);
    expect(text).toBe("Chlorophyll absorbs light.");
    expect(stepsBeforeModel(timed, stub, from)).toEqual([
      ["daily_stats.findOne", "rate_limits.findOne", "rate_limits.findOneAndUpdate"],
      ["chat_messages.find", "chat_sessions.findOne", "documents.find"],
    ]);
    const messages = (await (await client.get(`/ai/sessions/${id}/messages`)).json()) as Array<{ role: string }>;
    expect(messages.map((message) => message.role)).toEqual(["user", "assistant", "user", "assistant"]);
    const session = (await (await client.get(`/ai/sessions/${id}`)).json()) as { message_count: number };
    expect(session.message_count).toBe(4);
  });

  it("are two for the generic chat stream in an existing session, which stays the caller's alone", async () => {
    // Prepare
    const { engine, stub, timed } = await start();
    const alice = clientFor(engine.url, await engine.token("alice"));
    const bob = clientFor(engine.url, await engine.token("bob"));
    const { id } = (await (await alice.send("POST", "/ai/sessions", { title: "Light" })).json()) as { id: string };
    await (await alice.send("POST", "/ai/chat/stream", { message: "Hello", session_id: id })).text();
    const from = performance.now();

    // Act
    const response = await alice.send("POST", "/ai/chat/stream", {
      message: "What does chlorophyll do?",
      session_id: id,
    });
    await response.text();
    const foreign = await bob.send("POST", "/ai/chat/stream", { message: "Show me her notes", session_id: id });

    // Assess
    expect(response.status).toBe(200);
    expect(stepsBeforeModel(timed, stub, from)).toEqual([
      ["daily_stats.findOne", "rate_limits.findOne", "rate_limits.findOneAndUpdate"],
      ["chat_messages.find", "chat_sessions.findOne"],
    ]);
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as { detail: string }).detail).toBe("Session not found");
    const messages = (await (await alice.get(`/ai/sessions/${id}/messages`)).json()) as Array<{ role: string }>;
    expect(messages.map((message) => message.role)).toEqual(["user", "assistant", "user", "assistant"]);
  });
});
