// Embedded document store: one SQLite file under DATA_DIR holds every collection as EJSON text,
// and mingo evaluates MongoDB query/update semantics over an in-memory copy of each collection.
//
// Why this shape:
// - SQLite in WAL mode gives atomic commits: a process killed mid-write reopens with every
//   committed write and never a torn document.
// - An acknowledged write also survives an OS crash or power loss: a write's promise resolves only
//   once the WAL holding its commit has been fsynced. The fsync is not SQLite's own
//   (synchronous=FULL would fsync inside every commit, blocking the one event loop for a disk
//   flush per write, 26% of the engine's CPU profile under load); SQLite commits with
//   synchronous=NORMAL (still atomic and safe from corruption, and durable against a process
//   crash since the frames are in the OS page cache), and one fsync of the WAL file on the libuv
//   thread pool then covers every commit made before it started — a group commit: concurrent
//   writes share a flush, and the event loop keeps serving while the disk works. SQLite itself
//   fsyncs the WAL before a checkpoint copies it into the database file, and the database file
//   after, so a commit already checkpointed is durable too.
// - Collections opened with `{ durability: "relaxed" }` (rate-limit counters) are acknowledged at
//   commit: they survive a process crash but may lose their last writes to a power loss.
// - Reads are served from memory, narrowed by lazily built hash indexes on top-level equality
//   fields (user_id, session_id, …), so a user with thousands of messages still gets answers in
//   well under a millisecond. A sorted read with a limit (a session's newest messages) keeps the
//   order it sorted and places new documents into it, so the next read takes its few documents
//   from the front: the history window of a 5,000-message session in ~30 µs instead of ~2.2 ms,
//   and a chat turn's cost no longer grows with the length of its session. `PRAGMA data_version`
//   tells us when another connection (another process on the same DATA_DIR) committed, and the
//   cache is then reloaded.
// - The filters, sorts, projections and updates the engine makes (top-level equalities, ranges and
//   `$in` over scalars, `$set`/`$inc` of scalars) are decided here; mingo decides the rest and is
//   loaded only then: evaluating its 270 KB took 40–60 ms of every start.
// - better-sqlite3 is synchronous and every method body runs its commit without awaiting, so each
//   write, including findOneAndUpdate's read-modify-write, is atomic with respect to other calls in
//   the same process; BEGIN IMMEDIATE makes it atomic across processes too. Another caller may see
//   a committed write before its fsync completes (as MongoDB's default read concern does).

