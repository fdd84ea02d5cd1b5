// The behaviour every DocumentStore adapter must share; each adapter's test file runs it.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DocumentStore, DuplicateKeyError, type StoredDocument } from "#shared/store/store.ts";

/** What an adapter's test file hands the contract: a fresh, empty store and how to dispose of it. */
export type OpenStore = () => Promise<{ store: DocumentStore; cleanup: () => Promise<void> }>;

interface Session extends StoredDocument {
  user_id: string;
  title: string;
  created_at: Date;
  count?: number;
  tags?: string[];
  meta?: { subject?: string; level?: number };
}

const HEX_A = "65a1f0c2e4b0a1b2c3d4e5f6";
const HEX_B = "65a1f0c2e4b0a1b2c3d4e5f7";

function day(n: number): Date {
  return new Date(Date.UTC(2025, 0, n, 12, 0, 0));
}

/** Defines the document store contract suite for one adapter. */
export function describeDocumentStoreContract(name: string, open: OpenStore): void {
  describe(`DocumentStore contract: ${name}`, () => {
    let store: DocumentStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });

    afterEach(async () => {
      await cleanup();
    });

    async function seedSessions(): Promise<void> {
      const sessions = store.collection<Session>("chat_sessions");
      await sessions.insertOne({
        _id: "s1",
        user_id: "u1",
        title: "Algebra",
        created_at: day(1),
        count: 3,
        meta: { subject: "math", level: 2 },
      });
      await sessions.insertOne({ _id: "s2", user_id: "u1", title: "Biology", created_at: day(2), count: 1 });
      await sessions.insertOne({
        _id: "s3",
        user_id: "u2",
        title: "Chemistry",
        created_at: day(3),
        count: 3,
        meta: { subject: "science", level: 1 },
      });
      await sessions.insertOne({ _id: "s4", user_id: "u1", title: "Drawing", created_at: day(4), count: 2 });
    }

    function ids(docs: StoredDocument[]): string[] {
      return docs.map((doc) => doc._id);
    }

    describe("queries", () => {
      it("finds by equality and returns null from findOne when nothing matches", async () => {
        // Prepare
        await seedSessions();
        const sessions = store.collection<Session>("chat_sessions");

        // Act
        const mine = await sessions.find({ user_id: "u1" });
        const one = await sessions.findOne({ _id: "s3" });
        const none = await sessions.findOne({ user_id: "nobody" });

        // Assess
        expect(ids(mine).sort()).toEqual(["s1", "s2", "s4"]);
        expect(one?.title).toBe("Chemistry");
        expect(none).toBeNull();
      });

      it("supports $in, $lt/$gt on Dates, $exists and nested fields", async () => {
        // Prepare
        await seedSessions();
        const sessions = store.collection<Session>("chat_sessions");

        // Act
        const byIn = await sessions.find({ _id: { $in: ["s1", "s3", "missing"] } });
        const between = await sessions.find({ created_at: { $gt: day(1), $lt: day(4) } });
        const withMeta = await sessions.find({ meta: { $exists: true } });
        const withoutMeta = await sessions.find({ meta: { $exists: false } });
        const nested = await sessions.find({ "meta.subject": "science" });
        const nestedRange = await sessions.find({ "meta.level": { $gte: 2 } });

        // Assess
        expect(ids(byIn).sort()).toEqual(["s1", "s3"]);
        expect(ids(between).sort()).toEqual(["s2", "s3"]);
        expect(ids(withMeta).sort()).toEqual(["s1", "s3"]);
        expect(ids(withoutMeta).sort()).toEqual(["s2", "s4"]);
        expect(ids(nested)).toEqual(["s3"]);
        expect(ids(nestedRange)).toEqual(["s1"]);
      });

      it("sorts by several keys, descending, with skip and limit", async () => {
        // Prepare
        await seedSessions();
        const sessions = store.collection<Session>("chat_sessions");

        // Act
        const byCountThenDate = await sessions.find({}, { sort: { count: -1, created_at: 1 } });
        const newest = await sessions.find({}, { sort: { created_at: -1 }, limit: 2 });
        const page = await sessions.find({}, { sort: { created_at: -1 }, skip: 1, limit: 2 });
        const first = await sessions.findOne({ user_id: "u1" }, { sort: { created_at: -1 } });

        // Assess
        expect(ids(byCountThenDate)).toEqual(["s1", "s3", "s4", "s2"]);
        expect(ids(newest)).toEqual(["s4", "s3"]);
        expect(ids(page)).toEqual(["s3", "s2"]);
        expect(first?._id).toBe("s4");
      });

      it("sorts values of different types in MongoDB's type order (missing and null, numbers, strings, booleans, dates)", async () => {
        // Prepare
        const items = store.collection<StoredDocument & { value?: unknown; n: number }>("sort_items");
        await items.insertOne({ _id: "date", value: day(2), n: 1 });
        await items.insertOne({ _id: "true", value: true, n: 2 });
        await items.insertOne({ _id: "text", value: "b", n: 3 });
        await items.insertOne({ _id: "ten", value: 10, n: 4 });
        await items.insertOne({ _id: "missing", n: 5 });
        await items.insertOne({ _id: "earlier", value: day(1), n: 6 });
        await items.insertOne({ _id: "minus", value: -2.5, n: 7 });
        await items.insertOne({ _id: "false", value: false, n: 8 });
        await items.insertOne({ _id: "null", value: null, n: 9 });
        await items.insertOne({ _id: "apple", value: "a", n: 10 });

        // Act
        const ascending = await items.find({}, { sort: { value: 1, n: 1 } });
        const descending = await items.find({}, { sort: { value: -1, n: -1 }, limit: 4 });

        // Assess
        expect(ids(ascending)).toEqual([
          "missing",
          "null",
          "minus",
          "ten",
          "apple",
          "text",
          "false",
          "true",
          "earlier",
          "date",
        ]);
        expect(ids(descending)).toEqual(["date", "earlier", "true", "false"]);
      });

      it("returns the newest of many documents by a date and an id, as a chat history read does", async () => {
        // Prepare: 500 messages, a second apart, in pairs sharing a timestamp, inserted out of order.
        const messages = store.collection<StoredDocument & { session_id: string; timestamp: Date }>("sort_messages");
        const start = Date.UTC(2025, 0, 1);
        const order = Array.from({ length: 500 }, (_, index) => (index * 337) % 500);
        for (const index of order) {
          await messages.insertOne({
            _id: `m${String(index).padStart(3, "0")}`,
            session_id: index % 5 === 0 ? "other" : "s1",
            timestamp: new Date(start + Math.floor(index / 2) * 1000),
          });
        }

        // Act
        const newest = await messages.find({ session_id: "s1" }, { sort: { timestamp: -1, _id: -1 }, limit: 6 });

        // Assess
        expect(ids(newest)).toEqual(["m499", "m498", "m497", "m496", "m494", "m493"]);
      });

      it("returns only projected fields plus _id", async () => {
        // Prepare
        await seedSessions();
        const sessions = store.collection<Session>("chat_sessions");

        // Act
        const [projected] = await sessions.find({ _id: "s1" }, { projection: { title: 1, "meta.subject": 1 } });
        const one = await sessions.findOne({ _id: "s2" }, { projection: { title: 1 } });

        // Assess
        expect(projected).toEqual({ _id: "s1", title: "Algebra", meta: { subject: "math" } });
        expect(one).toEqual({ _id: "s2", title: "Biology" });
      });

      it("counts matching documents", async () => {
        // Prepare
        await seedSessions();
        const sessions = store.collection<Session>("chat_sessions");

        // Act
        const all = await sessions.countDocuments({});
        const mine = await sessions.countDocuments({ user_id: "u1" });
        const none = await sessions.countDocuments({ user_id: "u9" });

        // Assess
        expect([all, mine, none]).toEqual([4, 3, 0]);
      });

      it("keeps collections isolated from each other", async () => {
        // Prepare
        await store.collection("chat_sessions").insertOne({ _id: "same", kind: "session" });
        await store.collection("chat_messages").insertOne({ _id: "same", kind: "message" });

        // Act
        const session = await store.collection("chat_sessions").findOne({ _id: "same" });
        await store.collection("chat_messages").deleteMany({});
        const sessionsLeft = await store.collection("chat_sessions").countDocuments({});

        // Assess
        expect(session?.kind).toBe("session");
        expect(sessionsLeft).toBe(1);
        expect(await store.collection("chat_messages").countDocuments({})).toBe(0);
      });
    });

    describe("values", () => {
      it("round-trips Dates as Date objects", async () => {
        // Prepare
        const at = new Date("2025-03-04T05:06:07.089Z");
        const logs = store.collection("usage_logs");

        // Act
        await logs.insertOne({ _id: "l1", at, nested: { at }, list: [at] });
        const found = await logs.findOne({ _id: "l1" });

        // Assess
        expect(found?.at).toBeInstanceOf(Date);
        expect(found?.at).toEqual(at);
        expect(found?.nested).toEqual({ at });
        expect(found?.list).toEqual([at]);
      });

      it("round-trips 24-hex _id strings as strings and finds by them", async () => {
        // Prepare
        const sessions = store.collection("chat_sessions");
        await sessions.insertOne({ _id: HEX_A, title: "hex" });
        await sessions.insertOne({ _id: HEX_B, title: "hex too" });
        await sessions.insertOne({ _id: "plain-id", title: "plain" });

        // Act
        const byHex = await sessions.findOne({ _id: HEX_A });
        const byIn = await sessions.find({ _id: { $in: [HEX_B, "plain-id"] } }, { sort: { title: 1 } });
        const byNin = await sessions.find({ _id: { $nin: [HEX_A] } });

        // Assess
        expect(byHex?._id).toBe(HEX_A);
        expect(typeof byHex?._id).toBe("string");
        expect(ids(byIn)).toEqual([HEX_B, "plain-id"]);
        expect(ids(byNin).sort()).toEqual([HEX_B, "plain-id"].sort());
      });

      it("returns copies: mutating a returned document does not change the store", async () => {
        // Prepare
        const sessions = store.collection<Session>("chat_sessions");
        await sessions.insertOne({ _id: "s1", user_id: "u1", title: "Original", created_at: day(1), tags: ["a"] });
        const found = await sessions.findOne({ _id: "s1" });
        if (found) {
          found.title = "Changed";
          found.tags?.push("b");
        }

        // Act
        const again = await sessions.findOne({ _id: "s1" });

        // Assess
        expect(again?.title).toBe("Original");
        expect(again?.tags).toEqual(["a"]);
      });

      it("copies nested values and dates both ways: the inserted object and returned ones stay apart from the store", async () => {
        // Prepare
        type Nested = { _id: string; meta: { pages: number[]; at: Date }; list: Array<{ k: string }> };
        const records = store.collection<Nested>("nested_records");
        const input: Nested = { _id: "n1", meta: { pages: [1, 2], at: day(1) }, list: [{ k: "x" }] };
        await records.insertOne(input);
        input.meta.pages.push(3);
        input.meta.at.setUTCFullYear(1999);
        input.list[0] = { k: "changed" };
        const found = await records.findOne({ _id: "n1" });
        if (!found) throw new Error("inserted document not found");
        found.meta.at.setUTCFullYear(2000);
        found.list.push({ k: "mutated" });

        // Act
        const again = await records.findOne({ _id: "n1" });

        // Assess
        expect(again).toEqual({ _id: "n1", meta: { pages: [1, 2], at: day(1) }, list: [{ k: "x" }] });
        expect(again?.meta.at).toBeInstanceOf(Date);
      });
      it("copies a wide document field for field, nested values apart from the store", async () => {
        // Prepare: wider than the ~16 fields past which an object built key by key turns into a dictionary.
        type Wide = { _id: string } & Record<string, unknown>;
        const wide = store.collection<Wide>("wide_records");
        const input: Wide = { _id: "w1" };
        for (let field = 0; field < 30; field += 1)
          input[`f${field}`] = field % 3 === 0 ? { n: field, at: day(1) } : field;
        await wide.insertOne(structuredClone(input));
        const found = await wide.find({ _id: "w1" });
        (found[0]?.f0 as { n: number }).n = -1;

        // Act
        const again = await wide.findOne({ _id: "w1" });

        // Assess
        expect(again).toEqual(input);
        expect(Object.keys(again ?? {})).toEqual(Object.keys(input));
      });
    });

    describe("updates", () => {
      it("applies $set, $inc and $unset with updateOne and reports counts", async () => {
        // Prepare
        await seedSessions();
        const sessions = store.collection<Session>("chat_sessions");

        // Act
        const result = await sessions.updateOne(
          { _id: "s1" },
          { $set: { title: "Algebra II", "meta.level": 3 }, $inc: { count: 2 }, $unset: { tags: "" } },
        );
        const unset = await sessions.updateOne({ _id: "s1" }, { $unset: { "meta.subject": "" } });
        const missed = await sessions.updateOne({ _id: "nope" }, { $set: { title: "x" } });
        const doc = await sessions.findOne({ _id: "s1" });

        // Assess
        expect(result).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
        expect(result.upsertedId).toBeUndefined();
        expect(unset).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
        expect(missed).toMatchObject({ matchedCount: 0, modifiedCount: 0 });
        expect(doc).toMatchObject({ title: "Algebra II", count: 5, meta: { level: 3 } });
        expect(doc?.meta).not.toHaveProperty("subject");
      });

      it("updates every match with updateMany", async () => {
        // Prepare
        await seedSessions();
        const sessions = store.collection<Session>("chat_sessions");

        // Act
        const result = await sessions.updateMany({ user_id: "u1" }, { $set: { archived: true } });
        const archived = await sessions.countDocuments({ archived: true });
        const untouched = await sessions.findOne({ _id: "s3" });

        // Assess
        expect(result).toMatchObject({ matchedCount: 3, modifiedCount: 3 });
        expect(archived).toBe(3);
        expect(untouched).not.toHaveProperty("archived");
      });

      it("edits arrays with $push ($each, $slice), $pull and $addToSet", async () => {
        // Prepare
        const sessions = store.collection<Session>("chat_sessions");
        await sessions.insertOne({ _id: "s1", user_id: "u1", title: "t", created_at: day(1), tags: ["a"] });

        // Act
        await sessions.updateOne({ _id: "s1" }, { $push: { tags: "b" } });
        await sessions.updateOne({ _id: "s1" }, { $push: { tags: { $each: ["c", "d", "e"], $slice: -4 } } });
        const afterPush = await sessions.findOne({ _id: "s1" });
        await sessions.updateOne({ _id: "s1" }, { $pull: { tags: "c" } });
        const noop = await sessions.updateOne({ _id: "s1" }, { $addToSet: { tags: "d" } });
        await sessions.updateOne({ _id: "s1" }, { $addToSet: { tags: "z" } });
        const final = await sessions.findOne({ _id: "s1" });

        // Assess
        expect(afterPush?.tags).toEqual(["b", "c", "d", "e"]);
        expect(noop.modifiedCount).toBe(0);
        expect(final?.tags).toEqual(["b", "d", "e", "z"]);
      });

      it("upserts: inserts from the filter's equality fields plus the update, with $setOnInsert", async () => {
        // Prepare
        const stats = store.collection("daily_stats");

        // Act
        const inserted = await stats.updateOne(
          { user_id: "u1", date: "2025-01-01" },
          { $inc: { messages: 1 }, $setOnInsert: { created_at: day(1) } },
          { upsert: true },
        );
        const updated = await stats.updateOne(
          { user_id: "u1", date: "2025-01-01" },
          { $inc: { messages: 1 }, $setOnInsert: { created_at: day(9) } },
          { upsert: true },
        );
        const docs = await stats.find({});

        // Assess
        expect(inserted).toMatchObject({ matchedCount: 0, modifiedCount: 0 });
        expect(inserted.upsertedId).toMatch(/^[0-9a-f]{24}$/);
        expect(updated).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
        expect(updated.upsertedId).toBeUndefined();
        expect(docs).toEqual([
          { _id: inserted.upsertedId, user_id: "u1", date: "2025-01-01", messages: 2, created_at: day(1) },
        ]);
      });

      it("upserts with the _id given in the filter, ignoring operator conditions", async () => {
        // Prepare
        const quotas = store.collection("quotas");

        // Act
        const result = await quotas.updateOne(
          { _id: "u1:2025-01-01", used: { $lt: 10 } },
          { $inc: { used: 1 } },
          { upsert: true },
        );
        const doc = await quotas.findOne({ _id: "u1:2025-01-01" });

        // Assess
        expect(result.upsertedId).toBe("u1:2025-01-01");
        expect(doc).toEqual({ _id: "u1:2025-01-01", used: 1 });
      });
    });

    describe("findOneAndUpdate", () => {
      it("returns the document after the update by default, or before when asked", async () => {
        // Prepare
        await seedSessions();
        const sessions = store.collection<Session>("chat_sessions");

        // Act
        const after = await sessions.findOneAndUpdate({ _id: "s2" }, { $inc: { count: 10 } });
        const before = await sessions.findOneAndUpdate(
          { _id: "s2" },
          { $set: { title: "Botany" } },
          { returnDocument: "before" },
        );
        const stored = await sessions.findOne({ _id: "s2" });

        // Assess
        expect(after?.count).toBe(11);
        expect(before).toMatchObject({ count: 11, title: "Biology" });
        expect(stored).toMatchObject({ count: 11, title: "Botany" });
      });

      it("updates the first match by sort and returns null when nothing matches without upsert", async () => {
        // Prepare
        await seedSessions();
        const sessions = store.collection<Session>("chat_sessions");

        // Act
        const oldest = await sessions.findOneAndUpdate(
          { user_id: "u1" },
          { $set: { picked: true } },
          { sort: { created_at: 1 } },
        );
        const newest = await sessions.findOneAndUpdate(
          { user_id: "u1", picked: { $exists: false } },
          { $set: { picked: true } },
          { sort: { created_at: -1 } },
        );
        const missing = await sessions.findOneAndUpdate({ user_id: "nobody" }, { $set: { picked: true } });

        // Assess
        expect(oldest?._id).toBe("s1");
        expect(newest?._id).toBe("s4");
        expect(missing).toBeNull();
        expect(await sessions.countDocuments({ picked: true })).toBe(2);
      });

      it("upserts and returns the inserted document", async () => {
        // Prepare
        const counters = store.collection("counters");

        // Act
        const created = await counters.findOneAndUpdate(
          { _id: "quiz-seq", user_id: "u1" },
          { $inc: { value: 1 }, $setOnInsert: { created_at: day(5) } },
          { upsert: true },
        );
        const next = await counters.findOneAndUpdate(
          { _id: "quiz-seq", user_id: "u1" },
          { $inc: { value: 1 }, $setOnInsert: { created_at: day(6) } },
          { upsert: true },
        );

        // Assess
        expect(created).toEqual({ _id: "quiz-seq", user_id: "u1", value: 1, created_at: day(5) });
        expect(next).toEqual({ _id: "quiz-seq", user_id: "u1", value: 2, created_at: day(5) });
      });
    });

    describe("deletes", () => {
      it("deleteOne removes one match and deleteMany removes all, returning counts", async () => {
        // Prepare
        await seedSessions();
        const sessions = store.collection<Session>("chat_sessions");

        // Act
        const one = await sessions.deleteOne({ user_id: "u1" });
        const many = await sessions.deleteMany({ user_id: "u1" });
        const none = await sessions.deleteMany({ user_id: "u1" });
        const missing = await sessions.deleteOne({ _id: "nope" });

        // Assess
        expect([one, many, none, missing]).toEqual([1, 2, 0, 0]);
        expect(ids(await sessions.find({}))).toEqual(["s3"]);
      });
    });

    describe("uniqueness and indexes", () => {
      it("rejects a duplicate _id with DuplicateKeyError and keeps the original", async () => {
        // Prepare
        const sessions = store.collection("chat_sessions");
        await sessions.insertOne({ _id: "s1", title: "first" });
        await sessions.insertOne({ _id: HEX_A, title: "hex" });

        // Act
        const duplicate = sessions.insertOne({ _id: "s1", title: "second" });
        const duplicateHex = sessions.insertOne({ _id: HEX_A, title: "hex again" });

        // Assess
        await expect(duplicate).rejects.toBeInstanceOf(DuplicateKeyError);
        await expect(duplicateHex).rejects.toBeInstanceOf(DuplicateKeyError);
        expect((await sessions.findOne({ _id: "s1" }))?.title).toBe("first");
        expect(await sessions.countDocuments({})).toBe(2);
      });

      it("enforces unique indexes on insert, update and upsert; ensureIndexes is idempotent", async () => {
        // Prepare
        const index = { keys: { user_id: 1 as const, sha256: 1 as const }, unique: true };
        await store.ensureIndexes("documents", [index, { keys: { user_id: 1, created_at: -1 } }]);
        await store.ensureIndexes("documents", [index]);
        const documents = store.collection("documents");
        await documents.insertOne({ _id: "d1", user_id: "u1", sha256: "aa" });
        await documents.insertOne({ _id: "d2", user_id: "u1", sha256: "bb" });
        await documents.insertOne({ _id: "d3", user_id: "u2", sha256: "aa" });

        // Act
        const insert = documents.insertOne({ _id: "d4", user_id: "u1", sha256: "aa" });
        const update = documents.updateOne({ _id: "d2" }, { $set: { sha256: "aa" } });
        const upsert = documents.updateOne({ _id: "d5" }, { $set: { user_id: "u2", sha256: "aa" } }, { upsert: true });

        // Assess
        await expect(insert).rejects.toBeInstanceOf(DuplicateKeyError);
        await expect(update).rejects.toBeInstanceOf(DuplicateKeyError);
        await expect(upsert).rejects.toBeInstanceOf(DuplicateKeyError);
        expect((await documents.findOne({ _id: "d2" }))?.sha256).toBe("bb");
        expect(await documents.countDocuments({})).toBe(3);
      });

      it("frees a unique key when its document is deleted or changed", async () => {
        // Prepare
        await store.ensureIndexes("documents", [{ keys: { sha256: 1 }, unique: true, name: "sha_unique" }]);
        const documents = store.collection("documents");
        await documents.insertOne({ _id: "d1", sha256: "aa" });
        await documents.insertOne({ _id: "d2", sha256: "bb" });

        // Act
        await documents.deleteOne({ _id: "d1" });
        await documents.insertOne({ _id: "d3", sha256: "aa" });
        await documents.updateOne({ _id: "d2" }, { $set: { sha256: "cc" } });
        await documents.insertOne({ _id: "d4", sha256: "bb" });

        // Assess
        expect(await documents.countDocuments({})).toBe(3);
        expect(ids(await documents.find({}, { sort: { sha256: 1 } }))).toEqual(["d3", "d4", "d2"]);
      });
    });

    describe("concurrency", () => {
      it("applies 200 parallel $inc calls exactly once each", async () => {
        // Prepare
        const counters = store.collection("counters");
        await counters.insertOne({ _id: "c", value: 0 });

        // Act
        await Promise.all(Array.from({ length: 200 }, () => counters.updateOne({ _id: "c" }, { $inc: { value: 1 } })));
        const counter = await counters.findOne({ _id: "c" });

        // Assess
        expect(counter?.value).toBe(200);
      });

      it("gives 200 parallel findOneAndUpdate calls 200 distinct sequence values", async () => {
        // Prepare
        const counters = store.collection("counters");

        // Act
        const results = await Promise.all(
          Array.from({ length: 200 }, () =>
            counters.findOneAndUpdate({ _id: "seq" }, { $inc: { value: 1 } }, { upsert: true }),
          ),
        );
        const values = results.map((doc) => doc?.value);

        // Assess
        expect(new Set(values).size).toBe(200);
        expect((await counters.findOne({ _id: "seq" }))?.value).toBe(200);
      });
    });
  });
}
