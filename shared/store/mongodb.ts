// MongoDB adapter of the document store port, on the official driver.
//
// The port speaks string `_id`s; data written by the original engine uses ObjectId. Lowercase
// 24-hex strings are therefore stored and queried as ObjectId and returned as hex strings. Only
// lowercase hex is converted, because ObjectId#toHexString() returns lowercase: converting an
// uppercase id would not round-trip to the string the caller wrote.

import {
  type Document,
  type Collection as DriverCollection,
  type IndexDescription,
  MongoClient,
  MongoServerError,
  ObjectId,
} from "mongodb";
import {
  type Collection,
  type DocumentStore,
  DuplicateKeyError,
  type Filter,
  type FindOneAndUpdateOptions,
  type FindOptions,
  type StoredDocument,
  type Update,
  type UpdateOptions,
  type UpdateResult,
} from "./store.ts";

const OBJECT_ID_HEX = /^[0-9a-f]{24}$/;

// One pool per URI survives across warm Lambda invocations; a modest pool keeps many concurrent
// Lambdas from exhausting the cluster's connection limit.
const clients = new Map<string, MongoClient>();

function sharedClient(uri: string): MongoClient {
  let client = clients.get(uri);
  if (!client) {
    client = new MongoClient(uri, { maxPoolSize: 10, serverSelectionTimeoutMS: 5000 });
    clients.set(uri, client);
  }
  return client;
}

/** Converts a port `_id` value to its stored form: lowercase 24-hex strings become ObjectId. */
export function toStoredId(value: unknown): unknown {
  return typeof value === "string" && OBJECT_ID_HEX.test(value) ? ObjectId.createFromHexString(value) : value;
}

/** Converts a stored `_id` back to the port's form: ObjectId becomes its hex string. */
export function fromStoredId(value: unknown): unknown {
  return value instanceof ObjectId ? value.toHexString() : value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !(value instanceof ObjectId)
  );
}

function mapIdCondition(condition: unknown): unknown {
  if (!isPlainObject(condition)) return toStoredId(condition);
  if (!Object.keys(condition).some((key) => key.startsWith("$"))) return condition;
  const mapped: Record<string, unknown> = {};
  for (const [op, operand] of Object.entries(condition)) {
    if ((op === "$in" || op === "$nin") && Array.isArray(operand)) mapped[op] = operand.map(toStoredId);
    else if (op === "$not") mapped[op] = mapIdCondition(operand);
    else mapped[op] = toStoredId(operand);
  }
  return mapped;
}

/** Maps `_id` in a port filter (including `$in`/`$nin` and inside `$and`/`$or`/`$nor`) to its stored form. */
export function toStoredFilter(filter: Filter): Document {
  const mapped: Document = {};
  for (const [key, value] of Object.entries(filter)) {
    if ((key === "$and" || key === "$or" || key === "$nor") && Array.isArray(value)) {
      mapped[key] = value.map((clause) => (isPlainObject(clause) ? toStoredFilter(clause) : clause));
    } else if (key === "_id") {
      mapped[key] = mapIdCondition(value);
    } else {
      mapped[key] = value;
    }
  }
  return mapped;
}

/** Maps the top-level `_id` of a document to its stored form. */
export function toStoredDocument(doc: Record<string, unknown>): Document {
  return "_id" in doc ? { ...doc, _id: toStoredId(doc._id) } : { ...doc };
}

/** Maps `_id` set by `$set`/`$setOnInsert` in an update to its stored form. */
export function toStoredUpdate(update: Update): Document {
  const mapped: Document = { ...update };
  for (const op of ["$set", "$setOnInsert"]) {
    const fields = update[op];
    if (isPlainObject(fields) && "_id" in fields) mapped[op] = { ...fields, _id: toStoredId(fields._id) };
  }
  return mapped;
}

/** Maps a stored document to the port's form (`_id` as a hex string). */
export function fromStoredDocument<T extends StoredDocument>(doc: Document): T {
  return { ...doc, _id: fromStoredId(doc._id) } as T;
}

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === 11000;
}