import { closeSync, fsync as fsyncDescriptor, mkdirSync, openSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import type { Query } from "mingo";
import { BSON, ObjectId } from "mongodb";
import {
  type Collection,
  type CollectionOptions,
  type DocumentStore,
  DuplicateKeyError,
  type Filter,
  type FindOneAndUpdateOptions,
  type FindOptions,
  type IndexSpec,
  type Sort,
  type StoredDocument,
  type Update,
  type UpdateOptions,
  type UpdateResult,
} from "./store.ts";

// bson is reached through the driver's re-export so that it is not a second direct dependency.
const { EJSON } = BSON;

/**
 * better-sqlite3 is CommonJS: required, it loads in about half the time of an ESM import of it
 * (10 vs 20 ms here), for which Node first lexes its sources for named exports.
 */
const Database = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;

type Mingo = typeof import("mingo");
let mingoModule: Mingo | undefined;

/** mingo, loaded on first use (synchronously: a store method runs its commit without awaiting). */
function mingo(): Mingo {
  mingoModule ??= createRequire(import.meta.url)("mingo") as Mingo;
  return mingoModule;
}

type Doc = Record<string, unknown>;

interface UniqueIndex {
  name: string;
  fields: string[];
  /** Key tuple (EJSON) → `_id` of the document holding it. */
  owners: Map<string, string>;
}

interface TtlIndex {
  field: string;
  seconds: number;
}

type HashIndex = { byValue: Map<string, Set<string>>; other: Set<string> };

/**
 * The documents holding one string value of a field (a session's messages), in the order of one
 * sort: built by the first sorted read with a limit, then kept in order as documents are inserted
 * (a new message nearly always goes at one end, checked first; elsewhere by binary search), so the
 * next read takes its `limit` documents from the front instead of sorting them all (see `orderedRun`).
 */
interface OrderedRun {
  /** The sort's fields and directions, e.g. `timestamp:-1,_id:-1`. */
  signature: string;
  fields: string[];
  directions: number[];
  /** Ids in sort order; documents that tie stay in insertion order, as the stable sort leaves them. */
  ids: string[];
}

interface CollectionState {
  docs: Map<string, Doc>;
  /** Lazily built hash indexes: field → string value → ids; `other` holds ids whose value is not a string. */
  hashIndexes: Map<string, HashIndex>;
  /** Ordered runs by `field \0 value` (at most MAX_ORDERED_RUN_KEYS, least recently read dropped first). */
  runs: Map<string, OrderedRun[]>;
  unique: UniqueIndex[];
  ttl: TtlIndex[];
  lastTtlSweep: number;
}

/** Field values per collection whose ordered runs are kept (sessions read recently, say). */
const MAX_ORDERED_RUN_KEYS = 2_000;

type Change = { op: "put"; doc: Doc } | { op: "delete"; id: string };

/** Transactions run by every embedded store of this process (a reused data_version check lapses at each). */
let commitEpoch = 0;

// MongoDB's TTL monitor also runs once a minute, so expiry here is just as eventual.
const TTL_SWEEP_INTERVAL_MS = 60_000;

export interface EmbeddedStoreOptions {
  dir: string;
  /** Flushes an open file to disk; default `fs.fsync`. Tests inject a slow or failing flush. */
  fsync?: Fsync;
}

type Fsync = (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => void;

/** Opens (creating if needed) the embedded document store persisted under `dir`. */
export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<DocumentStore> {
  mkdirSync(options.dir, { recursive: true });
  const file = join(options.dir, "store.sqlite");
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  // Durability of acknowledged writes comes from the group fsync below, not from each commit.
  db.pragma("synchronous = NORMAL");
  // Another process on the same DATA_DIR (a script next to `npm start`) waits instead of failing.
  db.pragma("busy_timeout = 5000");
  db.exec(`
    CREATE TABLE IF NOT EXISTS documents (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      collection TEXT NOT NULL,
      id TEXT NOT NULL,
      doc TEXT NOT NULL,
      UNIQUE (collection, id)
    );
    CREATE TABLE IF NOT EXISTS indexes (
      collection TEXT NOT NULL,
      name TEXT NOT NULL,
      spec TEXT NOT NULL,
      PRIMARY KEY (collection, name)
    );
  `);

  const sql = {
    dataVersion: db.prepare("PRAGMA data_version").pluck(),
    loadDocs: db.prepare("SELECT doc FROM documents WHERE collection = ? ORDER BY seq").pluck(),
    loadIndexes: db.prepare("SELECT spec FROM indexes WHERE collection = ?").pluck(),
    insert: db.prepare("INSERT INTO documents (collection, id, doc) VALUES (?, ?, ?)"),
    replace: db.prepare("UPDATE documents SET doc = ? WHERE collection = ? AND id = ?"),
    remove: db.prepare("DELETE FROM documents WHERE collection = ? AND id = ?"),
    saveIndex: db.prepare("INSERT OR REPLACE INTO indexes (collection, name, spec) VALUES (?, ?, ?)"),
  };

  const states = new Map<string, CollectionState>();
  let seenVersion = Number(sql.dataVersion.get());
  let isOpen = true;
  const disk = groupFsync(file, options.fsync ?? fsyncDescriptor);
  const flushToDisk = disk.flush;

  // A read reuses the data_version check of an earlier operation until the microtasks queued up to
  // that check have run, unless a connection of this process committed since (commitEpoch). In that
  // span no I/O callback runs, so nothing here can have learnt of a commit made elsewhere after
  // the check: the operation could as well have run at the moment of the check. Reading the pragma
  // on every call was ~2% of the main thread under load, for the several reads a request makes in
  // one run. A write checks anew once it holds the write lock (`mustCheck`).
  let checkedAtEpoch = -1;
  const expireCheck = () => {
    checkedAtEpoch = -1;
  };

  function refreshIfChangedElsewhere(mustCheck: boolean): void {
    if (!mustCheck && checkedAtEpoch === commitEpoch) return;
    const version = Number(sql.dataVersion.get());
    if (version !== seenVersion) {
      seenVersion = version;
      states.clear();
    }
    if (checkedAtEpoch === -1) queueMicrotask(expireCheck);
    checkedAtEpoch = commitEpoch;
  }

  function state(name: string, mustCheck = false): CollectionState {
    if (!isOpen) throw new Error("embedded store is closed");
    refreshIfChangedElsewhere(mustCheck);
    let s = states.get(name);
    if (!s) {
      s = { docs: new Map(), hashIndexes: new Map(), runs: new Map(), unique: [], ttl: [], lastTtlSweep: 0 };
      for (const text of sql.loadDocs.all(name)) {
        const doc = parseDoc(String(text));
        s.docs.set(String(doc._id), doc);
      }
      for (const text of sql.loadIndexes.all(name)) {
        addIndexToState(s, JSON.parse(String(text)) as IndexSpec);
      }
      states.set(name, s);
    }
    sweepExpired(name, s);
    return s;
  }

  /** Writes a plan's changes to the table, inside the caller's transaction (`s` tells insert from replace). */
  function writeChanges(name: string, s: CollectionState, changes: Change[]): void {
    for (const change of changes) {
      if (change.op === "delete") {
        sql.remove.run(name, change.id);
      } else {
        const id = String(change.doc._id);
        const text = EJSON.stringify(change.doc, { relaxed: true });
        if (s.docs.has(id)) sql.replace.run(text, name, id);
        else sql.insert.run(name, id, text);
      }
    }
  }

  type Committed = { result: unknown; changed: boolean };
  interface QueuedWrite {
    name: string;
    plan: (s: CollectionState) => { changes: Change[]; result: unknown };
    resolve: (committed: Committed) => void;
    reject: (error: unknown) => void;
  }
  let queued: QueuedWrite[] = [];

  /**
   * Commits the writes issued in the same synchronous run (a `Promise.all` of writes, a batch of
   * usage records) in one transaction: a commit costs ~30 µs of locking and WAL bookkeeping, a
   * statement inside one ~7 µs. Each plan still sees the writes queued before it, a plan that
   * refuses fails only its own write, and if the transaction itself fails every write is retried
   * in a transaction of its own, so one bad write never fails another.
   *
   * Not batched over the whole event-loop turn (setImmediate): that took ~10% off the main thread's
   * CPU per chat stream at 100 streams, but a write awaited before the model call then waited for
   * every other I/O callback of the turn, and the time to first token's p95 rose with it.
   */
  function enqueueWrite(name: string, plan: QueuedWrite["plan"]): Promise<Committed> {
    return new Promise<Committed>((resolve, reject) => {
      queued.push({ name, plan, resolve, reject });
      if (queued.length === 1) queueMicrotask(commitQueued);
    });
  }

  function commitQueued(): void {
    const batch = queued;
    queued = [];
    if (!isOpen) {
      for (const write of batch) write.reject(new Error("embedded store is closed"));
      return;
    }
    commitWrites(batch);
  }

  type Outcome = { committed: Committed } | { refused: unknown };

  /**
   * The body of a batch's transaction: runs each plan, writes its changes and applies them to the
   * cache. Made into a transaction function once: better-sqlite3 builds four wrapper functions
   * (one per locking mode) each time `db.transaction` is called, once per commit otherwise.
   */
  const runBatch = db.transaction((batch: QueuedWrite[], outcomes: Outcome[], touched: Set<string>) => {
    // The write lock is held from here: one check covers every plan of the batch.
    let mustCheck = true;
    for (const write of batch) {
      const s = state(write.name, mustCheck);
      mustCheck = false;
      let planned: { changes: Change[]; result: unknown };
      try {
        planned = write.plan(s);
      } catch (refused) {
        outcomes.push({ refused });
        continue;
      }
      touched.add(write.name);
      writeChanges(write.name, s, planned.changes);
      // Later plans of the batch see this write, as they would after its own commit.
      for (const change of planned.changes) applyChange(s, change);
      outcomes.push({ committed: { result: planned.result, changed: planned.changes.length > 0 } });
    }
  });

  /**
   * Runs the writes' plans inside one immediate transaction. A plan that refuses (duplicate key, bad
   * update) fails only its own write and touches nothing. If the transaction itself fails, it rolled
   * back what the cache already holds, so the collections it touched are reloaded from disk next
   * time, and each write of a batch is retried alone (a write alone fails with the error).
   */
  function commitWrites(batch: QueuedWrite[]): void {
    const outcomes: Outcome[] = [];
    const touched = new Set<string>();
    try {
      runBatch.immediate(batch, outcomes, touched);
      commitEpoch += 1;
    } catch (error) {
      commitEpoch += 1;
      for (const name of touched) states.delete(name);
      const [only] = batch;
      if (batch.length === 1 && only) only.reject(error);
      else for (const write of batch) commitWrites([write]);
      return;
    }
    batch.forEach((write, index) => {
      const outcome = outcomes[index];
      if (outcome && "committed" in outcome) write.resolve(outcome.committed);
      else write.reject(outcome?.refused);
    });
  }

  function sweepExpired(name: string, s: CollectionState): void {
    if (s.ttl.length === 0) return;
    const now = Date.now();
    if (now - s.lastTtlSweep < TTL_SWEEP_INTERVAL_MS) return;
    s.lastTtlSweep = now;
    const expired: string[] = [];
    for (const [id, doc] of s.docs) {
      for (const { field, seconds } of s.ttl) {
        const value = getPath(doc, field);
        if (value instanceof Date && value.getTime() + seconds * 1000 <= now) {
          expired.push(id);
          break;
        }
      }
    }
    if (expired.length === 0) return;
    db.transaction(() => {
      for (const id of expired) sql.remove.run(name, id);
    }).immediate();
    commitEpoch += 1;
    for (const id of expired) applyChange(s, { op: "delete", id });
  }

  function matching(s: CollectionState, filter: Filter): Doc[] {
    const matches = matcher(filter);
    const out: Doc[] = [];
    for (const doc of candidates(s, filter)) if (matches(doc)) out.push(doc);
    return out;
  }

  function findDocs(s: CollectionState, filter: Filter, options: FindOptions = {}): Doc[] {
    const skip = options.skip ?? 0;
    const sort = options.sort && Object.keys(options.sort).length > 0 ? options.sort : undefined;
    // MongoDB treats limit 0 as "no limit".
    const run = sort && options.limit ? orderedRun(s, filter, sort) : undefined;
    let docs: Doc[];
    if (run && options.limit) {
      // The newest 60 of a session's 5,000 messages: 60 documents read, not 5,000 sorted.
      const matches = matcher(filter);
      const wanted = skip + options.limit;
      docs = [];
      for (const id of run.ids) {
        const doc = s.docs.get(id);
        if (doc && matches(doc)) docs.push(doc);
        if (docs.length === wanted) break;
      }
      docs = docs.slice(skip);
    } else {
      docs = matching(s, filter);
      if (sort) docs = sortDocs(docs, sort);
      docs = docs.slice(skip, options.limit ? skip + options.limit : undefined);
    }
    const projection = options.projection;
    return docs.map(projection ? projector(projection) : copyDoc);
  }

  function upsertDoc(s: CollectionState, filter: Filter, update: Update): Doc {
    const doc = seedFromFilter(filter);
    applyUpdate(doc, update, true);
    if (doc._id === undefined) doc._id = new ObjectId().toHexString();
    if (typeof doc._id !== "string") throw new Error("_id must be a string");
    if (s.docs.has(doc._id)) throw duplicate("_id", doc._id);
    checkUnique(s, doc);
    return doc;
  }

  function updatedCopy(s: CollectionState, original: Doc, update: Update): { doc: Doc; modified: boolean } {
    const doc = copyDoc(original);
    const modified = applyUpdate(doc, update, false);
    if (doc._id !== original._id) throw new Error("_id is immutable");
    if (modified) checkUnique(s, doc);
    return { doc, modified };
  }

  function collection<T extends StoredDocument = StoredDocument>(
    name: string,
    collectionOptions: CollectionOptions = {},
  ): Collection<T> {
    const relaxed = collectionOptions.durability === "relaxed";
    /** Commits, then resolves once the commit is on disk (at once for relaxed collections or when nothing changed). */
    async function write<R>(plan: (s: CollectionState) => { changes: Change[]; result: R }): Promise<R> {
      const { result, changed } = await enqueueWrite(name, plan);
      if (changed && !relaxed) await flushToDisk();
      return result as R;
    }
    return {
      async insertOne(input) {
        const doc = copyDoc(input as Doc);
        if (doc._id === undefined) doc._id = new ObjectId().toHexString();
        const id = doc._id;
        if (typeof id !== "string") throw new Error("_id must be a string");
        await write((s) => {
          if (s.docs.has(id)) throw duplicate("_id", id);
          checkUnique(s, doc);
          return { changes: [{ op: "put", doc }], result: undefined };
        });
        // Reflect the generated id on the caller's object, as the MongoDB driver does.
        if (input._id === undefined) Object.assign(input, { _id: id });
      },
      async findOne(filter, options = {}) {
        const [doc] = findDocs(state(name), filter, { ...options, limit: 1 });
        return (doc as T | undefined) ?? null;
      },
      async find(filter, options) {
        return findDocs(state(name), filter, options) as T[];
      },
      async countDocuments(filter) {
        return matching(state(name), filter).length;
      },
      async updateOne(filter, update, options: UpdateOptions = {}) {
        return write((s) => {
          const [target] = matching(s, filter);
          if (!target) {
            if (!options.upsert) return { changes: [], result: { matchedCount: 0, modifiedCount: 0 } };
            const doc = upsertDoc(s, filter, update);
            const result: UpdateResult = { matchedCount: 0, modifiedCount: 0, upsertedId: String(doc._id) };
            return { changes: [{ op: "put", doc }], result };
          }
          const { doc, modified } = updatedCopy(s, target, update);
          return {
            changes: modified ? [{ op: "put", doc }] : [],
            result: { matchedCount: 1, modifiedCount: modified ? 1 : 0 },
          };
        });
      },
      async updateMany(filter, update) {
        return write((s) => {
          const targets = matching(s, filter);
          const changes: Change[] = [];
          // Unique keys must be checked against the batch too: two documents updated to the same key collide.
          const staged = { ...s, unique: s.unique.map((u) => ({ ...u, owners: new Map(u.owners) })) };
          for (const target of targets) {
            const { doc, modified } = updatedCopy(staged, target, update);
            if (!modified) continue;
            changes.push({ op: "put", doc });
            reindexUnique(staged, target, doc);
          }
          return { changes, result: { matchedCount: targets.length, modifiedCount: changes.length } };
        });
      },
      async findOneAndUpdate(filter, update, options: FindOneAndUpdateOptions = {}) {
        return write((s) => {
          const [target] = options.sort ? sortDocs(matching(s, filter), options.sort) : matching(s, filter);
          if (!target) {
            if (!options.upsert) return { changes: [], result: null };
            const doc = upsertDoc(s, filter, update);
            const result = options.returnDocument === "before" ? null : (copyDoc(doc) as T);
            return { changes: [{ op: "put", doc }], result };
          }
          const { doc, modified } = updatedCopy(s, target, update);
          const result = copyDoc(options.returnDocument === "before" ? target : doc) as T;
          return { changes: modified ? [{ op: "put", doc }] : [], result };
        });
      },
      async deleteOne(filter) {
        return write((s) => {
          const [target] = matching(s, filter);
          return target
            ? { changes: [{ op: "delete", id: String(target._id) }], result: 1 }
            : { changes: [], result: 0 };
        });
      },
      async deleteMany(filter) {
        return write((s) => {
          const changes: Change[] = matching(s, filter).map((doc) => ({ op: "delete", id: String(doc._id) }));
          return { changes, result: changes.length };
        });
      },
    };
  }

  return {
    kind: "embedded",
    collection,
    async ensureIndexes(name, indexes) {
      db.transaction(() => {
        const s = state(name, true);
        for (const spec of indexes) {
          const indexName = spec.name ?? defaultIndexName(spec.keys);
          if (spec.unique) {
            // Like MongoDB's index build, refuse a unique index that existing documents already violate.
            const probe: CollectionState = { ...s, unique: [] };
            addIndexToState(probe, { ...spec, name: indexName });
          }
          sql.saveIndex.run(name, indexName, JSON.stringify({ ...spec, name: indexName }));
        }
      }).immediate();
      commitEpoch += 1;
      // Rebuild this collection's index state from what is now on disk.
      states.delete(name);
      state(name);
      await flushToDisk();
    },
    async ping() {
      if (!isOpen) throw new Error("embedded store is closed");
      sql.dataVersion.get();
    },
    async close() {
      if (!isOpen) return;
      // Writes already issued are committed, not dropped.
      if (queued.length > 0) commitQueued();
      isOpen = false;
      states.clear();
      // Closing the last connection checkpoints the WAL into the database file and fsyncs it.
      db.close();
      // Writers still waiting for a flush get it (or its error) before close resolves.
      await disk.close();
    },
  };
}

/**
 * Group commit: `flush()` resolves once every commit made before the call is on disk. One fsync of
 * the WAL runs at a time; callers arriving meanwhile share the next one, started as soon as the
 * current one ends, so a flush never covers a commit made after it began.
 *
 * A cycle is one `fsync` on the libuv thread pool and nothing else: under load the event loop is
 * busy, and every extra step (opening and closing the file, a promise chain, a setImmediate hop)
 * waits for a turn of it, which is what a student waits for before the first token. So the WAL's
 * descriptor stays open for the store's lifetime (SQLite keeps the WAL file while our connection
 * is open, so the inode does not change), the callback settles the batch directly, and it starts
 * the next cycle itself.
 */
function groupFsync(databaseFile: string, fsync: Fsync): { flush: () => Promise<void>; close: () => Promise<void> } {
  const wal = `${databaseFile}-wal`;
  let walFd: number | undefined;
  let waiting: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  let running = false;
  let scheduled = false;

  /** The descriptor to flush, and whether it is a one-off to close afterwards. */
  const target = (): { fd: number; once: boolean } => {
    if (walFd !== undefined) return { fd: walFd, once: false };
    try {
      walFd = openSync(wal, "r");
      return { fd: walFd, once: false };
    } catch (error) {
      // No WAL (checkpointed and removed at close): the commits are in the database file.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      return { fd: openSync(databaseFile, "r"), once: true };
    }
  };

  const cycle = (): void => {
    scheduled = false;
    if (running || waiting.length === 0) return;
    const batch = waiting;
    waiting = [];
    let file: { fd: number; once: boolean };
    try {
      file = target();
    } catch (error) {
      for (const waiter of batch) waiter.reject(error);
      return;
    }
    running = true;
    fsync(file.fd, (error) => {
      if (file.once) {
        try {
          closeSync(file.fd);
        } catch {
          // A read-only descriptor holds nothing unwritten; a failed close loses nothing.
        }
      }
      running = false;
      // Writes that arrived during this fsync committed after it began: they need the next one.
      cycle();
      // A failed fsync fails only the writes it covered; later writes get their own attempt.
      for (const waiter of batch) {
        if (error) waiter.reject(error);
        else waiter.resolve();
      }
    });
  };

  const flush = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ resolve, reject });
      // Commits made in the same synchronous run (a Promise.all of writes) share this flush.
      if (!running && !scheduled) {
        scheduled = true;
        queueMicrotask(cycle);
      }
    });

  return {
    flush,
    async close() {
      await flush().catch(() => undefined);
      if (walFd !== undefined) closeSync(walFd);
      walFd = undefined;
    },
  };
}

