// Retrieval over the caller's own shards: pick the user's ready documents (all, a session's, or
// given sources), search each shard, merge by score. Scoping is by shard selection — there is no
// shared index to post-filter — so another user's material can never be returned.
import type { BlobStore } from "../blobs/blobs.ts";
import type { Citation } from "../conversations/session-store.ts";
import type { DocumentRecord, DocumentRecords } from "../documents/records.ts";
import type { Embedder } from "../embeddings/embeddings.ts";
import { type StoredChunk, shardFiles } from "../ingestion/ingest.ts";
import type { Logger } from "../observability/logger.ts";
import { loadShard, type MergedShards, mergeShards, type Shard } from "../vector-index/shard.ts";
import {
  buildLexicalIndex,
  type LexicalIndex,
  type MergedLexicalIndex,
  mergeLexicalIndexes,
  searchLexical,
  searchMergedLexical,
} from "./lexical.ts";

export interface RetrievedPassage extends Citation {
  page: number;
  filename: string;
  score: number;
  heading_path: string[];
}

export interface RetrievalScope {
  userId: string;
  sessionId?: string;
  sourceIds?: string[];
}

export interface RetrievalResult {
  passages: RetrievedPassage[];
  /** Ready sources that were searched. */
  searched: number;
  /** Sources indexed with another embedding model: refused rather than searched with wrong vectors. */
  skipped: Array<{ source_id: string; reason: string }>;
}

interface LoadedShard {
  shard: Shard;
  /** The serialised shard, kept so that a scope of many sources can be merged into one index. */
  buffer: Buffer;
  chunks: StoredChunk[];
  lexical: LexicalIndex;
  bytes: number;
}

/** From this many sources on, a scope is searched as one merged index (one FAISS call, cached). */
const MERGE_FROM_SOURCES = 8;
const MERGED_CACHE_ENTRIES = 2;

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] ?? 0) * (b[i] ?? 0);
  return sum;
}

export interface RetrieverDeps {
  records: DocumentRecords;
  blobs: BlobStore;
  embedder: Embedder;
  logger: Logger;
  /** Upper bound of shard + chunk bytes kept in memory between requests. */
  cacheBytes?: number;
}

export type Retriever = ReturnType<typeof createRetriever>;

