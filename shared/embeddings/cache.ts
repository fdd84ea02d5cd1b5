// Embedding cache: identical chunk text (re-uploads, repeated boilerplate, retried ingestion) is
// embedded once per model.
import { createHash } from "node:crypto";
import { type Embedder, EmbeddingError } from "./embeddings.ts";

/** What the cache needs from a store; a plain Map qualifies. */
export interface EmbeddingCacheStore {
  get(key: string): Float32Array | undefined;
  set(key: string, value: Float32Array): unknown;
}

/** A Map-like store that keeps the most recently used `maxEntries` vectors. */
export function createLruCache(maxEntries: number): EmbeddingCacheStore & { readonly size: number } {
  const entries = new Map<string, Float32Array>();
  return {
    get size() {
      return entries.size;
    },
    get(key) {
      const value = entries.get(key);
      if (value !== undefined) {
        // Map keeps insertion order: re-inserting marks the entry as most recently used.
        entries.delete(key);
        entries.set(key, value);
      }
      return value;
    },
    set(key, value) {
      entries.delete(key);
      entries.set(key, value);
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
    },
  };
}

/** Wraps an embedder so each distinct text is embedded once per model; misses go out in one batched call. */
export function withEmbeddingCache(embedder: Embedder, cache: EmbeddingCacheStore = createLruCache(10_000)): Embedder {
  const keyOf = (text: string) => `${embedder.model}:${createHash("sha256").update(text).digest("hex")}`;
  return {
    get model() {
      return embedder.model;
    },
    get dimensions() {
      return embedder.dimensions;
    },
    ...(embedder.fusionWeight === undefined ? {} : { fusionWeight: embedder.fusionWeight }),
    async embed(texts) {
      const keys = texts.map(keyOf);
      const results = keys.map((key) => cache.get(key));
      const missing = new Map<string, string>();
      keys.forEach((key, i) => {
        const text = texts[i];
        if (results[i] === undefined && text !== undefined) missing.set(key, text);
      });
      // Fresh vectors are served from this map, not re-read from the cache, which may already
      // have evicted them when a batch is larger than its capacity.
      const fresh = new Map<string, Float32Array>();
      if (missing.size > 0) {
        const vectors = await embedder.embed([...missing.values()]);
        [...missing.keys()].forEach((key, i) => {
          const vector = vectors[i];
          if (vector === undefined) return;
          fresh.set(key, vector);
          cache.set(key, vector);
        });
      }
      return keys.map((key, i) => {
        const vector = results[i] ?? fresh.get(key);
        if (vector === undefined) throw new EmbeddingError(`${embedder.model} returned fewer vectors than texts`);
        return vector;
      });
    },
  };
}
