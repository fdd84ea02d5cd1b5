// A document store whose every operation takes at least `delayMs` (as a round trip to MongoDB
// would) and is recorded, so that a test can tell how many store round trips a request waits for
// one after another: operations issued together overlap in time, operations issued after another
// finished do not.
import type { Collection, CollectionOptions, DocumentStore, StoredDocument } from "#shared/store/store.ts";

export interface TimedOperation {
  /** `collection.method`, e.g. `chat_sessions.findOne`. */
  name: string;
  /** performance.now() when the caller issued it and when it resolved or failed. */
  start: number;
  end: number;
}

export interface TimedStore {
  store: DocumentStore;
  operations: TimedOperation[];
}

const COLLECTION_METHODS = new Set([
  "insertOne",
  "findOne",
  "find",
  "countDocuments",
  "updateOne",
  "updateMany",
  "findOneAndUpdate",
  "deleteOne",
  "deleteMany",
]);

/** `record: false` keeps no operations (a long benchmark run). */
export function timedStore(inner: DocumentStore, delayMs: number, options: { record?: boolean } = {}): TimedStore {
  const operations: TimedOperation[] = [];
  const keep = options.record ?? true;
  const pause = () => new Promise((resolve) => setTimeout(resolve, delayMs));
  const timed = <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    const result = pause().then(run);
    if (!keep) return result;
    const record = () => {
      operations.push({ name, start, end: performance.now() });
    };
    result.then(record, record);
    return result;
  };
  const store: DocumentStore = {
    kind: inner.kind,
    collection<T extends StoredDocument = StoredDocument>(name: string, options?: CollectionOptions): Collection<T> {
      const collection = inner.collection<T>(name, options);
      return new Proxy(collection, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (typeof property !== "string" || !COLLECTION_METHODS.has(property) || typeof value !== "function") {
            return value;
          }
          return (...args: unknown[]) => timed(`${name}.${property}`, () => value.apply(target, args));
        },
      });
    },
    ensureIndexes: (collection, indexes) => inner.ensureIndexes(collection, indexes),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
  return { store, operations };
}

/**
 * The longest chain of `operations` in which each one started after the previous one ended — the
 * store round trips waited for one after another — among those that ran within [from, to].
 */
export function sequentialRoundTrips(operations: TimedOperation[], from: number, to: number): string[][] {
  const window = operations.filter((operation) => operation.start >= from && operation.end <= to);
  window.sort((a, b) => a.start - b.start);
  const chains: string[][][] = [];
  let longest: string[][] = [];
  window.forEach((operation, index) => {
    let best: string[][] = [];
    for (let before = 0; before < index; before += 1) {
      const earlier = window[before];
      const chain = chains[before];
      if (earlier && chain && earlier.end <= operation.start && chain.length > best.length) best = chain;
    }
    // Operations issued together with this one (overlapping it) form its step of the chain.
    const together = window
      .filter((other) => other.start < operation.end && operation.start < other.end)
      .map((other) => other.name)
      .sort();
    const chain = [...best, together];
    chains[index] = chain;
    if (chain.length > longest.length) longest = chain;
  });
  return longest;
}