/** Builds a retriever with an in-memory LRU cache of loaded shards (keyed by immutable version keys). */
export function createRetriever(deps: RetrieverDeps) {
  const cacheLimit = deps.cacheBytes ?? 256 * 1024 * 1024;
  const cache = new Map<string, LoadedShard>();
  let cachedBytes = 0;

  async function load(record: DocumentRecord): Promise<LoadedShard | undefined> {
    const key = record.index_key;
    if (!key) return undefined;
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key);
      cache.set(key, hit);
      return hit;
    }
    const files = shardFiles(key);
    const [shardBytes, chunkBytes] = await Promise.all([deps.blobs.get(files.shard), deps.blobs.get(files.chunks)]);
    if (!shardBytes || !chunkBytes) {
      deps.logger.warn("published shard missing", { document_id: record._id, index_key: key });
      return undefined;
    }
    const chunks = JSON.parse(new TextDecoder().decode(chunkBytes)) as StoredChunk[];
    const buffer = Buffer.from(shardBytes);
    const shard = loadShard(buffer, {
      model: record.embedding_model ?? deps.embedder.model,
      dimensions: record.embedding_dims ?? deps.embedder.dimensions,
      count: chunks.length,
      version: record.index_version,
    });
    // Headings count as words of their chunks: a section's later chunks are still "about" its title.
    const lexical = buildLexicalIndex(chunks.map((chunk) => `${chunk.heading_path.join(" ")} ${chunk.text}`));
    const loaded = { shard, buffer, chunks, lexical, bytes: shardBytes.byteLength * 2 + chunkBytes.byteLength * 3 };
    cache.set(key, loaded);
    cachedBytes += loaded.bytes;
    for (const [oldKey, old] of cache) {
      if (cachedBytes <= cacheLimit || oldKey === key) break;
      cache.delete(oldKey);
      cachedBytes -= old.bytes;
    }
    return loaded;
  }

  // Merged indexes of large scopes, keyed by the exact list of shard versions they hold.
  const mergedCache = new Map<string, { vectors: MergedShards; lexical: MergedLexicalIndex }>();

  function mergedFor(entries: Array<{ record: DocumentRecord; loaded: LoadedShard }>): {
    vectors: MergedShards;
    lexical: MergedLexicalIndex;
  } {
    const key = entries.map((entry) => entry.record.index_key).join("|");
    const hit = mergedCache.get(key);
    if (hit) {
      mergedCache.delete(key);
      mergedCache.set(key, hit);
      return hit;
    }
    const merged = {
      vectors: mergeShards(entries.map((entry) => ({ buffer: entry.loaded.buffer, meta: entry.loaded.shard.meta }))),
      lexical: mergeLexicalIndexes(entries.map((entry) => entry.loaded.lexical)),
    };
    mergedCache.set(key, merged);
    for (const oldKey of mergedCache.keys()) {
      if (mergedCache.size <= MERGED_CACHE_ENTRIES) break;
      mergedCache.delete(oldKey);
    }
    return merged;
  }

  return {
    /** The k best passages for the query within the scope, best first. */
    async retrieve(scope: RetrievalScope, query: string, k: number): Promise<RetrievalResult> {
      const records = await deps.records.list(scope.userId, {
        status: "ready",
        ...(scope.sessionId ? { sessionId: scope.sessionId } : {}),
        ...(scope.sourceIds ? { sourceIds: scope.sourceIds } : {}),
      });
      const skipped: RetrievalResult["skipped"] = [];
      const usable = records.filter((record) => {
        if (record.embedding_model === deps.embedder.model && record.embedding_dims === deps.embedder.dimensions) {
          return true;
        }
        skipped.push({
          source_id: record.source_id,
          reason: `indexed with ${record.embedding_model ?? "an unknown model"}; re-upload to search it with ${deps.embedder.model}`,
        });
        return false;
      });
      if (usable.length === 0) return { passages: [], searched: 0, skipped };
      const [vector] = await deps.embedder.embed([query]);
      if (!vector) return { passages: [], searched: 0, skipped };

      const loaded = (await Promise.all(usable.map(async (record) => ({ record, loaded: await load(record) })))).filter(
        (entry): entry is { record: DocumentRecord; loaded: LoadedShard } => entry.loaded !== undefined,
      );
      // Hybrid retrieval: the best vector hits and the best BM25 hits, fused by normalised score.
      const depth = Math.max(k * 4, 20);
      const vectorHits: Array<{ shard: number; index: number; score: number }> = [];
      let lexicalHits: Array<{ key: number; index: number; score: number }>;
      if (loaded.length >= MERGE_FROM_SOURCES) {
        const merged = mergedFor(loaded);
        for (const hit of merged.vectors.search(vector, depth, deps.embedder.model)) {
          vectorHits.push({ shard: hit.part, index: hit.index, score: hit.score });
        }
        const { offsets } = merged.lexical;
        lexicalHits = searchMergedLexical(merged.lexical, query, depth).map((hit) => {
          let part = 0;
          let high = offsets.length - 1;
          while (part < high) {
            const mid = (part + high + 1) >> 1;
            if ((offsets[mid] ?? 0) <= hit.position) part = mid;
            else high = mid - 1;
          }
          return { key: part, index: hit.position - (offsets[part] ?? 0), score: hit.score };
        });
      } else {
        loaded.forEach((entry, shard) => {
          for (const hit of entry.loaded.shard.search(vector, depth, deps.embedder.model)) {
            vectorHits.push({ shard, index: hit.index, score: hit.score });
          }
        });
        vectorHits.sort((a, b) => b.score - a.score);
        lexicalHits = searchLexical(
          loaded.map((entry, shard) => ({ key: shard, index: entry.loaded.lexical })),
          query,
          depth,
        );
      }
      // Each list's scores are divided by its best score and summed, the vector list weighted by the
      // embedder's `fusionWeight`. Unlike reciprocal-rank fusion this keeps how far a list's best hit
      // stands above the rest, so a decisive BM25 match is not outvoted by the vector list's
      // near-ties (bench/rag/quality.ts measures both).
      const vectorWeight = deps.embedder.fusionWeight ?? 1;
      const vectorTop = vectorHits.slice(0, depth);
      const bestCosine = vectorTop.reduce((top, hit) => Math.max(top, hit.score), 0);
      const bestBm25 = lexicalHits.reduce((top, hit) => Math.max(top, hit.score), 0);
      const fused = new Map<string, { shard: number; index: number; fused: number; cosine?: number }>();
      for (const hit of vectorTop) {
        fused.set(`${hit.shard}:${hit.index}`, {
          shard: hit.shard,
          index: hit.index,
          fused: bestCosine > 0 ? (vectorWeight * Math.max(0, hit.score)) / bestCosine : 0,
          cosine: hit.score,
        });
      }
      for (const hit of lexicalHits) {
        const id = `${hit.key}:${hit.index}`;
        const entry = fused.get(id) ?? { shard: hit.key, index: hit.index, fused: 0 };
        entry.fused += bestBm25 > 0 ? hit.score / bestBm25 : 0;
        fused.set(id, entry);
      }
      const best = [...fused.values()].sort((a, b) => b.fused - a.fused).slice(0, k);

      // Lexical-only hits get their cosine too, so `score` means the same thing on every passage.
      const missing = best.filter((hit) => hit.cosine === undefined);
      if (missing.length > 0) {
        const texts = missing.map((hit) => loaded[hit.shard]?.loaded.chunks[hit.index]?.text ?? "");
        const vectors = await deps.embedder.embed(texts);
        missing.forEach((hit, i) => {
          const chunkVector = vectors[i];
          hit.cosine = chunkVector ? dot(vector, chunkVector) : 0;
        });
      }

      const passages: RetrievedPassage[] = [];
      for (const hit of best) {
        const entry = loaded[hit.shard];
        const chunk = entry?.loaded.chunks[hit.index];
        if (!entry || !chunk) continue;
        passages.push({
          source_id: entry.record.source_id,
          chunk_id: chunk.chunk_id,
          page: chunk.page,
          quote: chunk.text,
          filename: entry.record.filename,
          score: Math.round((hit.cosine ?? 0) * 10_000) / 10_000,
          heading_path: chunk.heading_path,
        });
      }
      return { passages, searched: usable.length, skipped };
    },

    /** Drops cached shards of a deleted source. */
    forget(indexKey: string): void {
      for (const key of mergedCache.keys()) if (key.split("|").includes(indexKey)) mergedCache.delete(key);
      const entry = cache.get(indexKey);
      if (!entry) return;
      cache.delete(indexKey);
      cachedBytes -= entry.bytes;
    },
  };
}
