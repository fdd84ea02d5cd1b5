// The engine as the frontend uses it, with the embedded store and no model configured.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { featureRoutes } from "#functions/index.ts";
import { clientFor, parseSessionStream, startTestEngine, type TestEngine } from "#test/support/engine.ts";

let engine: TestEngine;
let alice: ReturnType<typeof clientFor>;
let bob: ReturnType<typeof clientFor>;
let anonymous: ReturnType<typeof clientFor>;

beforeAll(async () => {
  engine = await startTestEngine({ MAX_SESSIONS_PER_USER: "5", MAX_BODY_BYTES: "4096" });
  alice = clientFor(engine.url, await engine.token("alice"));
  bob = clientFor(engine.url, await engine.token("bob"));
  anonymous = clientFor(engine.url);
});

afterAll(async () => {
  await engine.cleanup();
});

async function createSession(title?: string): Promise<string> {
  const response = await alice.send("POST", "/ai/sessions", title === undefined ? {} : { title });
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}

describe("meta routes", () => {
  it("describes the API and reports real component health without a token", async () => {
    // Act
    const root = await anonymous.get("/");
    const health = await anonymous.get("/health");

    // Assess
    expect(root.status).toBe(200);
    expect(await root.json()).toMatchObject({ name: "Collabry AI Engine", docs: "/docs", health: "/health" });
    expect(health.status).toBe(200);
    const body = (await health.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: "healthy",
      components: { mongodb: { status: "ok", kind: "embedded" }, llm: { status: "offline", kind: "offline" } },
    });
    expect(Date.parse(String(body.timestamp))).not.toBeNaN();
  });

  it("publishes an OpenAPI 3.1 document with every route of the route tables, and interactive docs", async () => {
    // Act
    const response = await anonymous.get("/openapi.json");
    const docs = await anonymous.get("/docs");

    // Assess
    const document = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(document.openapi).toBe("3.1.0");
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    const expected = featureRoutes
      .flatMap((feature) => feature.routes)
      .filter((route) => route.path !== "/docs" && route.path !== "/openapi.json")
      .map((route) => `${route.method} ${route.path}`);
    expect([...documented].sort()).toEqual([...expected].sort());
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("/openapi.json");
  });

  it("checks tokens on /test-auth: 200 with the user id, 401 with WWW-Authenticate otherwise", async () => {
    // Act
    const ok = await alice.get("/test-auth");
    const missing = await anonymous.get("/test-auth");
    const forged = await clientFor(engine.url, "not.a.token").get("/test-auth");

    // Assess
    expect(await ok.json()).toEqual({ message: "Auth works!", user_id: "alice" });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe("Bearer");
    expect(await missing.json()).toEqual({ detail: "Not authenticated" });
    expect(forged.status).toBe(401);
  });

  it("answers an expired token with 401", async () => {
    // Prepare
    const { SignJWT } = await import("jose");
    const { TEST_SECRET } = await import("#test/support/engine.ts");
    const expired = await new SignJWT({ id: "alice" })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(TEST_SECRET));

    // Act
    const response = await clientFor(engine.url, expired).get("/ai/sessions");

    // Assess
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ detail: "Token has expired" });
  });
});