/** Nesting past which a value is left to structuredClone (MongoDB itself stops at 100 levels). */
const MAX_COPY_DEPTH = 128;

function copyValue(value: unknown, depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_COPY_DEPTH) return structuredClone(value);
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length);
    for (let index = 0; index < value.length; index += 1) copy[index] = copyValue(value[index], depth + 1);
    return copy;
  }
  if (value instanceof Date) return new Date(value.getTime());
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return structuredClone(value);
  // Spread, then replace the nested values in place: the copy takes the source's shape at once.
  // Built key by key, an object past ~16 fields (a document record has ~25) is turned into a
  // dictionary by V8, and copying one took ~10 µs instead of ~1.
  const copy: Record<string, unknown> = { ...value };
  for (const key in copy) {
    const field = copy[key];
    if (typeof field === "object" && field !== null) copy[key] = copyValue(field, depth + 1);
  }
  return copy;
}

/**
 * A deep copy of a document, so callers never share objects with the cache: stored documents are
 * plain objects, arrays, Dates and scalars, copied directly (several times faster than
 * structuredClone on the chat path's message lists); anything else goes through structuredClone.
 */
function copyDoc(doc: Doc): Doc {
  return copyValue(doc, 0) as Doc;
}

function parseDoc(text: string): Doc {
  return EJSON.parse(text, { relaxed: true }) as Doc;
}

