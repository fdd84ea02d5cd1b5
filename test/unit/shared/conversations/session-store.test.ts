import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSessionStore, MESSAGES } from "#shared/conversations/session-store.ts";
import { NotFoundError } from "#shared/http/errors.ts";
import { openEmbeddedStore } from "#shared/store/embedded.ts";

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
    const turns = await sessions.history("u1", session.id, 3);
    const all = await sessions.history("u1", session.id, 60);

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
    const turns = await sessions.history("u1", session.id, 60);

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
    const act = sessions.history("u2", session.id, 60);

    // Assess
    await expect(act).rejects.toBeInstanceOf(NotFoundError);
    await store.close();
  });
});
