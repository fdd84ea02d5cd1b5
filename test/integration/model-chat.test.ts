// Chat through the local runtime against a stub OpenAI-compatible model server on loopback.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  clientFor,
  parseGenericStream,
  parseSessionStream,
  startTestEngine,
  type TestEngine,
} from "#test/support/engine.ts";
import { type StubLlm, startStubLlm } from "#test/support/stub-llm.ts";

let stub: StubLlm;
let engine: TestEngine;
let alice: ReturnType<typeof clientFor>;

const TRICKY_TOKENS = [
  "## Osmosis",
  "\n\n",
  "Water ",
  "moves ",
  " ",
  "across\na ",
  "membrane: ",
  "é ",
  "水 ",
  "🧪",
  "\n",
  "- ",
  "done.",
];

beforeAll(async () => {
  stub = await startStubLlm();
  engine = await startTestEngine({
    LLM_BASE_URL: stub.baseUrl,
    LLM_MODEL: "stub-model",
    LLM_API_KEY: "sk-test-key",
    LLM_MAX_RETRIES: "0",
  });
  alice = clientFor(engine.url, await engine.token("alice"));
});

afterAll(async () => {
  await engine.cleanup();
  await stub.close();
});

beforeEach(() => {
  stub.setBehaviour({ tokens: TRICKY_TOKENS, tokenDelayMs: 0, firstTokenDelayMs: 0, failWith: undefined });
  stub.requests.length = 0;
});

async function newSession(): Promise<string> {
  return ((await (await alice.send("POST", "/ai/sessions", { title: "Stub chat" })).json()) as { id: string }).id;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("condition not met in time");
}