function duplicate(index: string, key: unknown): DuplicateKeyError {
  return new DuplicateKeyError(`duplicate key on index ${index}: ${EJSON.stringify(key, { relaxed: true })}`);
}

function defaultIndexName(keys: Record<string, 1 | -1>): string {
  return Object.entries(keys)
    .map(([field, direction]) => `${field}_${direction}`)
    .join("_");
}

function addIndexToState(s: CollectionState, spec: IndexSpec): void {
  const fields = Object.keys(spec.keys);
  const name = spec.name ?? defaultIndexName(spec.keys);
  if (spec.expireAfterSeconds !== undefined && fields[0] !== undefined) {
    s.ttl = s.ttl.filter((t) => t.field !== fields[0]);
    s.ttl.push({ field: fields[0], seconds: spec.expireAfterSeconds });
  }
  if (!spec.unique) return;
  const index: UniqueIndex = { name, fields, owners: new Map() };
  for (const [id, doc] of s.docs) {
    const key = uniqueKey(index, doc);
    if (index.owners.has(key)) throw duplicate(name, key);
    index.owners.set(key, id);
  }
  s.unique = s.unique.filter((u) => u.name !== name);
  s.unique.push(index);
}

// MongoDB indexes a missing field as null, so two documents without the field collide on a unique index.
function uniqueKey(index: UniqueIndex, doc: Doc): string {
  return EJSON.stringify(
    index.fields.map((field) => getPath(doc, field) ?? null),
    { relaxed: true },
  );
}