async function mapErrors<R>(operation: () => Promise<R>): Promise<R> {
  try {
    return await operation();
  } catch (error) {
    if (isDuplicateKey(error)) throw new DuplicateKeyError("duplicate key", { cause: error });
    throw error;
  }
}

function wrap<T extends StoredDocument>(coll: DriverCollection<Document>): Collection<T> {
  return {
    async insertOne(doc) {
      await mapErrors(() => coll.insertOne(toStoredDocument(doc)));
    },
    async findOne(filter, options = {}) {
      const doc = await coll.findOne(toStoredFilter(filter), {
        ...(options.sort ? { sort: options.sort } : {}),
        ...(options.projection ? { projection: options.projection } : {}),
      });
      return doc ? fromStoredDocument<T>(doc) : null;
    },
    async find(filter, options: FindOptions = {}) {
      let cursor = coll.find(toStoredFilter(filter));
      if (options.sort) cursor = cursor.sort(options.sort);
      if (options.skip) cursor = cursor.skip(options.skip);
      if (options.limit) cursor = cursor.limit(options.limit);
      if (options.projection) cursor = cursor.project(options.projection);
      const docs = await cursor.toArray();
      return docs.map((doc) => fromStoredDocument<T>(doc));
    },
    async countDocuments(filter) {
      return coll.countDocuments(toStoredFilter(filter));
    },
    async updateOne(filter, update, options: UpdateOptions = {}) {
      const result = await mapErrors(() =>
        coll.updateOne(toStoredFilter(filter), toStoredUpdate(update), { upsert: options.upsert ?? false }),
      );
      return toUpdateResult(result);
    },
    async updateMany(filter, update) {
      const result = await mapErrors(() => coll.updateMany(toStoredFilter(filter), toStoredUpdate(update)));
      return toUpdateResult(result);
    },
    async findOneAndUpdate(filter, update, options: FindOneAndUpdateOptions = {}) {
      const doc = await mapErrors(() =>
        coll.findOneAndUpdate(toStoredFilter(filter), toStoredUpdate(update), {
          upsert: options.upsert ?? false,
          returnDocument: options.returnDocument ?? "after",
          ...(options.sort ? { sort: options.sort } : {}),
        }),
      );
      return doc ? fromStoredDocument<T>(doc) : null;
    },
    async deleteOne(filter) {
      return (await coll.deleteOne(toStoredFilter(filter))).deletedCount;
    },
    async deleteMany(filter) {
      return (await coll.deleteMany(toStoredFilter(filter))).deletedCount;
    },
  };
}

function toUpdateResult(result: { matchedCount: number; modifiedCount: number; upsertedId: unknown }): UpdateResult {
  const out: UpdateResult = { matchedCount: result.matchedCount, modifiedCount: result.modifiedCount };
  if (result.upsertedId !== null && result.upsertedId !== undefined) {
    out.upsertedId = String(fromStoredId(result.upsertedId));
  }
  return out;
}

/** Creates the MongoDB document store; the client is pooled per URI unless one is passed in (then the caller owns it). */
export function createMongoStore(options: { uri: string; dbName: string; client?: MongoClient }): DocumentStore {
  const ownsClient = options.client === undefined;
  const client = options.client ?? sharedClient(options.uri);
  const db = client.db(options.dbName);
  return {
    kind: "mongodb",
    collection<T extends StoredDocument = StoredDocument>(name: string): Collection<T> {
      return wrap<T>(db.collection(name));
    },
    async ensureIndexes(collection, indexes) {
      if (indexes.length === 0) return;
      const descriptions: IndexDescription[] = indexes.map((spec) => ({
        key: spec.keys,
        ...(spec.name ? { name: spec.name } : {}),
        ...(spec.unique ? { unique: true } : {}),
        ...(spec.expireAfterSeconds !== undefined ? { expireAfterSeconds: spec.expireAfterSeconds } : {}),
      }));
      await mapErrors(() => db.collection(collection).createIndexes(descriptions));
    },
    async ping() {
      await db.command({ ping: 1 });
    },
    async close() {
      if (!ownsClient) return;
      // Drop it from the cache first so that a later createMongoStore builds a fresh pool.
      if (clients.get(options.uri) === client) clients.delete(options.uri);
      await client.close();
    },
  };
}
