// AI usage through the local runtime with the stub model: usage logs with the model's real token
// counts, the usage routes and their access rules, and daily quotas per tier.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { signDevToken } from "#infra/local/dev-secret.ts";
import type { StoredDocument } from "#shared/store/store.ts";
import { clientFor, startTestEngine, TEST_SECRET, type TestEngine } from "#test/support/engine.ts";
import { type StubLlm, type StubLlmRequest, startStubLlm } from "#test/support/stub-llm.ts";

const ORIGIN = "http://localhost:3000";
const STUB_TOKENS = ["Osmosis ", "moves ", "water ", "across ", "a ", "membrane."];
// Rate limits are another feature's concern; they must not interfere with these scenarios.
const NO_RATE_LIMITS = {
  RATE_LIMIT_CHAT_PER_MINUTE: "0",
  RATE_LIMIT_GENERATE_PER_MINUTE: "0",
  RATE_LIMIT_UPLOAD_PER_MINUTE: "0",
  RATE_LIMIT_READ_PER_MINUTE: "0",
};

const NOTES = readFileSync(new URL("../fixtures/corpus/photosynthesis.md", import.meta.url), "utf8");

let stub: StubLlm;

function modelEnv(): Record<string, string> {
  return { LLM_BASE_URL: stub.baseUrl, LLM_MODEL: "stub-model", LLM_API_KEY: "sk-test", LLM_MAX_RETRIES: "0" };
}

/** The usage the stub reports for one completion: its prompt estimate plus one token per streamed piece. */
function stubUsage(request: StubLlmRequest): { tokens_in: number; tokens_out: number } {
  const body = request.body as { messages?: Array<{ content?: unknown }> };
  const tokensIn = (body.messages ?? []).reduce(
    (sum, message) => sum + (typeof message.content === "string" ? Math.ceil(message.content.length / 4) : 0),
    0,
  );
  return { tokens_in: tokensIn, tokens_out: STUB_TOKENS.length };
}

function completions(): StubLlmRequest[] {
  return stub.requests.filter((request) => request.path === "/v1/chat/completions");
}

/** What is stored, once the usage the runtime keeps in memory (written behind) has been written. */
async function logsOf(engine: TestEngine, userId: string): Promise<StoredDocument[]> {
  await engine.runtime.engine.usage.flush();
  return engine.runtime.engine.store.collection("usage_logs").find({ user_id: userId }, { sort: { timestamp: 1 } });
}

async function newSession(client: ReturnType<typeof clientFor>): Promise<string> {
  return ((await (await client.send("POST", "/ai/sessions", { title: "Usage" })).json()) as { id: string }).id;
}

const today = () => new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  stub = await startStubLlm({ tokens: STUB_TOKENS });
});

afterAll(async () => {
  await stub.close();
});

beforeEach(() => {
  stub.setBehaviour({ tokens: STUB_TOKENS, tokenDelayMs: 0, failWith: undefined, failCount: undefined });
  stub.requests.length = 0;
});