function checkUnique(s: CollectionState, doc: Doc): void {
  for (const index of s.unique) {
    const key = uniqueKey(index, doc);
    const owner = index.owners.get(key);
    if (owner !== undefined && owner !== doc._id) throw duplicate(index.name, key);
  }
}

function reindexUnique(s: CollectionState, before: Doc | undefined, after: Doc | undefined): void {
  for (const index of s.unique) {
    if (before) {
      const key = uniqueKey(index, before);
      if (index.owners.get(key) === before._id) index.owners.delete(key);
    }
    if (after) index.owners.set(uniqueKey(index, after), String(after._id));
  }
}

function applyChange(s: CollectionState, change: Change): void {
  const id = change.op === "delete" ? change.id : String(change.doc._id);
  const before = s.docs.get(id);
  const after = change.op === "put" ? change.doc : undefined;
  reindexUnique(s, before, after);
  if (s.runs.size > 0) maintainRuns(s, id, before, after);
  for (const [field, index] of s.hashIndexes) {
    // Re-adding an unchanged key would move the id to the end of its set and change natural order.
    if (before && after && before[field] === after[field]) continue;
    if (before) unindexHash(index, field, before, id);
    if (after) indexHash(index, field, after, id);
  }
  if (after) s.docs.set(id, after);
  else s.docs.delete(id);
}

function indexHash(index: HashIndex, field: string, doc: Doc, id: string): void {
  const value = doc[field];
  if (typeof value !== "string") {
    index.other.add(id);
    return;
  }
  let ids = index.byValue.get(value);
  if (!ids) {
    ids = new Set();
    index.byValue.set(value, ids);
  }
  ids.add(id);
}

function unindexHash(index: HashIndex, field: string, doc: Doc, id: string): void {
  const value = doc[field];
  if (typeof value !== "string") {
    index.other.delete(id);
    return;
  }
  const ids = index.byValue.get(value);
  ids?.delete(id);
  if (ids?.size === 0) index.byValue.delete(value);
}

/** The filter as a test of one document: plain conditions here, the rest by mingo. */
function matcher(filter: Filter): (doc: Doc) => boolean {
  const conditions = plainConditions(filter);
  // Built only if a document needs it: most lookups are plain conditions (ids, owners, keys, ranges).
  let query: Query | undefined;
  return (doc) => {
    const plain = conditions ? matchesPlainly(doc, conditions) : undefined;
    if (plain !== undefined) return plain;
    query ??= new (mingo().Query)(filter, {});
    return query.test(doc);
  };
}

function hashIndex(s: CollectionState, field: string): HashIndex {
  let index = s.hashIndexes.get(field);
  if (!index) {
    index = { byValue: new Map(), other: new Set() };
    for (const [docId, doc] of s.docs) indexHash(index, field, doc, docId);
    s.hashIndexes.set(field, index);
  }
  return index;
}

/**
 * The ordered run serving a sorted read of `filter` with a limit: the filter's first top-level
 * string equality names the documents (every other condition is still tested per document) and
 * the sort orders them by top-level scalar keys. Undefined when the read does not fit (no such
 * equality, a dotted sort key, a key holding an array or object, or documents whose field is not a
 * string and so might match the equality through an array), and the documents are sorted as before.
 */
function orderedRun(s: CollectionState, filter: Filter, sort: Sort): OrderedRun | undefined {
  const fields = Object.keys(sort);
  if (fields.some((field) => field.includes("."))) return undefined;
  let field: string | undefined;
  let value: string | undefined;
  for (const [name, condition] of Object.entries(filter)) {
    if (name === "_id" || name.startsWith("$") || name.includes(".")) continue;
    value = equalityString(condition);
    if (value !== undefined) {
      field = name;
      break;
    }
  }
  if (field === undefined || value === undefined) return undefined;
  const index = hashIndex(s, field);
  if (index.other.size > 0) return undefined;
  const directions = Object.values(sort) as number[];
  const signature = fields.map((name, at) => `${name}:${directions[at]}`).join(",");
  const key = `${field}\u0000${value}`;
  const runs = s.runs.get(key) ?? [];
  let run = runs.find((known) => known.signature === signature);
  if (!run) {
    const docs: Doc[] = [];
    for (const id of index.byValue.get(value) ?? []) {
      const doc = s.docs.get(id);
      if (!doc) continue;
      if (fields.some((name) => sortRank(doc[name]) === undefined)) return undefined;
      docs.push(doc);
    }
    run = { signature, fields, directions, ids: sortDocs(docs, sort).map((doc) => String(doc._id)) };
    runs.push(run);
  }
  // Least recently read last to go: re-inserting moves the key to the end of the map's order.
  s.runs.delete(key);
  s.runs.set(key, runs);
  if (s.runs.size > MAX_ORDERED_RUN_KEYS) {
    const oldest = s.runs.keys().next().value;
    if (oldest !== undefined) s.runs.delete(oldest);
  }
  return run;
}

