import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSessionStore } from "#shared/conversations/session-store.ts";
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
});