describe("usage recording and reports", () => {
  let engine: TestEngine;
  let alice: ReturnType<typeof clientFor>;
  let admin: ReturnType<typeof clientFor>;

  beforeAll(async () => {
    engine = await startTestEngine({ ...modelEnv(), ...NO_RATE_LIMITS });
    alice = clientFor(engine.url, await engine.token("alice"));
    admin = clientFor(engine.url, await engine.token("admin-1", { role: "admin" }));
  });

  afterAll(async () => {
    await engine.cleanup();
  });

  it("records a session stream with the model's real token counts", async () => {
    // Prepare
    const session = await newSession(alice);

    // Act
    const response = await alice.send("POST", `/ai/sessions/${session}/chat/stream`, { message: "What is osmosis?" });
    await response.text();

    // Assess
    expect(response.status).toBe(200);
    const [call] = completions();
    if (!call) throw new Error("the stub received no completion");
    const expected = stubUsage(call);
    const logs = await logsOf(engine, "alice");
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      operation: "chat",
      ...expected,
      total_tokens: expected.tokens_in + expected.tokens_out,
      success: true,
      estimated: false,
      model: "stub-model",
      date: today(),
    });
    expect(logs[0]?.total_tokens).not.toBe(100);
    expect(logs[0]?.response_time_ms).toEqual(expect.any(Number));
    const day = await engine.runtime.engine.store
      .collection("daily_stats")
      .findOne({ user_id: "alice", date: today() });
    expect(day).toMatchObject({ operations: 1, tokens: expected.tokens_in + expected.tokens_out, successful: 1 });
  });

  it("charges a stream the client left with the whole generation's tokens", async () => {
    // Prepare
    const dave = await engine.token("dave");
    const session = await newSession(clientFor(engine.url, dave));
    stub.setBehaviour({ tokenDelayMs: 40 });
    const controller = new AbortController();

    // Act
    const response = await fetch(`${engine.url}/ai/sessions/${session}/chat/stream`, {
      method: "POST",
      headers: { Authorization: `Bearer ${dave}`, "Content-Type": "application/json" },
      body: JSON.stringify({ message: "What is osmosis?" }),
      signal: controller.signal,
    });
    await response.body?.getReader().read();
    controller.abort();
    // The copilot generates the reply to the end; its usage may be charged after the log is written.
    const charged = async () => {
      const [log] = await logsOf(engine, "dave");
      const [call] = completions();
      return log !== undefined && call?.finishedAt !== undefined && log.tokens_out === STUB_TOKENS.length;
    };
    const deadline = Date.now() + 5_000;
    while (!(await charged()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));

    // Assess
    const [call] = completions();
    if (!call) throw new Error("the stub received no completion");
    const expected = stubUsage(call);
    const logs = await logsOf(engine, "dave");
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ operation: "chat", ...expected, success: true });
    await engine.runtime.engine.usage.flush();
    const day = await engine.runtime.engine.store.collection("daily_stats").findOne({ user_id: "dave" });
    expect(day).toMatchObject({ operations: 1, tokens: expected.tokens_in + expected.tokens_out });
  });

  it("records /ai/chat, and a failed generation as a failed operation", async () => {
    // Prepare
    const before = (await logsOf(engine, "alice")).length;

    // Act
    const ok = await alice.send("POST", "/ai/chat", { message: "Explain diffusion in one line." });
    stub.setBehaviour({ failWith: 500 });
    const failed = await alice.send("POST", "/ai/chat", { message: "And active transport?" });

    // Assess
    expect(ok.status).toBe(200);
    expect(failed.status).toBe(502);
    const [call] = completions();
    if (!call) throw new Error("the stub received no completion");
    const expected = stubUsage(call);
    const logs = (await logsOf(engine, "alice")).slice(before);
    expect(logs).toHaveLength(2);
    expect(logs[0]).toMatchObject({ operation: "chat", ...expected, success: true });
    expect(logs[1]).toMatchObject({ operation: "chat", success: false, total_tokens: 0 });
    expect(logs[1]?.error).toEqual(expect.any(String));
  });

  it("meters a route it has no code in (qa) under its own operation", async () => {
    // Act
    const response = await alice.send("POST", "/ai/qa", {
      question: "What moves across the membrane?",
      context: "Osmosis moves water across a semi-permeable membrane.",
      use_rag: false,
    });

    // Assess
    expect(response.status).toBe(200);
    const logs = await logsOf(engine, "alice");
    const qa = logs.filter((log) => log.operation === "qa");
    expect(qa).toHaveLength(1);
    const total = completions().reduce((sum, call) => {
      const usage = stubUsage(call);
      return sum + usage.tokens_in + usage.tokens_out;
    }, 0);
    expect(qa[0]).toMatchObject({ total_tokens: total, success: true });
  });

  it("shows the caller's usage in the contract's shape on /ai/usage/me", async () => {
    // Prepare
    const logs = await logsOf(engine, "alice");
    const tokens = logs.reduce((sum, log) => sum + Number(log.total_tokens), 0);

    // Act
    const response = await alice.get("/ai/usage/me?days=7");

    // Assess
    expect(response.status).toBe(200);
    const stats = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(stats).sort()).toEqual(
      [
        "user_id",
        "period_days",
        "total_operations",
        "successful_operations",
        "failed_operations",
        "total_tokens",
        "avg_response_time_ms",
        "success_rate",
        "operations_by_type",
        "daily_usage",
        "most_recent_activity",
        "subscription_limit",
        "usage_percentage",
      ].sort(),
    );
    expect(stats).toMatchObject({
      user_id: "alice",
      period_days: 7,
      total_operations: logs.length,
      successful_operations: logs.length - 1,
      failed_operations: 1,
      total_tokens: tokens,
      operations_by_type: { chat: 3, qa: 1 },
      subscription_limit: 50_000,
      usage_percentage: Math.round((tokens / 50_000) * 10_000) / 100,
    });
    expect((stats.daily_usage as Record<string, unknown>)[today()]).toEqual({ operations: logs.length, tokens });
    expect(Object.keys(stats.daily_usage as object)).toHaveLength(7);
  });

  it("answers 403 Admin access required to students on admin routes, 200 to admins", async () => {
    // Prepare
    const adminRoutes: Array<[string, string]> = [
      ["GET", "/ai/usage/user/alice"],
      ["GET", "/ai/usage/global"],
      ["GET", "/ai/usage/realtime"],
      ["GET", "/ai/usage/stats"],
      ["POST", "/ai/usage/reset/alice"],
    ];

    const call = (client: ReturnType<typeof clientFor>, [method, path]: [string, string]) =>
      method === "GET" ? client.get(path) : client.send(method, path, {});

    // Act
    const asStudent = await Promise.all(adminRoutes.map((route) => call(alice, route)));
    const asAdmin = await Promise.all(adminRoutes.map((route) => call(admin, route)));

    // Assess
    for (const response of asStudent) {
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ detail: "Admin access required" });
    }
    expect(asAdmin.map((response) => response.status)).toEqual(adminRoutes.map(() => 200));
    const [user, global, realtime, stats] = (await Promise.all(asAdmin.map((response) => response.json()))) as Array<
      Record<string, unknown>
    >;
    expect(user).toMatchObject({ user_id: "alice", operations_by_type: { chat: 3, qa: 1 } });
    expect(global).toMatchObject({ total_users: 2, total_operations: 5 });
    expect(global?.top_users).toContainEqual(expect.objectContaining({ user_id: "alice" }));
    expect(stats).toEqual(global);
    expect(realtime).toMatchObject({
      last_5_minutes: { operations: 5, active_users: 2 },
      active_users: 2,
      error_rate: 20,
    });
  });

  it("refuses reset-me to everyone: users can no longer clear their own quota", async () => {
    // Act
    const student = await alice.send("POST", "/ai/usage/reset-me", {});
    const byAdmin = await admin.send("POST", "/ai/usage/reset-me", {});

    // Assess
    expect(student.status).toBe(403);
    expect(await student.json()).toEqual({ detail: "Admin access required" });
    expect(byAdmin.status).toBe(403);
  });
});