/** How `a` and `b` compare under a run's sort (as sortDocs orders them); undefined for a key it cannot compare. */
function compareForRun(a: Doc, b: Doc, run: OrderedRun): number | undefined {
  for (let key = 0; key < run.fields.length; key += 1) {
    const field = run.fields[key] as string;
    const direction = run.directions[key] as number;
    const left = a[field];
    const right = b[field];
    const leftRank = sortRank(left);
    const rightRank = sortRank(right);
    if (leftRank === undefined || rightRank === undefined) return undefined;
    const byKey = compareSortKeys(leftRank, comparable(left), rightRank, comparable(right), direction);
    if (byKey !== 0) return byKey;
  }
  return 0;
}

/**
 * Keeps the ordered runs right as a document changes: an inserted document is placed after the
 * documents it ties with (where the stable sort would put the newest), a deleted one is removed,
 * and the runs of a document whose field or sort keys changed are dropped (rebuilt on the next read).
 */
function maintainRuns(s: CollectionState, id: string, before: Doc | undefined, after: Doc | undefined): void {
  for (const field of s.hashIndexes.keys()) {
    const beforeKey = typeof before?.[field] === "string" ? `${field}\u0000${before[field]}` : undefined;
    const afterKey = typeof after?.[field] === "string" ? `${field}\u0000${after[field]}` : undefined;
    if (before && after) {
      if (beforeKey === afterKey && beforeKey !== undefined) {
        const runs = s.runs.get(beforeKey);
        if (runs?.some((run) => compareForRun(before, after, run) !== 0)) s.runs.delete(beforeKey);
        continue;
      }
      if (beforeKey) s.runs.delete(beforeKey);
      if (afterKey) s.runs.delete(afterKey);
      continue;
    }
    if (before && beforeKey) {
      for (const run of s.runs.get(beforeKey) ?? []) {
        const at = run.ids.indexOf(id);
        if (at >= 0) run.ids.splice(at, 1);
      }
      continue;
    }
    if (after && afterKey) {
      const runs = s.runs.get(afterKey);
      if (!runs) continue;
      for (const run of runs) {
        if (!placeInRun(s, run, id, after)) {
          s.runs.delete(afterKey);
          break;
        }
      }
    }
  }
}

/** Inserts `id` into the run after every document it does not sort before; false if a key cannot be compared. */
function placeInRun(s: CollectionState, run: OrderedRun, id: string, doc: Doc): boolean {
  // Upper bound, with the ends checked first: a new message nearly always sorts last (oldest
  // first) or first (newest first).
  const last = run.ids.length > 0 ? s.docs.get(run.ids[run.ids.length - 1] as string) : undefined;
  const againstLast = last ? compareForRun(doc, last, run) : 1;
  if (againstLast === undefined) return false;
  if (againstLast >= 0) {
    run.ids.push(id);
    return true;
  }
  const first = s.docs.get(run.ids[0] as string);
  const againstFirst = first ? compareForRun(doc, first, run) : undefined;
  if (againstFirst === undefined) return false;
  if (againstFirst < 0) {
    run.ids.unshift(id);
    return true;
  }
  let low = 0;
  let high = run.ids.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const other = s.docs.get(run.ids[middle] as string);
    const order = other ? compareForRun(doc, other, run) : undefined;
    if (order === undefined) return false;
    if (order >= 0) low = middle + 1;
    else high = middle;
  }
  run.ids.splice(low, 0, id);
  return true;
}

/**
 * Narrows the documents to test using a top-level string equality in the filter. Documents whose
 * field is not a string (arrays, missing, …) stay candidates, since MongoDB equality can still match
 * them (an array containing the value); mingo makes the final decision on every candidate.
 */
function candidates(s: CollectionState, filter: Filter): Iterable<Doc> {
  const id = equalityString(filter._id);
  if (id !== undefined) {
    const doc = s.docs.get(id);
    return doc ? [doc] : [];
  }
  // The narrowest of the filter's equalities (a session's messages, not all of its owner's).
  let best: { ids: Set<string> | undefined; other: Set<string>; size: number } | undefined;
  for (const [field, condition] of Object.entries(filter)) {
    if (field.startsWith("$") || field.includes(".")) continue;
    const value = equalityString(condition);
    if (value === undefined) continue;
    const index = hashIndex(s, field);
    const ids = index.byValue.get(value);
    const size = (ids?.size ?? 0) + index.other.size;
    if (best === undefined || size < best.size) best = { ids, other: index.other, size };
  }
  if (best !== undefined) {
    const index = best;
    const ids = [...(index.ids ?? []), ...index.other];
    // Keep natural (insertion) order, as a full scan would.
    const docs: Doc[] = [];
    for (const docId of ids) {
      const doc = s.docs.get(docId);
      if (doc) docs.push(doc);
    }
    return index.other.size > 0 ? orderByInsertion(s, docs) : docs;
  }
  return s.docs.values();
}

function orderByInsertion(s: CollectionState, docs: Doc[]): Doc[] {
  const wanted = new Set(docs);
  const out: Doc[] = [];
  for (const doc of s.docs.values()) if (wanted.has(doc)) out.push(doc);
  return out;
}

function equalityString(condition: unknown): string | undefined {
  if (typeof condition === "string") return condition;
  if (isPlainObject(condition) && Object.keys(condition).length === 1 && typeof condition.$eq === "string") {
    return condition.$eq;
  }
  return undefined;
}

/** A scalar a filter compares with here: anything else (null, arrays, objects, regexes) is left to mingo. */
type Operand = string | number | boolean | Date;

type Comparison = "$eq" | "$lt" | "$lte" | "$gt" | "$gte";

