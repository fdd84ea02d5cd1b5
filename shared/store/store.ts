// Document store port: a small MongoDB-shaped API that both adapters implement with the same
// semantics (MongoDB driver in AWS, embedded store under DATA_DIR locally).
//
// Conventions shared by both adapters:
// - `_id` is a string in this port. The MongoDB adapter stores 24-hex ids as ObjectId (so data
//   written by the original engine stays readable) and returns them as hex strings.
// - Values may be JSON types or Date; Dates round-trip as Date.
// - Filters and updates use MongoDB query/update operator syntax.

export type StoredValue = string | number | boolean | null | Date | StoredValue[] | { [key: string]: StoredValue };

export interface StoredDocument {
  _id: string;
  [key: string]: unknown;
}

/** A MongoDB-style filter (`{user_id: "u1", created_at: {$lt: date}}`). */
export type Filter = Record<string, unknown>;
/** A MongoDB-style update with operators (`{$set: {...}, $inc: {...}}`). */
export type Update = Record<string, unknown>;
/** Sort specification: field → 1 (ascending) or -1 (descending), applied in key order. */
export type Sort = Record<string, 1 | -1>;

export interface FindOptions {
  sort?: Sort;
  limit?: number;
  skip?: number;
  /** Inclusion projection: field → 1. `_id` is always returned. */
  projection?: Record<string, 1>;
}

export interface UpdateOptions {
  /** Insert when nothing matches: the new document is built from the filter's equality fields plus the update. */
  upsert?: boolean;
}

export interface FindOneAndUpdateOptions extends UpdateOptions {
  /** Which version of the document to return; default "after". */
  returnDocument?: "before" | "after";
  sort?: Sort;
}

export interface UpdateResult {
  matchedCount: number;
  modifiedCount: number;
  /** The `_id` of the inserted document when an upsert inserted one. */
  upsertedId?: string;
}

export interface IndexSpec {
  keys: Record<string, 1 | -1>;
  name?: string;
  unique?: boolean;
  /** Seconds after the date in the (single) indexed field at which MongoDB removes a document. */
  expireAfterSeconds?: number;
}

/** A duplicate key on a unique index (including `_id`). */
export class DuplicateKeyError extends Error {
  override readonly name = "DuplicateKeyError";
}

export interface Collection<T extends StoredDocument = StoredDocument> {
  /** Inserts one document; throws DuplicateKeyError on an existing `_id` or unique key. */
  insertOne(doc: T): Promise<void>;
  findOne(filter: Filter, options?: Omit<FindOptions, "limit" | "skip">): Promise<T | null>;
  find(filter: Filter, options?: FindOptions): Promise<T[]>;
  countDocuments(filter: Filter): Promise<number>;
  updateOne(filter: Filter, update: Update, options?: UpdateOptions): Promise<UpdateResult>;
  updateMany(filter: Filter, update: Update): Promise<UpdateResult>;
  /** Atomically updates the first match (by `sort`) and returns it, or null when nothing matched and no upsert. */
  findOneAndUpdate(filter: Filter, update: Update, options?: FindOneAndUpdateOptions): Promise<T | null>;
  /** Returns the number of deleted documents. */
  deleteOne(filter: Filter): Promise<number>;
  deleteMany(filter: Filter): Promise<number>;
}

export interface CollectionOptions {
  /**
   * "relaxed": a write may be acknowledged before it reaches the disk (it survives a process crash,
   * not a power loss). For counters whose last increments may be lost (rate-limit windows), never
   * for user data. Default "acknowledged": a resolved write is durable.
   */
  durability?: "acknowledged" | "relaxed";
}

export interface DocumentStore {
  /** Name of the adapter, for /health ("mongodb" or "embedded"). */
  readonly kind: "mongodb" | "embedded";
  collection<T extends StoredDocument = StoredDocument>(name: string, options?: CollectionOptions): Collection<T>;
  /** Creates indexes if missing; safe to call on every start. */
  ensureIndexes(collection: string, indexes: IndexSpec[]): Promise<void>;
  /** Cheap liveness check used by /health; throws when the store is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