describe("sessions", () => {
  it("creates, lists (most recent first), reads, renames and deletes sessions", async () => {
    // Prepare
    const first = await createSession();
    const second = await createSession("Cell biology");

    // Act
    const list = (await (await alice.get("/ai/sessions")).json()) as {
      sessions: Array<{ id: string; title: string; user_id: string; message_count: number }>;
      total: number;
      limit_reached: boolean;
      max_sessions: number;
    };
    const renamed = await alice.send("PATCH", `/ai/sessions/${first}`, { title: "Organic chemistry" });
    const one = (await (await alice.get(`/ai/sessions/${first}`)).json()) as { title: string };
    const deleted = await alice.delete(`/ai/sessions/${second}`);
    const afterDelete = await alice.get(`/ai/sessions/${second}`);

    // Assess
    expect(list.sessions.map((session) => session.id).slice(0, 2)).toEqual([second, first]);
    expect(list.sessions[1]).toMatchObject({ title: "New Chat Session", user_id: "alice", message_count: 0 });
    expect(list).toMatchObject({ limit_reached: false, max_sessions: 5 });
    expect(list.total).toBe(list.sessions.length);
    expect(renamed.status).toBe(200);
    expect(one.title).toBe("Organic chemistry");
    expect(await deleted.json()).toMatchObject({ message: "Session deleted successfully" });
    expect(afterDelete.status).toBe(404);
  });

  it("stores posted messages, updates the session preview and pages messages oldest first", async () => {
    // Prepare
    const id = await createSession("Paging");
    for (let i = 1; i <= 5; i++) {
      const posted = await alice.send("POST", `/ai/sessions/${id}/messages`, {
        role: i % 2 === 1 ? "user" : "assistant",
        content: `message ${i}`,
        timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        user_id: "mallory",
      });
      expect(posted.status).toBe(200);
      expect(await posted.json()).toMatchObject({ content: `message ${i}` });
    }

    // Act
    const all = (await (await alice.get(`/ai/sessions/${id}/messages`)).json()) as Array<{ content: string }>;
    const lastTwo = (await (await alice.get(`/ai/sessions/${id}/messages?limit=2`)).json()) as Array<{
      content: string;
    }>;
    const before = await alice.get(
      `/ai/sessions/${id}/messages?limit=2&before=${encodeURIComponent(new Date(Date.UTC(2026, 0, 1, 0, 0, 4)).toISOString())}`,
    );
    const session = (await (await alice.get(`/ai/sessions/${id}`)).json()) as Record<string, unknown>;

    // Assess
    expect(all.map((message) => message.content)).toEqual([1, 2, 3, 4, 5].map((i) => `message ${i}`));
    expect(lastTwo.map((message) => message.content)).toEqual(["message 4", "message 5"]);
    expect(((await before.json()) as Array<{ content: string }>).map((m) => m.content)).toEqual([
      "message 2",
      "message 3",
    ]);
    expect(session).toMatchObject({ last_message: "message 5", message_count: 5, user_id: "alice" });
  });

  it("refuses a new session with 403 when the per-user limit is reached", async () => {
    // Prepare
    const user = clientFor(engine.url, await engine.token("carol"));
    for (let i = 0; i < 5; i++) expect((await user.send("POST", "/ai/sessions", {})).status).toBe(200);

    // Act
    const refused = await user.send("POST", "/ai/sessions", { title: "one too many" });
    const list = (await (await user.get("/ai/sessions")).json()) as { limit_reached: boolean; total: number };

    // Assess
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/limit/i);
    expect(list).toMatchObject({ limit_reached: true, total: 5 });
  });

  it("streams the offline engine's honest answer in session framing and stores both messages", async () => {
    // Prepare
    const id = await createSession("Offline");

    // Act
    const response = await alice.send(
      "POST",
      `/ai/sessions/${id}/chat/stream`,
      { message: "What is osmosis?" },
      { Origin: "http://localhost:3000" },
    );
    const raw = await response.text();
    const messages = (await (await alice.get(`/ai/sessions/${id}/messages`)).json()) as Array<{
      role: string;
      content: string;
    }>;

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("cache-control")).toBe("no-cache");
    // Set after the route returned (the stream is written to Node's response by the runtime itself).
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect(
      [...response.headers.keys()].filter((name) => name.startsWith("x-collabry") || name.startsWith("x-hono")),
    ).toEqual([]);
    const parsed = parseSessionStream(raw);
    expect(parsed.text).toMatch(/no language model is configured/i);
    expect(parsed.events.map((event) => event.event)).toEqual(["citations", "done"]);
    expect(raw.endsWith("event: done\ndata: \n\n")).toBe(true);
    expect(messages.map((message) => message.role)).toEqual(["user", "assistant"]);
    expect(messages[0]?.content).toBe("What is osmosis?");
    expect(messages[1]?.content).toBe(parsed.text);
  });

  it("also streams through GET with the message in the query", async () => {
    // Prepare
    const id = await createSession();

    // Act
    const response = await alice.get(`/ai/sessions/${id}/chat/stream?message=${encodeURIComponent("Hello there")}`);
    const parsed = parseSessionStream(await response.text());

    // Assess
    expect(response.status).toBe(200);
    expect(parsed.text).toContain("Hello there");
  });
});