/** One test of a top-level field: `field: value`, `field: {$op: value}` or `field: {$in: [values]}`. */
type PlainCondition =
  | { field: string; op: Comparison; value: Operand }
  | { field: string; op: "$in"; values: Operand[] };

const COMPARISONS = new Set<string>(["$eq", "$lt", "$lte", "$gt", "$gte"]);

function isOperand(value: unknown): value is Operand {
  return (
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && !Number.isNaN(value)) ||
    (value instanceof Date && !Number.isNaN(value.getTime()))
  );
}

/**
 * The filter as tests of top-level fields against scalars — equalities, ranges and `$in`, the
 * filters the engine makes — or undefined when it is anything more (logical operators, dotted
 * paths, null, arrays, objects, regexes, other operators).
 */
function plainConditions(filter: Filter): PlainCondition[] | undefined {
  const conditions: PlainCondition[] = [];
  for (const [field, condition] of Object.entries(filter)) {
    if (field.startsWith("$") || field.includes(".")) return undefined;
    if (isOperand(condition)) {
      conditions.push({ field, op: "$eq", value: condition });
      continue;
    }
    if (!isPlainObject(condition) || Object.getPrototypeOf(condition) !== Object.prototype) return undefined;
    const operators = Object.entries(condition);
    if (operators.length === 0) return undefined;
    for (const [op, value] of operators) {
      if (op === "$in" && Array.isArray(value) && value.every(isOperand)) {
        conditions.push({ field, op, values: value });
      } else if (COMPARISONS.has(op) && isOperand(value)) {
        conditions.push({ field, op: op as Comparison, value });
      } else {
        return undefined;
      }
    }
  }
  return conditions;
}

/** MongoDB compares only within a type bracket: numbers with numbers, strings with strings, … */
function bracket(value: Operand): string {
  return value instanceof Date ? "date" : typeof value;
}

function sameOperand(actual: Operand, value: Operand): boolean {
  if (actual instanceof Date || value instanceof Date) {
    return actual instanceof Date && value instanceof Date && actual.getTime() === value.getTime();
  }
  return actual === value;
}

function passes(actual: Operand, condition: PlainCondition): boolean {
  if (condition.op === "$in") return condition.values.some((value) => sameOperand(actual, value));
  if (condition.op === "$eq") return sameOperand(actual, condition.value);
  if (bracket(actual) !== bracket(condition.value)) return false;
  const left = actual instanceof Date ? actual.getTime() : actual;
  const right = condition.value instanceof Date ? condition.value.getTime() : condition.value;
  switch (condition.op) {
    case "$lt":
      return left < right;
    case "$lte":
      return left <= right;
    case "$gt":
      return left > right;
    case "$gte":
      return left >= right;
  }
}

/**
 * Whether a document matches plain conditions, decided without mingo (whose Query costs more to
 * build than a lookup by id costs in all); undefined when a tested field holds an array (which
 * MongoDB matches by its elements) or an object, which mingo then decides.
 */
function matchesPlainly(doc: Doc, conditions: PlainCondition[]): boolean | undefined {
  let result = true;
  for (const condition of conditions) {
    const actual = doc[condition.field];
    if (actual === undefined || actual === null) {
      // Missing and null fields match no scalar: equality, range and $in without null all fail.
      result = false;
    } else if (isOperand(actual)) {
      if (!passes(actual, condition)) result = false;
    } else {
      return undefined;
    }
  }
  return result;
}

/** MongoDB's order of the BSON types a sort key may hold here; undefined for types left to mingo. */
function sortRank(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  if (typeof value === "number") return 1;
  if (typeof value === "string") return 2;
  if (typeof value === "boolean") return 3;
  if (value instanceof Date) return 4;
  return undefined;
}

function sortDocs(docs: Doc[], sort: Sort): Doc[] {
  const fields = Object.keys(sort);
  const directions = Object.values(sort);
  const width = fields.length;
  if (fields.some((field) => field.includes("."))) return sortByMingo(docs, sort);
  // Top-level keys holding scalars (timestamps, ids, counters) are compared here, as mingo would.
  // Each document's keys are read once into flat arrays of type ranks and comparable values (a
  // Date as its time), so a comparison touches no objects: a session's history read (the newest
  // 60 of its messages) sorted 5,000 messages in ~2.2 ms through per-document rows and scalar
  // checks on every comparison.
  const ranks = new Uint8Array(docs.length * width);
  const values = new Array<number | string | boolean | undefined>(docs.length * width);
  for (let row = 0; row < docs.length; row += 1) {
    const doc = docs[row] as Doc;
    for (let key = 0; key < width; key += 1) {
      const value = doc[fields[key] as string];
      const rank = sortRank(value);
      if (rank === undefined) return sortByMingo(docs, sort);
      ranks[row * width + key] = rank;
      values[row * width + key] = comparable(value);
    }
  }
  const order = Array.from({ length: docs.length }, (_, row) => row);
  // Array.prototype.sort is stable: documents that tie keep their natural order.
  order.sort((a, b) => {
    for (let key = 0; key < width; key += 1) {
      const left = a * width + key;
      const right = b * width + key;
      const byKey = compareSortKeys(
        ranks[left] as number,
        values[left],
        ranks[right] as number,
        values[right],
        directions[key] as number,
      );
      if (byKey !== 0) return byKey;
    }
    return 0;
  });
  return order.map((row) => docs[row] as Doc);
}

/** One sort key of two documents, as type rank then comparable value (see sortRank, comparable), in `direction`. */
function compareSortKeys(
  leftRank: number,
  left: unknown,
  rightRank: number,
  right: unknown,
  direction: number,
): number {
  if (leftRank !== rightRank) return (leftRank - rightRank) * direction;
  const x = left as number | string;
  const y = right as number | string;
  return x === y ? 0 : (x < y ? -1 : 1) * direction;
}

/** A sort key's value as `<` orders it within its type: a Date by its time, NaN below every number. */
function comparable(value: unknown): number | string | boolean | undefined {
  if (value === null || value === undefined) return undefined;
  const plain = value instanceof Date ? value.getTime() : (value as number | string | boolean);
  return typeof plain === "number" && Number.isNaN(plain) ? Number.NEGATIVE_INFINITY : plain;
}

function sortByMingo(docs: Doc[], sort: Sort): Doc[] {
  return new (mingo().Query)({}, {}).find<Doc>(docs).sort(sort).all();
}

