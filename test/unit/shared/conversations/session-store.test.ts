import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSessionStore, MESSAGES, SESSIONS } from "#shared/conversations/session-store.ts";
import { NotFoundError } from "#shared/http/errors.ts";
import { openEmbeddedStore } from "#shared/store/embedded.ts";
import { sequentialRoundTrips, timedStore } from "#test/support/timed-store.ts";

let baseDir: string;

beforeAll(() => {
  baseDir = mkdtempSync(join(tmpdir(), "collabry-session-store-"));
});

afterAll(() => {
  rmSync(baseDir, { recursive: true, force: true });
});

describe("session store on the embedded store", () => {
  it("stores a message and its session's counter behind a single flush to disk", async () => {
    // Prepare
    let flushes = 0;
    const store = await openEmbeddedStore({
      dir: join(baseDir, "one-flush"),
      fsync: (_fd, done) => {
        flushes += 1;
        setImmediate(() => done(null));
      },
    });
    const sessions = createSessionStore(store, { maxSessionsPerUser: 10 });
    const session = await sessions.create("u1", "Photosynthesis");
    const flushesBefore = flushes;

    // Act
    const message = await sessions.append("u1", session.id, { role: "user", content: "What is ATP?" });

    // Assess
    expect(flushes - flushesBefore).toBe(1);
    expect(message.content).toBe("What is ATP?");
    expect((await sessions.get("u1", session.id)).message_count).toBe(1);
    await store.close();
  });

  it("reads the newest turns of a session as role and text, oldest first, without their citations", async () => {
    // Prepare
    const store = await openEmbeddedStore({ dir: join(baseDir, "history") });
    const sessions = createSessionStore(store, { maxSessionsPerUser: 10 });
    const session = await sessions.create("u1", "Photosynthesis");
    const citation = { source_id: "s1", chunk_id: "s1:0", page: 2, quote: "The Calvin cycle runs in the stroma." };
    for (const [index, role] of (["user", "assistant", "user", "assistant", "user"] as const).entries()) {
      await sessions.append("u1", session.id, {
        role,
        content: `message ${index}`,
        ...(role === "assistant" ? { citations: [citation] } : {}),
      });
    }

    // Act
    const turns = (await sessions.conversation("u1", session.id, 3)).history;
    const all = (await sessions.conversation("u1", session.id, 60)).history;

    // Assess
    expect(turns).toEqual([
      { role: "user", content: "message 2" },
      { role: "assistant", content: "message 3" },
      { role: "user", content: "message 4" },
    ]);
    expect(all.map((turn) => turn.content)).toEqual(["message 0", "message 1", "message 2", "message 3", "message 4"]);
    await store.close();
  });

  it("reads the legacy field names of early messages into history turns", async () => {
    // Prepare
    const store = await openEmbeddedStore({ dir: join(baseDir, "history-legacy") });
    const sessions = createSessionStore(store, { maxSessionsPerUser: 10 });
    const session = await sessions.create("u1", "Old notes");
    await store.collection(MESSAGES).insertOne({
      _id: "65a1f0c2e4b0a1b2c3d4e5f6",
      session_id: session.id,
      sender: "ai",
      text: "An answer stored by the original engine.",
      timestamp: new Date("2025-01-01T00:00:00Z"),
    });

    // Act
    const turns = (await sessions.conversation("u1", session.id, 60)).history;

    // Assess
    expect(turns).toEqual([{ role: "assistant", content: "An answer stored by the original engine." }]);
    await store.close();
  });

  it("gives another user's session no history, only a not-found error", async () => {
    // Prepare
    const store = await openEmbeddedStore({ dir: join(baseDir, "history-owner") });
    const sessions = createSessionStore(store, { maxSessionsPerUser: 10 });
    const session = await sessions.create("u1", "Private");
    await sessions.append("u1", session.id, { role: "user", content: "my question" });

    // Act
    const act = sessions.conversation("u2", session.id, 60);

    // Assess
    await expect(act).rejects.toBeInstanceOf(NotFoundError);
    await store.close();
  });

  it("reads the session and its history together, and stores a verified session's messages without reading it again", async () => {
    // Prepare
    const inner = await openEmbeddedStore({ dir: join(baseDir, "verified") });
    const timed = timedStore(inner, 5);
    const sessions = createSessionStore(timed.store, { maxSessionsPerUser: 10 });
    const session = await sessions.create("u1", "Cells");
    const from = performance.now();

    // Act
    const { session: owned, history } = await sessions.conversation("u1", session.id, 60);
    await sessions.append("u1", session.id, { role: "user", content: "What is a ribosome?" }, owned);
    await sessions.append("u1", session.id, { role: "assistant", content: "It builds proteins." }, owned);

    // Assess
    expect(history).toEqual([]);
    expect(sequentialRoundTrips(timed.operations, from, performance.now())).toEqual([
      ["chat_messages.find", "chat_sessions.findOne"],
      ["chat_messages.insertOne", "chat_sessions.updateOne"],
      ["chat_messages.insertOne", "chat_sessions.updateOne"],
    ]);
    expect(await sessions.get("u1", session.id)).toMatchObject({
      message_count: 2,
      last_message: "It builds proteins.",
    });
    await inner.close();
  });

  it("takes a message back when its verified session was deleted meanwhile, and fails as not found", async () => {
    // Prepare
    const store = await openEmbeddedStore({ dir: join(baseDir, "deleted-meanwhile") });
    const sessions = createSessionStore(store, { maxSessionsPerUser: 10 });
    const session = await sessions.create("u1", "Short-lived");
    const { session: owned } = await sessions.conversation("u1", session.id, 60);
    await sessions.remove("u1", session.id);

    // Act
    const act = sessions.append("u1", session.id, { role: "assistant", content: "Too late." }, owned);

    // Assess
    await expect(act).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.collection(MESSAGES).countDocuments({ session_id: session.id })).toBe(0);
    await store.close();
  });

  it("reads the session again when the verified session given is another one", async () => {
    // Prepare
    const store = await openEmbeddedStore({ dir: join(baseDir, "other-owned") });
    const sessions = createSessionStore(store, { maxSessionsPerUser: 10 });
    const mine = await sessions.create("u2", "Mine");
    const theirs = await sessions.create("u1", "Theirs");
    const { session: owned } = await sessions.conversation("u2", mine.id, 60);

    // Act
    const act = sessions.append("u2", theirs.id, { role: "user", content: "injected" }, owned);

    // Assess
    await expect(act).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.collection(MESSAGES).countDocuments({ session_id: theirs.id })).toBe(0);
    await store.close();
  });

  it("starts the counter of a session of the original engine from its real count when a verified session gets messages", async () => {
    // Prepare: a session and two messages as the original engine stored them, without a counter
    const store = await openEmbeddedStore({ dir: join(baseDir, "legacy-counter") });
    const sessions = createSessionStore(store, { maxSessionsPerUser: 10 });
    const sessionId = "65a1f0c2e4b0a1b2c3d4e500";
    await store.collection(SESSIONS).insertOne({
      _id: sessionId,
      user_id: "u1",
      title: "Old notes",
      created_at: new Date("2025-01-01T00:00:00Z"),
      updated_at: new Date("2025-01-01T00:00:00Z"),
    });
    for (const [index, sender] of ["user", "ai"].entries()) {
      await store.collection(MESSAGES).insertOne({
        _id: `65a1f0c2e4b0a1b2c3d4e50${index + 1}`,
        session_id: sessionId,
        sender,
        text: `old ${index}`,
        timestamp: new Date(`2025-01-01T00:0${index + 1}:00Z`),
      });
    }

    // Act
    const { session: owned, history } = await sessions.conversation("u1", sessionId, 60);
    await sessions.append("u1", sessionId, { role: "user", content: "new question" }, owned);
    await sessions.append("u1", sessionId, { role: "assistant", content: "new answer" }, owned);

    // Assess
    expect(owned.counted).toBe(false);
    expect(history.map((turn) => turn.role)).toEqual(["user", "assistant"]);
    expect(await sessions.get("u1", sessionId)).toMatchObject({ message_count: 4, last_message: "new answer" });
    await store.close();
  });
});
