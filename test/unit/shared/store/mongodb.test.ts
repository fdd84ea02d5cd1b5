import { randomUUID } from "node:crypto";
import { MongoClient, ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createMongoStore,
  fromStoredDocument,
  fromStoredId,
  toStoredDocument,
  toStoredFilter,
  toStoredId,
  toStoredUpdate,
} from "#shared/store/mongodb.ts";
import { describeDocumentStoreContract } from "./contract.ts";

const HEX = "65a1f0c2e4b0a1b2c3d4e5f6";
const HEX_2 = "65a1f0c2e4b0a1b2c3d4e5f7";
const mongoUri = process.env.TEST_MONGO_URI;

describe("MongoDB _id mapping", () => {
  it("stores lowercase 24-hex ids as ObjectId and leaves other values alone", () => {
    // Act
    const hex = toStoredId(HEX);
    const upper = toStoredId(HEX.toUpperCase());
    const short = toStoredId("abc123");
    const numeric = toStoredId(42);

    // Assess
    expect(hex).toBeInstanceOf(ObjectId);
    expect(String(hex)).toBe(HEX);
    expect(upper).toBe(HEX.toUpperCase());
    expect(short).toBe("abc123");
    expect(numeric).toBe(42);
  });

  it("maps _id in filters, including $in/$nin, comparisons and logical clauses", () => {
    // Act
    const mapped = toStoredFilter({
      _id: { $in: [HEX, "plain"], $ne: HEX_2 },
      user_id: HEX,
      $or: [{ _id: HEX }, { _id: { $nin: [HEX_2] } }],
    });

    // Assess
    expect(mapped).toEqual({
      _id: { $in: [new ObjectId(HEX), "plain"], $ne: new ObjectId(HEX_2) },
      user_id: HEX,
      $or: [{ _id: new ObjectId(HEX) }, { _id: { $nin: [new ObjectId(HEX_2)] } }],
    });
  });

  it("maps only the top-level _id of documents and of $set/$setOnInsert", () => {
    // Act
    const doc = toStoredDocument({ _id: HEX, session_id: HEX });
    const update = toStoredUpdate({ $setOnInsert: { _id: HEX, owner: HEX }, $inc: { n: 1 } });
    const withoutId = toStoredDocument({ title: "t" });

    // Assess
    expect(doc).toEqual({ _id: new ObjectId(HEX), session_id: HEX });
    expect(update).toEqual({ $setOnInsert: { _id: new ObjectId(HEX), owner: HEX }, $inc: { n: 1 } });
    expect(withoutId).toEqual({ title: "t" });
  });

  it("returns ObjectId _ids as hex strings and string _ids unchanged", () => {
    // Act
    const fromObjectId = fromStoredDocument({ _id: new ObjectId(HEX), title: "legacy" });
    const fromString = fromStoredDocument({ _id: "u1:2025-01-01", used: 1 });

    // Assess
    expect(fromObjectId).toEqual({ _id: HEX, title: "legacy" });
    expect(fromString).toEqual({ _id: "u1:2025-01-01", used: 1 });
    expect(fromStoredId(new ObjectId(HEX))).toBe(HEX);
  });

  it("creates a store without connecting until first use", async () => {
    // Prepare
    const client = new MongoClient("mongodb://127.0.0.1:1", { serverSelectionTimeoutMS: 200 });

    // Act
    const store = createMongoStore({ uri: "mongodb://127.0.0.1:1", dbName: "collabry_test", client });

    // Assess
    expect(store.kind).toBe("mongodb");
    await expect(store.ping()).rejects.toThrow();
    await client.close();
  });
});

describe.skipIf(!mongoUri)("MongoDB store against TEST_MONGO_URI", () => {
  let client: MongoClient;

  beforeAll(async () => {
    client = new MongoClient(mongoUri ?? "");
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
  });

  describeDocumentStoreContract("mongodb", async () => {
    const dbName = `collabry_test_${randomUUID().replaceAll("-", "")}`.slice(0, 38);
    const store = createMongoStore({ uri: mongoUri ?? "", dbName, client });
    return {
      store,
      cleanup: async () => {
        await client.db(dbName).dropDatabase();
        await store.close();
      },
    };
  });

  it("reads legacy ObjectId _ids as hex strings", async () => {
    // Prepare
    const dbName = `collabry_test_${randomUUID().replaceAll("-", "")}`.slice(0, 38);
    const id = new ObjectId();
    await client.db(dbName).collection("chat_sessions").insertOne({ _id: id, user_id: "u1", title: "legacy" });
    const store = createMongoStore({ uri: mongoUri ?? "", dbName, client });

    // Act
    const found = await store.collection("chat_sessions").findOne({ _id: id.toHexString() });

    // Assess
    expect(found).toEqual({ _id: id.toHexString(), user_id: "u1", title: "legacy" });
    await client.db(dbName).dropDatabase();
  });
});