/**
 * Copies an inclusion projection out of each document of a read (its fields worked out once per read):
 * top-level fields are picked here, dotted paths (through arrays) by mingo.
 */
function projector(projection: Record<string, 1>): (doc: Doc) => Doc {
  const fields = Object.keys(projection);
  if (fields.every((field) => !field.includes(".") && !field.startsWith("$"))) {
    return (doc) => {
      const projected: Doc = { _id: doc._id };
      for (const field of fields) if (doc[field] !== undefined) projected[field] = copyValue(doc[field], 1);
      return projected;
    };
  }
  const query = new (mingo().Query)({}, {});
  const withId = { ...projection, _id: 1 as const };
  return (doc) => {
    const [projected] = query.find<Doc>([doc], withId).all();
    return structuredClone(projected ?? { _id: doc._id });
  };
}

/** Applies an operator update in place; returns whether anything changed. */
function applyUpdate(doc: Doc, update: Update, inserting: boolean): boolean {
  const simple = applyScalarUpdate(doc, update, inserting);
  if (simple !== undefined) return simple;
  const operators: Record<string, unknown> = {};
  for (const [op, fields] of Object.entries(update)) {
    if (!op.startsWith("$")) throw new Error(`update must use operators, got field "${op}"`);
    if (op === "$setOnInsert") continue;
    operators[op] = fields;
  }
  // mingo rejects $setOnInsert, so on insert it is folded into $set (which wins, as in MongoDB it cannot overlap).
  if (inserting && isPlainObject(update.$setOnInsert)) {
    operators.$set = { ...(isPlainObject(operators.$set) ? operators.$set : {}), ...update.$setOnInsert };
  }
  if (Object.keys(operators).length === 0) return false;
  return mingo().update(doc, operators).length > 0;
}

type Scalar = string | number | boolean | null | Date;

function isScalar(value: unknown): value is Scalar {
  return (
    value === null ||
    value instanceof Date ||
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value))
  );
}

function sameScalar(a: Scalar | undefined, b: Scalar): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  return a === b;
}

/**
 * The updates nearly every write makes — `$set` of scalars and `$inc` of numbers on plain object
 * paths (counters, timestamps, previews) — applied without mingo, whose update compiles its
 * operators on every call (8% of the engine's CPU under chat load). Returns undefined, having
 * changed nothing, for anything else (arrays on the path, objects as values, other operators,
 * overlapping paths), which mingo then applies with MongoDB's full semantics.
 */
function applyScalarUpdate(doc: Doc, update: Update, inserting: boolean): boolean | undefined {
  const steps: Array<{ path: string[]; op: "$set" | "$inc"; value: Scalar }> = [];
  for (const [op, fields] of Object.entries(update)) {
    if (op === "$setOnInsert" && !inserting) continue;
    if ((op !== "$set" && op !== "$inc" && op !== "$setOnInsert") || !isPlainObject(fields)) return undefined;
    for (const [field, value] of Object.entries(fields)) {
      if (op === "$inc" ? typeof value !== "number" || !Number.isFinite(value) : !isScalar(value)) return undefined;
      const path = field.split(".");
      if (path.some((part) => part === "" || part.startsWith("$") || /^\d+$/.test(part))) return undefined;
      steps.push({ path, op: op === "$inc" ? "$inc" : "$set", value: value as Scalar });
    }
  }
  if (steps.length === 0) return undefined;
  const keys = steps.map((step) => step.path.join("."));
  for (const key of keys) {
    if (keys.some((other) => other !== key && (other.startsWith(`${key}.`) || key.startsWith(`${other}.`)))) {
      return undefined;
    }
  }
  if (new Set(keys).size !== keys.length) return undefined;
  // Check every path before touching the document, so a fallback starts from the original.
  for (const { path, op } of steps) {
    let current: unknown = doc;
    for (const part of path.slice(0, -1)) {
      current = (current as Doc)[part];
      if (current === undefined) break;
      if (!isPlainObject(current)) return undefined;
    }
    if (current === undefined) continue;
    const leaf = (current as Doc)[path[path.length - 1] as string];
    if (leaf !== undefined && (op === "$inc" ? typeof leaf !== "number" : !isScalar(leaf))) return undefined;
  }
  let modified = false;
  for (const { path, op, value } of steps) {
    let parent = doc;
    for (const part of path.slice(0, -1)) {
      const next = parent[part];
      if (isPlainObject(next)) {
        parent = next;
      } else {
        const created: Doc = {};
        parent[part] = created;
        parent = created;
      }
    }
    const last = path[path.length - 1] as string;
    const before = parent[last] as Scalar | undefined;
    if (op === "$inc") {
      if (before === undefined || value !== 0) modified = true;
      parent[last] = ((before as number | undefined) ?? 0) + (value as number);
    } else {
      if (before === undefined || !sameScalar(before, value)) modified = true;
      parent[last] = value instanceof Date ? new Date(value.getTime()) : value;
    }
  }
  return modified;
}

/** The document an upsert starts from: the filter's equality fields, including those under `$and` and `$eq`. */
function seedFromFilter(filter: Filter): Doc {
  const doc: Doc = {};
  const visit = (clause: Filter): void => {
    for (const [field, condition] of Object.entries(clause)) {
      if (field === "$and" && Array.isArray(condition)) {
        for (const sub of condition) if (isPlainObject(sub)) visit(sub);
        continue;
      }
      if (field.startsWith("$")) continue;
      if (isPlainObject(condition) && Object.keys(condition).some((k) => k.startsWith("$"))) {
        if ("$eq" in condition) setPath(doc, field, structuredClone(condition.$eq));
        continue;
      }
      setPath(doc, field, structuredClone(condition));
    }
  };
  visit(filter);
  return doc;
}

function getPath(doc: Doc, path: string): unknown {
  let current: unknown = doc;
  for (const part of path.split(".")) {
    if (!isPlainObject(current)) return undefined;
    current = current[part];
  }
  return current;
}

function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split(".");
  let current = doc;
  for (const part of parts.slice(0, -1)) {
    const next = current[part];
    if (isPlainObject(next)) {
      current = next;
    } else {
      const created: Doc = {};
      current[part] = created;
      current = created;
    }
  }
  const last = parts[parts.length - 1];
  if (last !== undefined) current[last] = value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