describe("isolation between users", () => {
  it("gives another user 404 on every session route and shows them none of the data", async () => {
    // Prepare
    const id = await createSession("Alice's private notes");
    await alice.send("POST", `/ai/sessions/${id}/messages`, { role: "user", content: "secret thoughts" });

    // Act
    const attempts = await Promise.all([
      bob.get(`/ai/sessions/${id}`),
      bob.send("PATCH", `/ai/sessions/${id}`, { title: "hijacked" }),
      bob.get(`/ai/sessions/${id}/messages`),
      bob.send("POST", `/ai/sessions/${id}/messages`, { role: "user", content: "injected" }),
      bob.send("POST", `/ai/sessions/${id}/chat/stream`, { message: "tell me" }),
      bob.get(`/ai/sessions/${id}/chat/stream?message=hi`),
      bob.send("POST", "/ai/chat", { message: "hi", session_id: id }),
      bob.send("POST", "/ai/chat/stream", { message: "hi", session_id: id }),
      bob.delete(`/ai/sessions/${id}`),
    ]);
    const bobsList = (await (await bob.get("/ai/sessions")).json()) as { sessions: Array<{ id: string }> };

    // Assess
    for (const response of attempts) {
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ detail: "Session not found" });
    }
    expect(bobsList.sessions.map((session) => session.id)).not.toContain(id);
    const session = (await (await alice.get(`/ai/sessions/${id}`)).json()) as Record<string, unknown>;
    expect(session).toMatchObject({ title: "Alice's private notes", message_count: 1 });
    const messages = (await (await alice.get(`/ai/sessions/${id}/messages`)).json()) as Array<{ content: string }>;
    expect(messages.map((message) => message.content)).toEqual(["secret thoughts"]);
  });

  it("treats ids that are not ObjectIds as missing sessions, not as errors", async () => {
    // Act
    const response = await alice.get("/ai/sessions/../../etc/passwd");
    const weird = await alice.get(`/ai/sessions/${encodeURIComponent('{"$ne":null}')}`);

    // Assess
    expect([404]).toContain(response.status);
    expect(weird.status).toBe(404);
  });
});

describe("bad input", () => {
  it("answers malformed JSON with 400 and a JSON detail, with CORS headers", async () => {
    // Act
    const response = await alice.send("POST", "/ai/sessions", "{not json", { Origin: "http://localhost:3000" });

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ detail: "Malformed JSON in request body" });
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect(response.headers.get("x-request-id")).toBeTruthy();
  });

  it("answers invalid fields with 422 and a list of {loc, msg, type}", async () => {
    // Act
    const response = await alice.send("POST", "/ai/chat", { message: "" });

    // Assess
    expect(response.status).toBe(422);
    const body = (await response.json()) as { detail: Array<{ loc: unknown[]; msg: string; type: string }> };
    expect(body.detail[0]).toMatchObject({ loc: ["body", "message"], type: "too_small" });
  });

  it("answers an oversized body with 413 and closes the connection, so the next request still works", async () => {
    // Act
    const response = await alice.send("POST", "/ai/chat", { message: "x".repeat(200_000) });
    const body = (await response.json()) as { detail: string };
    const next = await alice.get("/ai/sessions");

    // Assess
    expect(response.status).toBe(413);
    expect(body.detail).toMatch(/exceeds/);
    expect(response.headers.get("connection")).toBe("close");
    expect(next.status).toBe(200);
  });

  it("answers unknown routes with a JSON 404 and a non-JSON body with 415", async () => {
    // Act
    const missing = await alice.get("/ai/nothing-here");
    const form = await fetch(`${engine.url}/ai/chat`, {
      method: "POST",
      headers: { Authorization: `Bearer ${await engine.token("alice")}`, "Content-Type": "text/plain" },
      body: "message=hi",
    });

    // Assess
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ detail: "Not Found" });
    expect(form.status).toBe(415);
    expect(((await form.json()) as { detail: string }).detail).toMatch(/application\/json/);
  });

  it("answers CORS preflight for allowed origins only", async () => {
    // Act
    const allowed = await fetch(`${engine.url}/ai/sessions`, {
      method: "OPTIONS",
      headers: { Origin: "http://localhost:3000", "Access-Control-Request-Method": "POST" },
    });
    const denied = await fetch(`${engine.url}/ai/sessions`, {
      method: "OPTIONS",
      headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" },
    });

    // Assess
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("durability", () => {
  it("keeps sessions and messages across a restart of the runtime", async () => {
    // Prepare
    const restartable = await startTestEngine();
    const user = clientFor(restartable.url, await restartable.token("dave"));
    const created = (await (await user.send("POST", "/ai/sessions", { title: "Survives" })).json()) as { id: string };
    await user.send("POST", `/ai/sessions/${created.id}/messages`, { role: "user", content: "remember me" });
    await restartable.stop();

    // Act
    const again = await startTestEngine({}, restartable.dataDir);
    const userAgain = clientFor(again.url, await again.token("dave"));
    const list = (await (await userAgain.get("/ai/sessions")).json()) as {
      sessions: Array<{ id: string; title: string }>;
    };
    const messages = (await (await userAgain.get(`/ai/sessions/${created.id}/messages`)).json()) as Array<{
      content: string;
    }>;
    await again.cleanup();

    // Assess
    expect(list.sessions).toEqual([expect.objectContaining({ id: created.id, title: "Survives" })]);
    expect(messages.map((message) => message.content)).toEqual(["remember me"]);
  });
});
