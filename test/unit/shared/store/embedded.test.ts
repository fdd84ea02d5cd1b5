import { spawn } from "node:child_process";
import { fstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEmbeddedStore } from "#shared/store/embedded.ts";
import type { Filter, Sort } from "#shared/store/store.ts";
import { runNodeChild } from "#test/support/node-child.ts";
import { describeDocumentStoreContract } from "./contract.ts";

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));
const embeddedModule = fileURLToPath(new URL("../../../../shared/store/embedded.ts", import.meta.url));

let baseDir: string;
let counter = 0;

beforeAll(() => {
  baseDir = mkdtempSync(join(tmpdir(), "collabry-embedded-store-"));
});

afterAll(() => {
  rmSync(baseDir, { recursive: true, force: true });
});

function freshDir(): string {
  counter += 1;
  return join(baseDir, `store-${counter}`);
}

describeDocumentStoreContract("embedded", async () => {
  const store = await openEmbeddedStore({ dir: freshDir() });
  return { store, cleanup: () => store.close() };
});

describe("embedded store", () => {
  it("commits writes issued from separate callbacks in their order, and the writes issued before close", async () => {
    // Prepare
    const dir = freshDir();
    const store = await openEmbeddedStore({ dir });
    const counters = store.collection<{ _id: string; count: number }>("counters");

    // Act: two timers of the same turn, the second one's update planned after the first one's insert.
    const [inserted, incremented] = await new Promise<[Promise<unknown>, Promise<unknown>]>((resolve) => {
      let first: Promise<unknown> | undefined;
      setTimeout(() => {
        first = counters.insertOne({ _id: "turn", count: 1 });
      }, 0);
      setTimeout(
        () => resolve([first as Promise<unknown>, counters.updateOne({ _id: "turn" }, { $inc: { count: 1 } })]),
        0,
      );
    });
    await Promise.all([inserted, incremented]);
    const unawaited = counters.insertOne({ _id: "at-close", count: 7 });
    await store.close();
    const reopened = await openEmbeddedStore({ dir });
    const stored = await reopened.collection<{ _id: string; count: number }>("counters").find({}, { sort: { _id: 1 } });
    await reopened.close();

    // Assess
    await unawaited; // acknowledged, not refused by the close
    expect(stored).toEqual([
      { _id: "at-close", count: 7 },
      { _id: "turn", count: 2 },
    ]);
  });

  it("commits writes issued together in one transaction, each seeing the ones before it, a refusal failing only itself", async () => {
    // Prepare
    const dir = freshDir();
    const store = await openEmbeddedStore({ dir });
    const counters = store.collection<{ _id: string; count: number; note?: string }>("counters");
    await counters.insertOne({ _id: "taken", count: 0 });
    const cyclic: Record<string, unknown> = { _id: "cyclic", count: 0 };
    cyclic.self = cyclic;

    // Act
    const outcomes = await Promise.allSettled([
      counters.insertOne({ _id: "a", count: 1 }),
      counters.updateOne({ _id: "a" }, { $inc: { count: 1 } }),
      counters.findOneAndUpdate({ _id: "a" }, { $inc: { count: 1 } }, { returnDocument: "after" }),
      counters.insertOne({ _id: "taken", count: 9 }),
      counters.updateOne({ _id: "b" }, { $set: { count: 5 } }, { upsert: true }),
    ]);
    // A document that cannot be written fails the batch's transaction: the others are committed alone.
    const withBadWrite = await Promise.allSettled([
      counters.insertOne({ _id: "c", count: 3 }),
      counters.insertOne(cyclic as { _id: string; count: number }),
      counters.updateOne({ _id: "b" }, { $inc: { count: 1 } }),
    ]);
    await store.close();
    const reopened = await openEmbeddedStore({ dir });
    const stored = await reopened.collection<{ _id: string; count: number }>("counters").find({}, { sort: { _id: 1 } });
    await reopened.close();

    // Assess
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    expect(outcomes[2]).toMatchObject({ value: { _id: "a", count: 3 } });
    expect(withBadWrite.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(stored).toEqual([
      { _id: "a", count: 3 },
      { _id: "b", count: 6 },
      { _id: "c", count: 3 },
      { _id: "taken", count: 0 },
    ]);
  });

  it("retries each write of a failed transaction alone: the others commit, the failing one fails, the cache keeps nothing of it", async () => {
    // Prepare: a document EJSON cannot serialise fails its statement inside the transaction (not a refusal of its plan).
    const dir = freshDir();
    const store = await openEmbeddedStore({ dir });
    const items = store.collection("items");
    await items.insertOne({ _id: "before", n: 1 });
    const circular: Record<string, unknown> = { _id: "bad" };
    circular.self = circular;

    // Act
    const [good, bad, counted] = await Promise.allSettled([
      items.insertOne({ _id: "good" }),
      items.insertOne(circular as { _id: string }),
      items.updateOne({ _id: "before" }, { $inc: { n: 1 } }),
    ]);
    const alone = await items.insertOne(circular as { _id: string }).then(
      () => "inserted",
      (error: unknown) => (error as Error).message,
    );
    const stored = await items.find({}, { sort: { _id: 1 } });

    // Assess
    expect(good.status).toBe("fulfilled");
    expect(bad.status).toBe("rejected");
    expect(counted).toMatchObject({ status: "fulfilled", value: { matchedCount: 1, modifiedCount: 1 } });
    expect(alone).toMatch(/circular/i);
    expect(stored).toEqual([{ _id: "before", n: 2 }, { _id: "good" }]);
    await store.close();
    const reopened = await openEmbeddedStore({ dir });
    expect(await reopened.collection("items").find({}, { sort: { _id: 1 } })).toEqual(stored);
    await reopened.close();
  });

  it("reports its kind and answers ping until closed", async () => {
    // Prepare
    const store = await openEmbeddedStore({ dir: freshDir() });

    // Act
    await store.ping();
    await store.close();

    // Assess
    expect(store.kind).toBe("embedded");
    await expect(store.ping()).rejects.toThrow(/closed/);
  });

  it("keeps documents, updates, deletes and unique indexes across close and reopen", async () => {
    // Prepare
    const dir = freshDir();
    const first = await openEmbeddedStore({ dir });
    await first.ensureIndexes("documents", [{ keys: { user_id: 1, sha256: 1 }, unique: true }]);
    const docs = first.collection("documents");
    await docs.insertOne({ _id: "d1", user_id: "u1", sha256: "aa", created_at: new Date("2025-01-01T00:00:00Z") });
    await docs.insertOne({ _id: "d2", user_id: "u1", sha256: "bb" });
    await docs.updateOne({ _id: "d1" }, { $set: { status: "ready" } });
    await docs.deleteOne({ _id: "d2" });
    await first.close();

    // Act
    const second = await openEmbeddedStore({ dir });
    const reopened = second.collection("documents");
    const all = await reopened.find({});
    const duplicate = reopened.insertOne({ _id: "d3", user_id: "u1", sha256: "aa" });

    // Assess
    expect(all).toEqual([
      { _id: "d1", user_id: "u1", sha256: "aa", created_at: new Date("2025-01-01T00:00:00Z"), status: "ready" },
    ]);
    await expect(duplicate).rejects.toThrow(/duplicate key/);
    await second.close();
  });

  it("keeps two stores on different directories independent", async () => {
    // Prepare
    const a = await openEmbeddedStore({ dir: freshDir() });
    const b = await openEmbeddedStore({ dir: freshDir() });

    // Act
    await a.collection("chat_sessions").insertOne({ _id: "s1", owner: "a" });
    await b.collection("chat_sessions").insertOne({ _id: "s1", owner: "b" });

    // Assess
    expect((await a.collection("chat_sessions").findOne({ _id: "s1" }))?.owner).toBe("a");
    expect((await b.collection("chat_sessions").findOne({ _id: "s1" }))?.owner).toBe("b");
    await a.close();
    await b.close();
  });

  it("sees writes committed by another connection on the same directory", async () => {
    // Prepare
    const dir = freshDir();
    const reader = await openEmbeddedStore({ dir });
    const writer = await openEmbeddedStore({ dir });
    await reader.collection("counters").insertOne({ _id: "c", value: 1 });
    expect((await reader.collection("counters").findOne({ _id: "c" }))?.value).toBe(1);

    // Act
    await writer.collection("counters").updateOne({ _id: "c" }, { $inc: { value: 1 } });
    await reader.collection("counters").updateOne({ _id: "c" }, { $inc: { value: 1 } });

    // Assess
    expect((await reader.collection("counters").findOne({ _id: "c" }))?.value).toBe(3);
    expect((await writer.collection("counters").findOne({ _id: "c" }))?.value).toBe(3);
    await reader.close();
    await writer.close();
  });

  it("reuses a read's check for changes made elsewhere only within the run that made it", async () => {
    // Prepare: `outside` stands for another process (a plain SQLite connection, no store of this process).
    const dir = freshDir();
    const store = await openEmbeddedStore({ dir });
    await store.collection("counters").insertOne({ _id: "c", value: 1 });
    const outside = new Database(join(dir, "store.sqlite"));
    const setOutside = (value: number) =>
      outside
        .prepare("UPDATE documents SET doc = ? WHERE collection = 'counters' AND id = 'c'")
        .run(JSON.stringify({ _id: "c", value }));

    // Act
    const before = store.collection("counters").findOne({ _id: "c" });
    setOutside(5);
    const sameRun = store.collection("counters").findOne({ _id: "c" });
    await new Promise((resolve) => setImmediate(resolve));
    const laterCallback = store.collection("counters").findOne({ _id: "c" });

    // Assess: within the run, the check made at its start stands; the next callback sees the commit.
    expect((await before)?.value).toBe(1);
    expect((await sameRun)?.value).toBe(1);
    expect((await laterCallback)?.value).toBe(5);
    outside.close();
    await store.close();
  });

  it("checks for changes made elsewhere once a write holds the lock, even right after a read checked", async () => {
    // Prepare
    const dir = freshDir();
    const store = await openEmbeddedStore({ dir });
    await store.collection("counters").insertOne({ _id: "c", value: 1 });
    const outside = new Database(join(dir, "store.sqlite"));

    // Act: the increment commits after another process's write that followed the read's check.
    const increment = store.collection("counters").updateOne({ _id: "c" }, { $inc: { value: 1 } });
    const read = store.collection("counters").findOne({ _id: "c" });
    outside
      .prepare("UPDATE documents SET doc = ? WHERE collection = 'counters' AND id = 'c'")
      .run(JSON.stringify({ _id: "c", value: 5 }));
    await increment;

    // Assess: the other process's write is not lost.
    expect((await read)?.value).toBe(1);
    expect((await store.collection("counters").findOne({ _id: "c" }))?.value).toBe(6);
    outside.close();
    await store.close();
  });

  it("lets no reused check hide a commit another store of this process made before the read", async () => {
    // Prepare
    const dir = freshDir();
    const reader = await openEmbeddedStore({ dir });
    const writer = await openEmbeddedStore({ dir });
    await reader.collection("counters").insertOne({ _id: "c", value: 1 });

    // Act: the writer commits in a microtask that runs before the read queued after it, and after
    // the reader's check.
    const write = writer.collection("counters").updateOne({ _id: "c" }, { $inc: { value: 1 } });
    const afterWrite = Promise.resolve().then(() => reader.collection("counters").findOne({ _id: "c" }));
    const beforeWrite = reader.collection("counters").findOne({ _id: "c" });
    await write;

    // Assess
    expect((await beforeWrite)?.value).toBe(1);
    expect((await afterWrite)?.value).toBe(2);
    await reader.close();
    await writer.close();
  });

  it("removes documents past a TTL index's expiry, also on the first write after reopening", async () => {
    // Prepare
    const dir = freshDir();
    const hourAgo = new Date(Date.now() - 3_600_000);
    const first = await openEmbeddedStore({ dir });
    const pending = first.collection("pending_uploads");
    await pending.insertOne({ _id: "old", created_at: hourAgo });
    await pending.insertOne({ _id: "new", created_at: new Date() });
    await pending.insertOne({ _id: "undated" });

    // Act
    await first.ensureIndexes("pending_uploads", [{ keys: { created_at: 1 }, expireAfterSeconds: 600 }]);
    const afterIndex = await pending.find({}, { sort: { _id: 1 } });
    await pending.insertOne({ _id: "old-2", created_at: hourAgo });
    await first.close();
    const second = await openEmbeddedStore({ dir });
    const update = await second.collection("pending_uploads").updateOne({ _id: "new" }, { $set: { seen: true } });
    const afterReopen = await second.collection("pending_uploads").find({}, { sort: { _id: 1 } });

    // Assess
    expect(afterIndex.map((doc) => doc._id)).toEqual(["new", "undated"]);
    expect(update.modifiedCount).toBe(1);
    expect(afterReopen.map((doc) => doc._id)).toEqual(["new", "undated"]);
    await second.close();
  });

  it("stays fast for one user among 10k documents of 100 users", async () => {
    // Prepare
    const store = await openEmbeddedStore({ dir: freshDir() });
    const sessions = store.collection("chat_sessions");
    for (let i = 0; i < 10_000; i++) {
      await sessions.insertOne({
        _id: `s${i}`,
        user_id: `u${i % 100}`,
        title: `Session ${i}`,
        created_at: new Date(Date.UTC(2025, 0, 1) + i * 60_000),
      });
    }

    // Act
    const findStart = performance.now();
    let page: Awaited<ReturnType<typeof sessions.find>> = [];
    for (let u = 0; u < 100; u++) {
      page = await sessions.find({ user_id: `u${u}` }, { sort: { created_at: -1 }, limit: 50 });
    }
    const findMs = (performance.now() - findStart) / 100;

    // Assess
    // A generous bound that still catches a full scan plus sort per query (measured here: under 1 ms
    // per find, against about 15 ms for a full scan). Insert time is not asserted: every insert is an
    // fsync'd commit, and fsync latency on a shared CI disk varies too much to make a stable test.
    expect(findMs).toBeLessThan(10);
    expect(page).toHaveLength(50);
    expect(page[0]?._id).toBe("s9999");
    expect(page.every((doc) => doc.user_id === "u99")).toBe(true);
    await store.close();
  }, 120_000);

  it("keeps every acknowledged write after the writing process is killed with SIGKILL", async () => {
    // Prepare
    const dir = freshDir();
    const script = join(baseDir, `crash-writer-${counter}.mts`);
    writeFileSync(
      script,
      `import { openEmbeddedStore } from ${JSON.stringify(embeddedModule)};
const store = await openEmbeddedStore({ dir: ${JSON.stringify(dir)} });
const messages = store.collection("chat_messages");
const payload = "x".repeat(8192);
for (let i = 0; ; i++) {
  await messages.insertOne({ _id: "m" + i, session_id: "s1", content: payload, timestamp: new Date(i) });
  await messages.updateOne({ _id: "m" + i }, { $set: { acked: true } });
  process.stdout.write("ack " + i + "\\n");
}
`,
    );
    const killAfter = 200;

    // Act
    const acknowledged = await new Promise<number[]>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", script], {
        cwd: repoRoot,
        stdio: ["ignore", "pipe", "pipe"],
      });
      const acks: number[] = [];
      let buffered = "";
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          const match = /^ack (\d+)$/.exec(line);
          if (match?.[1] !== undefined) acks.push(Number(match[1]));
        }
        if (acks.length >= killAfter && child.exitCode === null && !child.killed) child.kill("SIGKILL");
      });
      child.on("error", reject);
      child.on("exit", (_code, signal) => {
        if (signal === "SIGKILL") resolve(acks);
        else reject(new Error(`writer exited without being killed: ${stderr}`));
      });
    });
    const store = await openEmbeddedStore({ dir });
    const messages = store.collection("chat_messages");
    const found = await messages.find({ session_id: "s1" }, { projection: { acked: 1 } });
    const foundIds = new Set(found.map((doc) => doc._id));
    await messages.insertOne({ _id: "after-crash", session_id: "s1", content: "still writable" });

    // Assess
    expect(acknowledged.length).toBeGreaterThanOrEqual(killAfter);
    expect(acknowledged.filter((i) => !foundIds.has(`m${i}`))).toEqual([]);
    const lastAcked = Math.max(...acknowledged);
    expect(found.filter((doc) => doc._id !== `m${lastAcked + 1}`).every((doc) => doc.acked === true)).toBe(true);
    const intact = await messages.find({ _id: { $in: acknowledged.map((i) => `m${i}`) } });
    expect(intact.every((doc) => doc.content === "x".repeat(8192))).toBe(true);
    expect(await messages.countDocuments({ _id: "after-crash" })).toBe(1);
    await store.close();
  }, 30_000);

  it("acknowledges a write only after the WAL is flushed, one flush for writes of the same moment", async () => {
    // Prepare
    const flushes: Array<{ release: () => void }> = [];
    const store = await openEmbeddedStore({
      dir: freshDir(),
      fsync: (_fd, done) => flushes.push({ release: () => done(null) }),
    });
    const messages = store.collection("chat_messages");
    const settled: string[] = [];

    // Act
    const first = messages.insertOne({ _id: "a", session_id: "s1" }).then(() => settled.push("a"));
    const second = messages.insertOne({ _id: "b", session_id: "s1" }).then(() => settled.push("b"));
    await new Promise((resolve) => setImmediate(resolve));
    const beforeFlush = [...settled];
    const visibleBeforeFlush = await messages.countDocuments({ session_id: "s1" });
    const flushesStarted = flushes.length;
    for (const flush of flushes.splice(0)) flush.release();
    await Promise.all([first, second]);

    // Assess
    expect(beforeFlush).toEqual([]);
    expect(visibleBeforeFlush).toBe(2);
    expect(flushesStarted).toBe(1);
    expect(settled.sort()).toEqual(["a", "b"]);
    const close = store.close();
    await new Promise((resolve) => setImmediate(resolve));
    for (const flush of flushes.splice(0)) flush.release();
    await close;
  });

  it("never lets a flush cover a commit made after it started", async () => {
    // Prepare
    const flushes: Array<() => void> = [];
    const store = await openEmbeddedStore({
      dir: freshDir(),
      fsync: (_fd, done) => flushes.push(() => done(null)),
    });
    const messages = store.collection("chat_messages");
    const settled: string[] = [];
    const first = messages.insertOne({ _id: "a", session_id: "s1" }).then(() => settled.push("a"));
    await new Promise((resolve) => setImmediate(resolve));

    // Act: "b" commits while the flush for "a" is running
    const second = messages.insertOne({ _id: "b", session_id: "s1" }).then(() => settled.push("b"));
    flushes.shift()?.();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    const afterFirstFlush = [...settled];
    flushes.shift()?.();
    await second;

    // Assess
    expect(afterFirstFlush).toEqual(["a"]);
    expect(settled).toEqual(["a", "b"]);
    const close = store.close();
    await new Promise((resolve) => setImmediate(resolve));
    for (const release of flushes.splice(0)) release();
    await close;
  });

  it("fails a write whose flush failed, retries for later writes, and acknowledges relaxed collections at commit", async () => {
    // Prepare
    const failure = Object.assign(new Error("disk gone"), { code: "EIO" });
    let failNext = true;
    const store = await openEmbeddedStore({
      dir: freshDir(),
      fsync: (_fd, done) => {
        const error = failNext ? failure : null;
        failNext = false;
        setImmediate(() => done(error));
      },
    });
    const messages = store.collection("chat_messages");

    // Act
    const durable = messages.insertOne({ _id: "a", session_id: "s1" });
    const relaxed = store.collection("rate_limits", { durability: "relaxed" }).insertOne({ _id: "w1", count: 1 });
    const durableOutcome = await durable.then(
      () => "resolved",
      (error: Error) => error.message,
    );
    const later = messages.insertOne({ _id: "b", session_id: "s1" });

    // Assess
    expect(durableOutcome).toBe("disk gone");
    await expect(relaxed).resolves.toBeUndefined();
    await expect(later).resolves.toBeUndefined();
    await store.close();
  });

  it("flushes the WAL through one descriptor kept open for the store's lifetime", async () => {
    // Prepare
    const dir = freshDir();
    const descriptors: number[] = [];
    const store = await openEmbeddedStore({
      dir,
      fsync: (fd, done) => {
        descriptors.push(fd);
        setImmediate(() => done(null));
      },
    });
    const messages = store.collection("chat_messages");

    // Act
    for (let i = 0; i < 5; i++) await messages.insertOne({ _id: `m${i}`, session_id: "s1" });
    const walInode = statSync(join(dir, "store.sqlite-wal")).ino;
    const flushedInode = fstatSync(descriptors[0] ?? -1).ino;
    await store.close();

    // Assess
    expect(descriptors.length).toBeGreaterThanOrEqual(5);
    expect(new Set(descriptors).size).toBe(1);
    expect(flushedInode).toBe(walInode);
  });

  it("applies scalar $set and $inc as MongoDB does: nested paths created, equal values no modification", async () => {
    // Prepare
    const store = await openEmbeddedStore({ dir: freshDir() });
    const days = store.collection("daily_stats");
    const at = new Date("2026-01-02T03:04:05Z");
    await days.insertOne({ _id: "d1", tokens: 5, tags: ["a"], updated_at: at });

    // Act
    const nested = await days.updateOne({ _id: "d1" }, { $inc: { "by_type.chat": 2, tokens: 3 } });
    const same = await days.updateOne({ _id: "d1" }, { $set: { updated_at: new Date(at.getTime()) } });
    const intoArray = await days.updateOne({ _id: "d1" }, { $set: { "tags.0": "b" } });
    const stored = await days.findOne({ _id: "d1" });

    // Assess
    expect(nested.modifiedCount).toBe(1);
    expect(same.modifiedCount).toBe(0);
    expect(intoArray.modifiedCount).toBe(1);
    expect(stored).toMatchObject({ tokens: 8, by_type: { chat: 2 }, tags: ["b"] });
    expect(stored?.updated_at).toEqual(at);
    await store.close();
  });

  it("matches plain equalities as MongoDB does (array elements, no type coercion) and sorts missing values first", async () => {
    // Prepare
    const store = await openEmbeddedStore({ dir: freshDir() });
    const cards = store.collection("cards");
    await cards.insertOne({ _id: "c1", tags: ["bio", "cell"], level: 2, due: new Date(3) });
    await cards.insertOne({ _id: "c2", tags: "bio", level: "2", due: new Date(1) });
    await cards.insertOne({ _id: "c3", level: 2 });

    // Act
    const tagged = await cards.find({ tags: "bio" });
    const levelTwo = await cards.find({ level: 2 });
    const byDue = await cards.find({}, { sort: { due: 1 } });
    const byLevel = await cards.find({}, { sort: { level: -1, _id: 1 } });

    // Assess
    expect(tagged.map((card) => card._id)).toEqual(["c1", "c2"]);
    expect(levelTwo.map((card) => card._id)).toEqual(["c1", "c3"]);
    expect(byDue.map((card) => card._id)).toEqual(["c3", "c2", "c1"]);
    // Strings sort after numbers in MongoDB's type order.
    expect(byLevel.map((card) => card._id)).toEqual(["c2", "c1", "c3"]);
    await store.close();
  });

  it("decides scalar equalities, ranges and $in as mingo does, over every type and a missing field", async () => {
    // Prepare: values of every bracket (numbers, strings, booleans, dates), null, missing, arrays and
    // objects, which the store leaves to mingo; the filters are the plain shapes it decides itself.
    const values: unknown[] = [
      -1,
      0,
      2,
      2.5,
      "",
      "a",
      "b",
      "ab",
      "\u00e9",
      true,
      false,
      new Date(0),
      new Date(5000),
      null,
      undefined,
      [2, "a"],
      { a: 1 },
    ];
    const operands: unknown[] = [0, 2, 2.5, "a", "ab", true, new Date(0), new Date(5000)];
    const store = await openEmbeddedStore({ dir: freshDir() });
    const items = store.collection("items");
    const docs: Array<{ _id: string } & Record<string, unknown>> = values.map((value, index) => ({
      _id: `i${String(index).padStart(2, "0")}`,
      ...(value === undefined ? {} : { v: value }),
      k: index % 3,
    }));
    for (const doc of docs) await items.insertOne(structuredClone(doc));
    const filters: Array<Record<string, unknown>> = [];
    for (const operand of operands) {
      filters.push({ v: operand });
      for (const op of ["$eq", "$lt", "$lte", "$gt", "$gte"]) filters.push({ v: { [op]: operand } });
      filters.push({ v: { $in: [operand, "b"] } }, { v: { $gt: operand, $lte: "b" }, k: 1 });
    }
    const { Query } = await import("mingo");

    // Act
    const mismatches: string[] = [];
    for (const filter of filters) {
      const found = (await items.find(filter)).map((doc) => doc._id);
      const expected = new Query(filter)
        .find<{ _id: string }>(structuredClone(docs))
        .all()
        .map((doc) => doc._id);
      if (JSON.stringify(found) !== JSON.stringify(expected)) {
        mismatches.push(`${JSON.stringify(filter)}: ${found.join(",")} vs ${expected.join(",")}`);
      }
    }

    // Assess
    expect(filters.length).toBe(64);
    expect(mismatches).toEqual([]);
    await store.close();
  });

  it("serves the engine's usual operations without loading mingo, and loads it for the rest", async () => {
    // Prepare: a fresh process, since this one has mingo loaded already.
    const dir = freshDir();
    const script = join(baseDir, `mingo-on-demand-${counter}.mts`);
    writeFileSync(
      script,
      `import { createRequire } from "node:module";
import { openEmbeddedStore } from ${JSON.stringify(embeddedModule)};
const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes("/node_modules/mingo/"));
const store = await openEmbeddedStore({ dir: ${JSON.stringify(dir)} });
const logs = store.collection("usage_logs");
await store.ensureIndexes("usage_logs", [{ keys: { user_id: 1, timestamp: -1 } }]);
for (let i = 0; i < 5; i++) await logs.insertOne({ user_id: "u1", kind: "chat", tokens: i, timestamp: new Date(i * 1000) });
await logs.updateOne({ user_id: "u1", tokens: 2 }, { $inc: { tokens: 10 }, $set: { at: new Date() } });
await logs.updateOne({ user_id: "u2" }, { $setOnInsert: { tokens: 0 }, $inc: { calls: 1 } }, { upsert: true });
const recent = await logs.find({ user_id: "u1", timestamp: { $gte: new Date(2000) } }, { sort: { timestamp: -1 }, limit: 2, projection: { tokens: 1 } });
const kinds = await logs.countDocuments({ kind: { $in: ["chat", "qa"] } });
const before = loaded();
const pushed = await logs.updateOne({ user_id: "u2" }, { $push: { tags: "x" } });
console.log(JSON.stringify({ before, after: loaded(), recent, kinds, pushed: pushed.modifiedCount }));
await store.close();
`,
    );

    // Act
    const output = await runNodeChild(["--import", "tsx", script], { cwd: repoRoot, label: "mingo-on-demand" });

    // Assess
    expect(JSON.parse(output)).toMatchObject({
      before: false,
      after: true,
      recent: [{ tokens: 4 }, { tokens: 3 }],
      kinds: 5,
      pushed: 1,
    });
  });

  it("projects top-level fields itself and dotted paths through mingo", async () => {
    // Prepare
    const store = await openEmbeddedStore({ dir: freshDir() });
    const sessions = store.collection("sessions");
    await sessions.insertOne({ _id: "s1", title: "T", meta: { a: 1, b: 2 }, parts: [{ x: 1, y: 2 }], n: 3 });

    // Act
    const topLevel = await sessions.findOne({ _id: "s1" }, { projection: { title: 1, meta: 1, absent: 1 } });
    const dotted = await sessions.find({ _id: "s1" }, { projection: { "meta.a": 1, "parts.y": 1 } });
    if (topLevel?.meta) (topLevel.meta as Record<string, number>).a = 99;
    const again = await sessions.findOne({ _id: "s1" }, { projection: { meta: 1 } });

    // Assess
    expect(topLevel).toEqual({ _id: "s1", title: "T", meta: { a: 99, b: 2 } });
    expect(dotted).toEqual([{ _id: "s1", meta: { a: 1 }, parts: [{ y: 2 }] }]);
    expect(again).toEqual({ _id: "s1", meta: { a: 1, b: 2 } });
    await store.close();
  });

  it("answers sorted reads with a limit from kept orders exactly as sorting everything would, through inserts, updates and deletes", async () => {
    // Prepare: messages of three sessions, with tied, string, missing and equal timestamps
    const store = await openEmbeddedStore({ dir: freshDir() });
    const messages = store.collection("messages");
    let seed = 7;
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    const pick = <T>(values: T[]): T => values[Math.floor(random() * values.length)] as T;
    const sessions = ["s1", "s2", "s3"];
    const timestamp = () =>
      pick([
        new Date(Date.UTC(2026, 0, 1, 0, Math.floor(random() * 40))),
        new Date(Date.UTC(2026, 0, 1, 0, 5)),
        "2026-01-01T00:07:00Z",
        undefined,
      ]);
    const reads: Array<{ filter: (session: string) => Filter; sort: Sort; limit: number; skip?: number }> = [
      { filter: (session: string) => ({ session_id: session }), sort: { timestamp: -1, _id: -1 }, limit: 5 },
      { filter: (session: string) => ({ session_id: session }), sort: { timestamp: 1 }, limit: 7, skip: 2 },
      {
        filter: (session: string) => ({
          session_id: session,
          timestamp: { $lt: new Date(Date.UTC(2026, 0, 1, 0, 20)) },
        }),
        sort: { timestamp: -1, _id: -1 },
        limit: 4,
      },
    ];
    const ids: string[] = [];
    const mismatches: string[] = [];

    // Act: 300 random changes, each followed by every read of every session
    for (let step = 0; step < 300; step += 1) {
      const roll = random();
      if (roll < 0.55 || ids.length === 0) {
        const id = `m${String(step).padStart(3, "0")}`;
        ids.push(id);
        const stamp = timestamp();
        await messages.insertOne({
          _id: id,
          session_id: pick(sessions),
          ...(stamp === undefined ? {} : { timestamp: stamp }),
        });
      } else if (roll < 0.7) {
        await messages.updateOne({ _id: pick(ids) }, { $set: { content: `edit ${step}` } });
      } else if (roll < 0.8) {
        await messages.updateOne(
          { _id: pick(ids) },
          { $set: { timestamp: new Date(Date.UTC(2026, 0, 1, 1, step % 50)) } },
        );
      } else if (roll < 0.88) {
        await messages.updateOne({ _id: pick(ids) }, { $set: { session_id: pick(sessions) } });
      } else {
        const id = pick(ids);
        ids.splice(ids.indexOf(id), 1);
        await messages.deleteOne({ _id: id });
      }
      for (const session of sessions) {
        for (const read of reads) {
          const filter = read.filter(session);
          const limited = await messages.find(filter, { sort: read.sort, limit: read.limit, skip: read.skip ?? 0 });
          const all = await messages.find(filter, { sort: read.sort });
          const expected = all.slice(read.skip ?? 0, (read.skip ?? 0) + read.limit).map((doc) => doc._id);
          const actual = limited.map((doc) => doc._id);
          if (JSON.stringify(actual) !== JSON.stringify(expected)) {
            mismatches.push(`step ${step}, ${session}: ${actual.join(",")} instead of ${expected.join(",")}`);
          }
        }
      }
    }
    // A message whose session_id is an array matches by element: the kept orders step aside.
    await messages.insertOne({ _id: "zz-array", session_id: ["s1", "s2"], timestamp: new Date(Date.UTC(2030, 0, 1)) });
    const newest = await messages.findOne({ session_id: "s1" }, { sort: { timestamp: -1, _id: -1 } });

    // Assess
    expect(mismatches).toEqual([]);
    expect(newest?._id).toBe("zz-array");
    await store.close();
  });

  it("answers right from kept and dropped orders once more than 2,000 values of a field were read", async () => {
    // Prepare: 2,050 sessions of two messages, each read newest first once
    const store = await openEmbeddedStore({ dir: freshDir() });
    const messages = store.collection("messages");
    const newest = async (session: number) =>
      (await messages.find({ session_id: `s${session}` }, { sort: { timestamp: -1, _id: -1 }, limit: 2 })).map(
        (doc) => doc._id,
      );
    for (let session = 0; session < 2_050; session += 1) {
      await Promise.all([
        messages.insertOne({ _id: `s${session}-a`, session_id: `s${session}`, timestamp: new Date(1_000) }),
        messages.insertOne({ _id: `s${session}-b`, session_id: `s${session}`, timestamp: new Date(2_000) }),
      ]);
      await newest(session);
    }

    // Act: the first sessions' orders were dropped; a new message goes to one of them and to a kept one
    await messages.insertOne({ _id: "s0-c", session_id: "s0", timestamp: new Date(3_000) });
    await messages.insertOne({ _id: "s2049-c", session_id: "s2049", timestamp: new Date(3_000) });

    // Assess
    expect(await newest(0)).toEqual(["s0-c", "s0-b"]);
    expect(await newest(2_049)).toEqual(["s2049-c", "s2049-b"]);
    expect(await newest(1_000)).toEqual(["s1000-b", "s1000-a"]);
    await store.close();
  });
});