describe("session chat stream with a model", () => {
  it("forwards every token so the notebook's parser rebuilds the exact answer, then stores it", async () => {
    // Prepare
    const id = await newSession();

    // Act
    const response = await alice.send("POST", `/ai/sessions/${id}/chat/stream`, { message: "Explain osmosis" });
    const raw = await response.text();
    const messages = (await (await alice.get(`/ai/sessions/${id}/messages`)).json()) as Array<{
      role: string;
      content: string;
    }>;

    // Assess
    const expected = TRICKY_TOKENS.join("");
    const parsed = parseSessionStream(raw);
    expect(parsed.text).toBe(expected);
    for (const frame of raw.split("\n\n").filter((part) => part !== "")) {
      // Every frame is one line; no whitespace-only payloads.
      expect(frame.split("\n").filter((line) => line.startsWith("data: ")).length).toBe(1);
      if (!frame.startsWith("event:")) expect(frame.slice(6).trim()).not.toBe("");
    }
    expect(parsed.events).toEqual([
      { event: "citations", data: "[]" },
      { event: "done", data: "" },
    ]);
    expect(messages).toEqual([
      expect.objectContaining({ role: "user", content: "Explain osmosis" }),
      expect.objectContaining({ role: "assistant", content: expected }),
    ]);
    const sent = stub.requests.find((request) => request.path === "/v1/chat/completions");
    expect(sent?.headers.authorization).toBe("Bearer sk-test-key");
  });

  it("sends the first data frame while the model is still generating", async () => {
    // Prepare
    const id = await newSession();
    stub.setBehaviour({ tokens: ["First ", "second ", "third ", "fourth ", "fifth."], tokenDelayMs: 150 });
    const started = Date.now();

    // Act
    const response = await alice.send("POST", `/ai/sessions/${id}/chat/stream`, { message: "Go slowly" });
    const reader = response.body?.getReader();
    if (!reader) throw new Error("no body");
    const first = await reader.read();
    const firstFrameAt = Date.now();
    const decoder = new TextDecoder();
    let raw = decoder.decode(first.value);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      raw += decoder.decode(value);
    }
    const finishedAt = stub.requests.find((request) => request.path === "/v1/chat/completions")?.finishedAt;

    // Assess
    expect(decoder.decode(first.value)).toMatch(/^data: First/);
    expect(finishedAt).toBeDefined();
    expect(firstFrameAt).toBeLessThan((finishedAt ?? 0) - 400);
    expect(firstFrameAt - started).toBeLessThan(1_000);
    expect(parseSessionStream(raw).text).toBe("First second third fourth fifth.");
  });

  it("sends the recent conversation to the model with the study-copilot system prompt", async () => {
    // Prepare
    const id = await newSession();
    stub.setBehaviour({ tokens: ["Answer one."] });
    await (await alice.send("POST", `/ai/sessions/${id}/chat/stream`, { message: "Question one" })).text();
    stub.setBehaviour({ tokens: ["Answer two."] });
    stub.requests.length = 0;

    // Act
    await (await alice.send("POST", `/ai/sessions/${id}/chat/stream`, { message: "Question two" })).text();

    // Assess
    const body = stub.requests.find((request) => request.path === "/v1/chat/completions")?.body as {
      model: string;
      stream: boolean;
      messages: Array<{ role: string; content: string }>;
    };
    expect(body.model).toBe("stub-model");
    expect(body.stream).toBe(true);
    expect(body.messages.map((message) => message.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(body.messages[0]?.content).toMatch(/study/i);
    expect(body.messages.slice(1).map((message) => message.content)).toEqual([
      "Question one",
      "Answer one.",
      "Question two",
    ]);
  });

  it("ends with an error frame and done, and stores no empty answer, when the model fails", async () => {
    // Prepare
    const id = await newSession();
    stub.setBehaviour({ failWith: 500 });

    // Act
    const response = await alice.send("POST", `/ai/sessions/${id}/chat/stream`, { message: "Will this fail?" });
    const parsed = parseSessionStream(await response.text());
    const messages = (await (await alice.get(`/ai/sessions/${id}/messages`)).json()) as Array<{ role: string }>;

    // Assess
    expect(response.status).toBe(200);
    expect(parsed.text).toBe("");
    expect(parsed.events.map((event) => event.event)).toEqual(["error", "done"]);
    const error = JSON.parse(parsed.events[0]?.data ?? "{}") as { error: string };
    expect(error.error).toMatch(/unavailable/i);
    expect(error.error).not.toContain("sk-test-key");
    expect(messages.map((message) => message.role)).toEqual(["user"]);
  });

  it("still stores the whole answer when the client disconnects mid-stream", async () => {
    // Prepare
    const id = await newSession();
    const tokens = ["One ", "two ", "three ", "four ", "five ", "six."];
    stub.setBehaviour({ tokens, tokenDelayMs: 80 });
    const controller = new AbortController();

    // Act
    const response = await fetch(`${engine.url}/ai/sessions/${id}/chat/stream`, {
      method: "POST",
      headers: { Authorization: `Bearer ${await engine.token("alice")}`, "Content-Type": "application/json" },
      body: JSON.stringify({ message: "Leave early" }),
      signal: controller.signal,
    });
    await response.body?.getReader().read();
    controller.abort();
    await waitFor(async () => {
      const messages = (await (await alice.get(`/ai/sessions/${id}/messages`)).json()) as Array<{ role: string }>;
      return messages.length === 2;
    });
    const messages = (await (await alice.get(`/ai/sessions/${id}/messages`)).json()) as Array<{ content: string }>;

    // Assess
    expect(messages[1]?.content).toBe(tokens.join(""));
  });
});

describe("generic chat routes with a model", () => {
  it("streams multi-line output with every line inside a data field, in a new session", async () => {
    // Act
    const response = await alice.send("POST", "/ai/chat/stream", { message: "Lines please", user_id: "mallory" });
    const events = parseGenericStream(await response.text());
    const sessionId = response.headers.get("x-session-id");

    // Assess
    expect(response.status).toBe(200);
    const text = events
      .filter((event) => event.event === "message")
      .map((event) => event.data)
      .join("");
    expect(text).toBe(TRICKY_TOKENS.join(""));
    expect(events.at(-1)).toEqual({ event: "done", data: "" });
    expect(sessionId).toMatch(/^[0-9a-f]{24}$/);
    const session = (await (await alice.get(`/ai/sessions/${sessionId}`)).json()) as Record<string, unknown>;
    expect(session).toMatchObject({ user_id: "alice", message_count: 2, title: "Lines please" });
  });

  it("answers /ai/chat with the contract's shape and keeps using the given session", async () => {
    // Prepare
    stub.setBehaviour({ tokens: ["Mitochondria ", "make ", "ATP."] });
    const id = await newSession();

    // Act
    const response = await alice.send("POST", "/ai/chat", { message: "What do mitochondria do?", session_id: id });
    const body = (await response.json()) as Record<string, unknown>;

    // Assess
    expect(response.status).toBe(200);
    expect(body).toMatchObject({
      response: "Mitochondria make ATP.",
      session_id: id,
      user_id: "alice",
      tool_used: null,
    });
    expect(Date.parse(String(body.timestamp))).not.toBeNaN();
  });

  it("answers /ai/chat with 502 and a safe detail when the model is down", async () => {
    // Prepare
    stub.setBehaviour({ failWith: 503 });

    // Act
    const response = await alice.send("POST", "/ai/chat", { message: "Anyone there?" });

    // Assess
    expect(response.status).toBe(502);
    const body = (await response.json()) as { detail: string };
    expect(body.detail).toMatch(/unavailable/i);
    expect(JSON.stringify(body)).not.toContain("sk-test-key");
  });

  it("reports the model in /health and degrades when it is unreachable", async () => {
    // Prepare
    const down = await startTestEngine({ LLM_BASE_URL: "http://127.0.0.1:9/v1", LLM_MODEL: "nowhere" });

    // Act
    const healthy = (await (await fetch(`${engine.url}/health`)).json()) as Record<string, unknown>;
    const degraded = (await (await fetch(`${down.url}/health`)).json()) as Record<string, unknown>;
    await down.cleanup();

    // Assess
    expect(healthy).toMatchObject({ status: "healthy", components: { llm: { status: "ok", model: "stub-model" } } });
    expect(degraded).toMatchObject({ status: "degraded", components: { llm: { status: "down", model: "nowhere" } } });
  });
});
