// Failure modes of the model and of clients, through the local runtime with a stub model on loopback:
// a model host dying mid-answer, a dead endpoint (circuit breaker + offline fallback), a model too
// slow for its first-token deadline, and per-user rate limits.
import { afterEach, describe, expect, it } from "vitest";
import { clientFor, parseSessionStream, startTestEngine, type TestEngine } from "#test/support/engine.ts";
import { type StubLlm, startStubLlm } from "#test/support/stub-llm.ts";

const ORIGIN = "http://localhost:3000";

let engine: TestEngine | undefined;
let stub: StubLlm | undefined;

afterEach(async () => {
  await engine?.cleanup();
  engine = undefined;
  await stub?.close().catch(() => undefined);
  stub = undefined;
});

async function start(env: Record<string, string>, stubOptions?: Parameters<typeof startStubLlm>[0]) {
  stub = await startStubLlm(stubOptions);
  engine = await startTestEngine({
    LLM_BASE_URL: stub.baseUrl,
    LLM_MODEL: "stub-model",
    LLM_MAX_RETRIES: "0",
    ...env,
  });
  const client = clientFor(engine.url, await engine.token("alice"));
  const session = async () =>
    ((await (await client.send("POST", "/ai/sessions", { title: "Resilience" })).json()) as { id: string }).id;
  return { stub, engine, client, session };
}

type Client = ReturnType<typeof clientFor>;

async function ask(client: Client, sessionId: string, message: string) {
  const started = performance.now();
  const response = await client.send("POST", `/ai/sessions/${sessionId}/chat/stream`, { message });
  const parsed = parseSessionStream(await response.text());
  return { status: response.status, ...parsed, ms: performance.now() - started };
}

async function health(url: string) {
  return (await (await fetch(`${url}/health`)).json()) as {
    status: string;
    components: { llm: { status: string; circuit?: string } };
  };
}

describe("a model host that dies mid-answer", () => {
  it("ends the stream with error + done, stores the partial answer as incomplete, and keeps answering", async () => {
    // Prepare
    const { stub, client, session } = await start({}, { tokens: ["Osmosis ", "moves ", "water ", "across."] });
    stub.setBehaviour({ dropAfterTokens: 2, tokenDelayMs: 30 });
    const id = await session();

    // Act
    const cut = await ask(client, id, "Explain osmosis");
    const stored = (await (await client.get(`/ai/sessions/${id}/messages`)).json()) as Array<{
      role: string;
      content: string;
      incomplete?: boolean;
    }>;
    stub.setBehaviour({ dropAfterTokens: undefined });
    const next = await ask(client, id, "Try again please");

    // Assess
    expect(cut.status).toBe(200);
    expect(cut.text).toBe("Osmosis moves ");
    expect(cut.events.map((event) => event.event)).toEqual(["error", "citations", "done"]);
    expect(cut.events.some((event) => event.event === "notice")).toBe(false);
    expect(stored.at(-1)).toMatchObject({ role: "assistant", content: "Osmosis moves ", incomplete: true });
    expect(next.status).toBe(200);
    expect(next.text).toBe("Osmosis moves water across.");
    expect(next.events.map((event) => event.event)).toEqual(["citations", "done"]);
    console.info(`stream cut after 2 tokens: error frame + done after ${Math.round(cut.ms)} ms`);
  });
});