describe("daily quotas", () => {
  let engine: TestEngine;
  let bob: ReturnType<typeof clientFor>;
  let carol: ReturnType<typeof clientFor>;
  let admin: ReturnType<typeof clientFor>;
  const PRO_LIMIT = 1_000_000;

  beforeAll(async () => {
    engine = await startTestEngine({
      ...modelEnv(),
      ...NO_RATE_LIMITS,
      QUOTA_TOKENS_FREE: "50",
      QUOTA_TOKENS_PRO: String(PRO_LIMIT),
    });
    bob = clientFor(engine.url, await engine.token("bob"));
    carol = clientFor(engine.url, await signDevToken(TEST_SECRET, { userId: "carol", tier: "pro" }));
    admin = clientFor(engine.url, await engine.token("admin-1", { role: "admin" }));
  });

  afterAll(async () => {
    await engine.cleanup();
  });

  it("answers 429 with Retry-After and CORS headers once the day's tokens are used, other routes still work", async () => {
    // Prepare
    const first = await bob.send("POST", "/ai/chat", { message: "What is osmosis?" });
    const session = await newSession(bob);
    const calls = completions().length;

    // Act
    const chat = await bob.send("POST", "/ai/chat", { message: "And diffusion?" }, { Origin: ORIGIN });
    const stream = await bob.send("POST", `/ai/sessions/${session}/chat/stream`, { message: "And diffusion?" });
    const sessions = await bob.get("/ai/sessions");
    const usage = await bob.get("/ai/usage/me");

    // Assess
    expect(first.status).toBe(200);
    expect(chat.status).toBe(429);
    const retryAfter = Number(chat.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    expect(chat.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const body = (await chat.json()) as { detail: string };
    expect(body.detail).toMatch(/^Daily AI quota reached \(\d+ of 50 tokens used\)\. It resets at 00:00 UTC\.$/);
    expect(stream.status).toBe(429);
    expect(stream.headers.get("content-type")).toContain("application/json");
    expect(completions()).toHaveLength(calls);
    expect(sessions.status).toBe(200);
    expect(await usage.json()).toMatchObject({ subscription_limit: 50, failed_operations: 0 });
  });

  it("restores the allowance after an admin reset, keeping the logs", async () => {
    // Act
    const reset = await admin.send("POST", "/ai/usage/reset/bob", {});
    const after = await bob.send("POST", "/ai/chat", { message: "Now what is diffusion?" });

    // Assess
    expect(reset.status).toBe(200);
    expect(await reset.json()).toMatchObject({ user_id: "bob", date: today(), tokens_cleared: expect.any(Number) });
    expect(after.status).toBe(200);
    expect(await logsOf(engine, "bob")).toHaveLength(2);
  });

  it("gives a pro token the pro limit", async () => {
    // Act
    const first = await carol.send("POST", "/ai/chat", { message: "What is osmosis?" });
    const second = await carol.send("POST", "/ai/chat", { message: "And diffusion?" });
    const usage = (await (await carol.get("/ai/usage/me")).json()) as {
      subscription_limit: number;
      total_tokens: number;
    };

    // Assess
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(usage.total_tokens).toBeGreaterThan(50);
    expect(usage.subscription_limit).toBe(PRO_LIMIT);
  });
});

describe("metering of every AI operation", () => {
  let meterEngine: TestEngine;

  beforeAll(async () => {
    meterEngine = await startTestEngine({ ...modelEnv(), ...NO_RATE_LIMITS });
  });

  afterAll(async () => {
    await meterEngine.cleanup();
  });

  // Metering is decided by one table (shared/usage/operations.ts), not by each route's code: every
  // operation of that table must leave a log charged with exactly what the model reported, whatever
  // the route does with the answer.
  it.each([
    ["quiz", "/ai/qa/generate", { text: NOTES, num_questions: 3 }],
    ["quiz", "/ai/qa/generate/stream", { text: NOTES, num_questions: 3 }],
    ["summarize", "/ai/summarize", { text: NOTES, style: "concise" }],
    ["summarize", "/ai/summarize/stream", { text: NOTES, style: "concise" }],
    ["qa", "/ai/qa/stream", { question: "What does chlorophyll absorb?", context: NOTES, use_rag: false }],
    ["chat", "/ai/chat/stream", { message: "What does chlorophyll absorb?" }],
    ["mindmap", "/ai/mindmap", { topic: "Photosynthesis", depth: 2, use_documents: false }],
    ["flashcards", "/ai/flashcards", { text: NOTES, title: "Photosynthesis", count: 5 }],
    [
      "study_plan",
      "/ai/generate-study-plan",
      {
        subject: "Biology",
        topics: ["Light reactions", "Calvin cycle"],
        startDate: "2030-03-02",
        endDate: "2030-03-09",
        dailyStudyHours: 1,
        difficulty: "intermediate",
        planType: "exam",
      },
    ],
  ])("charges %s (%s) the model's reported tokens", async (operation, path, body) => {
    // Prepare
    const userId = `meter-${path.replaceAll("/", "-")}`;
    const client = clientFor(meterEngine.url, await meterEngine.token(userId));

    // Act
    const response = await client.send("POST", path, body);
    const streamed = response.headers.get("content-type")?.startsWith("text/event-stream") ?? false;
    const text = await response.text();

    // Assess: the stub's prose is not the JSON a quiz, mind map or deck asks for, so those fail
    // after their retries (502, or an error event in a stream); the tokens spent are charged all the same.
    expect([200, 502]).toContain(response.status);
    const failed = response.status !== 200 || (streamed && text.includes("event: error"));
    const calls = completions();
    expect(calls.length).toBeGreaterThan(0);
    const logs = await logsOf(meterEngine, userId);
    expect(logs).toHaveLength(1);
    const reported = calls.reduce((sum, call) => {
      const usage = stubUsage(call);
      return sum + usage.tokens_in + usage.tokens_out;
    }, 0);
    expect(logs[0]).toMatchObject({ operation, total_tokens: reported, success: !failed });
  });
});