describe("a model endpoint that is down", () => {
  it("opens the circuit after the threshold and answers from the offline engine, marked degraded", async () => {
    // Prepare
    const { stub, engine, client, session } = await start({ LLM_CIRCUIT_FAILURES: "2" });
    const id = await session();
    await stub.close();
    const downAt = performance.now();

    // Act
    const first = await ask(client, id, "Is anyone there?");
    const second = await ask(client, id, "Hello?");
    const detectedMs = performance.now() - downAt;
    const third = await ask(client, id, "Still down?");
    const chat = await client.send("POST", "/ai/chat", { message: "And on /ai/chat?" });
    const chatBody = (await chat.json()) as Record<string, unknown>;
    const report = await health(engine.url);
    const messages = (await (await client.get(`/ai/sessions/${id}/messages`)).json()) as Array<{ role: string }>;

    // Assess
    expect(first.events.map((event) => event.event)).toEqual(["error", "done"]);
    for (const degraded of [second, third]) {
      expect(degraded.status).toBe(200);
      expect(degraded.events[0]?.event).toBe("notice");
      expect(JSON.parse(degraded.events[0]?.data ?? "{}")).toMatchObject({
        degraded: true,
        reason: expect.stringMatching(/offline engine answered/),
      });
      expect(degraded.text).toContain("unavailable right now");
      expect(degraded.events.map((event) => event.event).slice(1)).toEqual(["citations", "done"]);
    }
    expect(chat.status).toBe(200);
    expect(chatBody).toMatchObject({ degraded: true, response: expect.stringContaining("unavailable right now") });
    expect(report).toMatchObject({ status: "degraded", components: { llm: { status: "down", circuit: "open" } } });
    expect(messages.map((message) => message.role)).toEqual(["user", "user", "assistant", "user", "assistant"]);
    expect(detectedMs).toBeLessThan(2_000);
    expect(third.ms).toBeLessThan(500);
    console.info(
      `dead model detected after ${Math.round(detectedMs)} ms; open-circuit answer in ${Math.round(third.ms)} ms`,
    );
  });
});

describe("a model slower than its first-token deadline", () => {
  it("times out within the deadline, falls back, and closes the circuit once a probe succeeds", async () => {
    // Prepare
    const { stub, engine, client, session } = await start(
      { LLM_FIRST_TOKEN_TIMEOUT_MS: "500", LLM_CIRCUIT_FAILURES: "1", LLM_CIRCUIT_OPEN_SECONDS: "1" },
      { firstTokenDelayMs: 5_000 },
    );
    const id = await session();

    // Act
    const slow = await ask(client, id, "Take your time");
    const whileOpen = await ask(client, id, "Again");
    stub.setBehaviour({ firstTokenDelayMs: 0, tokens: ["Back ", "online."] });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const halfOpen = await health(engine.url);
    const probe = await ask(client, id, "Are you back?");
    const closed = await health(engine.url);

    // Assess
    expect(slow.ms).toBeGreaterThanOrEqual(450);
    expect(slow.ms).toBeLessThan(2_000);
    expect(JSON.parse(slow.events[0]?.data ?? "{}")).toMatchObject({
      degraded: true,
      reason: expect.stringMatching(/did not answer in time/),
    });
    expect(whileOpen.events[0]?.event).toBe("notice");
    expect(whileOpen.ms).toBeLessThan(500);
    expect(halfOpen.components.llm.circuit).toBe("half-open");
    expect(probe.text).toBe("Back online.");
    expect(probe.events.map((event) => event.event)).toEqual(["citations", "done"]);
    expect(closed).toMatchObject({ status: "healthy", components: { llm: { circuit: "closed" } } });
    console.info(`first-token timeout → fallback answer in ${Math.round(slow.ms)} ms`);
  });
});

describe("per-user rate limits", () => {
  it("answers the 4th chat of a minute with 429, Retry-After and CORS, and leaves reads and other users alone", async () => {
    // Prepare
    engine = await startTestEngine({ RATE_LIMIT_CHAT_PER_MINUTE: "3" });
    const alice = clientFor(engine.url, await engine.token("alice"));
    const bob = clientFor(engine.url, await engine.token("bob"));
    const headers = { Origin: ORIGIN };

    // Act
    const allowed = [];
    for (let i = 0; i < 3; i++)
      allowed.push(await alice.send("POST", "/ai/chat", { message: `Question ${i}` }, headers));
    const limited = await alice.send("POST", "/ai/chat", { message: "One too many" }, headers);
    const limitedBody = (await limited.json()) as { detail: string };
    const streamLimited = await alice.send("POST", "/ai/chat/stream", { message: "Streams count too" }, headers);
    const read = await alice.get("/ai/sessions", headers);
    const other = await bob.send("POST", "/ai/chat", { message: "Bob's first question" }, headers);

    // Assess
    expect(allowed.map((response) => response.status)).toEqual([200, 200, 200]);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(120);
    expect(limited.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(limitedBody.detail).toMatch(/too many chat requests/i);
    expect(streamLimited.status).toBe(429);
    expect(read.status).toBe(200);
    expect(other.status).toBe(200);
  });
});
