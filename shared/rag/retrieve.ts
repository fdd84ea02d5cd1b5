// Retrieval over the caller's own shards: pick the user's ready documents (all, a session's, or
// given sources), search each shard, merge by score. Scoping is by shard selection — there is no
// shared index to post-filter — so another user's material can never be returned.
//
// A big library (LIBRARY_FROM_SOURCES sources or LIBRARY_FROM_CHUNKS chunks in scope) is searched
// through its compacted library index (library.ts): one approximate vector search and one BM25
// pass over prebuilt postings, restricted to the parts whose exact index version the user's ready
// records still point at. Sources published after the library was built are searched per source
// and merged in; once too many are, the library is rebuilt in the background.
import type { BlobStore } from "../blobs/blobs.ts";
import type { Citation } from "../conversations/session-store.ts";
import type { DocumentRecords, SearchableRecord } from "../documents/records.ts";
import { dot, type Embedder } from "../embeddings/embeddings.ts";
import { analyzeTerms } from "../embeddings/local.ts";
import { type StoredChunk, shardFiles } from "../ingestion/layout.ts";
import type { Logger } from "../observability/logger.ts";
import { loadShard, type MergedShards, mergeShards, partAt, type Shard, shardVector } from "../vector-index/shard.ts";
import {
  buildLexicalIndex,
  type LexicalIndex,
  type MergedLexicalIndex,
  mergeLexicalIndexes,
  searchLexical,
  searchMergedLexical,
} from "./lexical.ts";
import {
  currentLibraryId,
  currentLibraryManifest,
  deleteLibraries,
  type Library,
  type LibraryManifest,
  LibraryMismatchError,
  type LibrarySource,
  readLibrary,
  writeLibrary,
} from "./library.ts";

export interface RetrievedPassage extends Citation {
  page: number;
  filename: string;
  score: number;
  heading_path: string[];
}

export interface RetrieveOptions {
  /**
   * Keeps only passages related to the query: cosine ≥ `minCosine`, or holding at least half of the
   * query's content terms (and two or more; see coversQueryTerms). The second rule matters for the local hash embedder, whose cosines stay
   * low for a paraphrased question even when the passage shares its key terms (chat filters on
   * this so that a greeting does not drag unrelated notes into the prompt).
   */
  relevantOnly?: { minCosine: number };
}

/**
 * Whether the passage (heading + text) holds at least half of the query's distinct content terms,
 * and at least two of them: one common word shared with a short message ("tell me a joke") is
 * chance, not relatedness.
 */
export function coversQueryTerms(queryTerms: ReadonlySet<string>, passageText: string): boolean {
  if (queryTerms.size === 0) return false;
  const passageTerms = new Set(analyzeTerms(passageText));
  let shared = 0;
  for (const term of queryTerms) if (passageTerms.has(term)) shared += 1;
  return shared >= 2 && shared * 2 >= queryTerms.size;
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

/**
 * A scope this big is searched through the user's library index: loading its sources one by one
 * costs ~15 ms each on a cold start, and their merged exact index grows with the library.
 */
export const LIBRARY_FROM_SOURCES = 64;
export const LIBRARY_FROM_CHUNKS = 20_000;
/** Sources the library lacks (published after it was built) that are searched per source meanwhile. */
const LIBRARY_MAX_UNCOVERED = 32;
/** From this many lacking sources on, a rebuild starts in the background. */
const LIBRARY_REBUILD_FROM_UNCOVERED = 8;
/** A library whose parts in scope hold less than this share of it is not worth searching. */
const LIBRARY_MIN_SHARE = 0.5;
const LIBRARY_CACHE_ENTRIES = 2;
/** How often a library that lacks sources looks for a newer one built by another instance. */
const LIBRARY_RECHECK_MS = 10_000;
/** A failed background build is retried after this long. */
const LIBRARY_RETRY_MS = 60_000;
/** Blob reads in flight while a library is built. */
const LIBRARY_BUILD_CONCURRENCY = 8;

export interface RetrieverDeps {
  records: DocumentRecords;
  blobs: BlobStore;
  embedder: Embedder;
  logger: Logger;
  /** Upper bound of shard + chunk bytes kept in memory between requests. */
  cacheBytes?: number;
  /**
   * Whether a big query may build a missing or stale library index in the background ("background",
   * the default) or leaves that to the ingestion worker ("off": in AWS the query functions can only
   * read the bucket and have too little memory to build a 100k-chunk library).
   */
  libraryBuilds?: "background" | "off";
}

export type Retriever = ReturnType<typeof createRetriever>;

/** The user an index key belongs to (`indexes/{user}/…`), undefined for another key. */
function indexOwner(indexKey: string): string | undefined {
  const userSegment = /^indexes\/([^/]+)\//.exec(indexKey)?.[1];
  return userSegment === undefined ? undefined : decodeURIComponent(userSegment);
}

/**
 * What a process that never retrieves (the documents function, the buffered sessions function) must
 * still do when a source is removed: delete the user's stored library indexes, which hold its text.
 * It has no cached shard to drop.
 */
export function storedIndexForgetter(blobs: BlobStore): Pick<Retriever, "forget"> {
  return {
    async forget(indexKey) {
      const userId = indexOwner(indexKey);
      if (userId !== undefined) await deleteLibraries(blobs, userId);
    },
  };
}

/** A search over the library: which parts are in scope, and the ready sources it lacks. */
interface LibraryPlan {
  library: Library;
  covered: Array<{ record: SearchableRecord; part: number }>;
  coveredChunks: number;
  uncovered: SearchableRecord[];
}

/** A source whose chunks hits point into, whichever index they came from. */
interface HitSource {
  record: SearchableRecord;
  chunk(index: number): StoredChunk | undefined;
  /** The chunk's stored vector: from the source's shard, or from the library index holding it. */
  vector(index: number): Float32Array | undefined;
}

/** A source searched through its own shard: its chunks and their stored vectors. */
function shardSource(record: SearchableRecord, loaded: LoadedShard): HitSource {
  return {
    record,
    chunk: (index) => loaded.chunks[index],
    vector: (index) => shardVector(loaded.buffer, loaded.shard.meta.dimensions, index),
  };
}

/** Builds a retriever with an in-memory LRU cache of loaded shards (keyed by immutable version keys). */
export function createRetriever(deps: RetrieverDeps) {
  const cacheLimit = deps.cacheBytes ?? 256 * 1024 * 1024;
  const cache = new Map<string, LoadedShard>();
  let cachedBytes = 0;

  async function load(record: SearchableRecord): Promise<LoadedShard | undefined> {
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

  function mergedFor(entries: Array<{ record: SearchableRecord; loaded: LoadedShard }>): {
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

  // Loaded libraries by user id (at most LIBRARY_CACHE_ENTRIES, least recently used dropped first).
  const libraries = new Map<string, { library: Library; checkedAt: number }>();
  const libraryLoads = new Map<string, Promise<Library | undefined>>();
  const compactions = new Map<string, Promise<LibraryManifest | undefined>>();
  const space = { model: deps.embedder.model, dims: deps.embedder.dimensions };

  function cacheLibrary(userId: string, library: Library): void {
    libraries.delete(userId);
    libraries.set(userId, { library, checkedAt: Date.now() });
    // Bounded by count and by the cache's byte budget; the library just loaded always stays.
    let bytes = 0;
    for (const entry of libraries.values()) bytes += entry.library.bytes;
    for (const [oldUser, entry] of libraries) {
      if (oldUser === userId || (libraries.size <= LIBRARY_CACHE_ENTRIES && bytes <= cacheLimit)) break;
      libraries.delete(oldUser);
      bytes -= entry.library.bytes;
    }
  }

  /** The user's published library when it differs from `knownId`; undefined when none is usable. */
  async function openLibrary(userId: string, knownId?: string): Promise<Library | undefined> {
    const pending = libraryLoads.get(userId);
    if (pending) return pending;
    const loading = (async () => {
      const id = await currentLibraryId(deps.blobs, userId);
      if (!id) return undefined;
      if (id === knownId) return libraries.get(userId)?.library;
      try {
        const library = await readLibrary(deps.blobs, userId, id, space);
        cacheLibrary(userId, library);
        return library;
      } catch (error) {
        if (!(error instanceof LibraryMismatchError)) throw error;
        // Another format, model or tokenizer: rebuilt from the shards, which stay the truth.
        deps.logger.warn("library index not usable, rebuilding", { reason: error.message });
        scheduleCompaction(userId);
        return undefined;
      }
    })().finally(() => libraryLoads.delete(userId));
    libraryLoads.set(userId, loading);
    return loading;
  }

  function planFor(library: Library, usable: SearchableRecord[]): LibraryPlan {
    const covered: LibraryPlan["covered"] = [];
    const uncovered: SearchableRecord[] = [];
    let coveredChunks = 0;
    for (const record of usable) {
      // Only the exact version a ready record points at: a replaced or deleted version never matches.
      const part = record.index_key ? library.partByKey.get(record.index_key) : undefined;
      if (part === undefined) {
        uncovered.push(record);
        continue;
      }
      covered.push({ record, part });
      coveredChunks += library.manifest.parts[part]?.count ?? 0;
    }
    return { library, covered, coveredChunks, uncovered };
  }

  function worthSearching(plan: LibraryPlan): boolean {
    return (
      plan.uncovered.length <= LIBRARY_MAX_UNCOVERED &&
      plan.coveredChunks >= LIBRARY_MIN_SHARE * plan.library.manifest.total
    );
  }

  /** How to search a big scope through the user's library, or undefined to search it per source. */
  async function libraryPlan(userId: string, usable: SearchableRecord[]): Promise<LibraryPlan | undefined> {
    const chunks = usable.reduce((sum, record) => sum + (record.chunk_count ?? 0), 0);
    if (usable.length < LIBRARY_FROM_SOURCES && chunks < LIBRARY_FROM_CHUNKS) return undefined;
    const cached = libraries.get(userId);
    if (cached) {
      libraries.delete(userId);
      libraries.set(userId, cached);
    }
    let library = cached?.library ?? (await openLibrary(userId));
    let plan = library ? planFor(library, usable) : undefined;
    if (cached && plan && plan.uncovered.length > 0 && Date.now() - cached.checkedAt > LIBRARY_RECHECK_MS) {
      // Another instance may have rebuilt it since this one loaded it.
      cached.checkedAt = Date.now();
      library = (await openLibrary(userId, cached.library.manifest.id)) ?? cached.library;
      plan = planFor(library, usable);
    }
    if (!plan || plan.uncovered.length >= LIBRARY_REBUILD_FROM_UNCOVERED) scheduleCompaction(userId);
    return plan && worthSearching(plan) ? plan : undefined;
  }

  async function* librarySources(records: SearchableRecord[]): AsyncGenerator<LibrarySource> {
    for (let start = 0; start < records.length; start += LIBRARY_BUILD_CONCURRENCY) {
      const batch = records.slice(start, start + LIBRARY_BUILD_CONCURRENCY);
      const loaded = await Promise.all(
        batch.map(async (record) => {
          const files = shardFiles(record.index_key ?? "");
          const [shard, chunks] = await Promise.all([deps.blobs.get(files.shard), deps.blobs.get(files.chunks)]);
          return { record, shard, chunks };
        }),
      );
      for (const { record, shard, chunks } of loaded) {
        // Deleted since it was listed: left out (the check after publishing catches later deletions).
        if (!shard || !chunks) continue;
        yield { record, shard, chunks: JSON.parse(new TextDecoder().decode(chunks)) as StoredChunk[] };
      }
    }
  }

  /** Builds and publishes the user's library index from their ready sources (see library.ts). */
  async function compact(userId: string): Promise<LibraryManifest | undefined> {
    const ready = (await deps.records.listSearchable(userId, { status: "ready" })).filter(
      (record) =>
        record.index_key !== undefined &&
        record.embedding_model === space.model &&
        record.embedding_dims === space.dims,
    );
    if (ready.length === 0) return undefined;
    const expected = ready.reduce((sum, record) => sum + (record.chunk_count ?? 0), 0);
    const manifest = await writeLibrary(deps.blobs, userId, space, librarySources(ready), expected);
    // A source deleted while the library was built must not stay readable in storage.
    const still = new Set(
      (await deps.records.listSearchable(userId, { status: "ready" })).map((record) => record.index_key),
    );
    if (manifest.parts.some((part) => !still.has(part.index_key))) {
      await deleteLibraries(deps.blobs, userId);
      libraries.delete(userId);
      return undefined;
    }
    libraries.delete(userId);
    deps.logger.info("library index built", { parts: manifest.parts.length, chunks: manifest.total });
    return manifest;
  }

  // When a build last failed, by user: a failing build is not retried by every query.
  const failedBuilds = new Map<string, number>();

  function scheduleCompaction(userId: string): void {
    if (deps.libraryBuilds === "off" || compactions.has(userId)) return;
    if (Date.now() - (failedBuilds.get(userId) ?? 0) < LIBRARY_RETRY_MS) return;
    const running = compact(userId)
      .then((manifest) => {
        failedBuilds.delete(userId);
        return manifest;
      })
      .catch((error: unknown) => {
        failedBuilds.set(userId, Date.now());
        deps.logger.error("library index build failed", { error: error instanceof Error ? error.message : "unknown" });
        return undefined;
      })
      .finally(() => compactions.delete(userId));
    compactions.set(userId, running);
  }

  /** Vector and BM25 hits of a scope searched through its library (plus the sources it lacks). */
  async function searchLibrary(
    plan: LibraryPlan,
    query: string,
    vector: Float32Array,
    depth: number,
    sources: HitSource[],
  ): Promise<{
    vectorHits: Array<{ shard: number; index: number; score: number }>;
    lexicalHits: Array<{ key: number; index: number; score: number }>;
  }> {
    const { library, covered } = plan;
    const { offsets, manifest } = library;
    const shardOfPart = new Int32Array(manifest.parts.length).fill(-1);
    for (const { record, part } of covered) {
      shardOfPart[part] = sources.length;
      const start = offsets[part] ?? 0;
      const count = manifest.parts[part]?.count ?? 0;
      sources.push({
        record,
        chunk: (index) => (index < count ? library.chunk(start + index) : undefined),
        vector: (index) => (index < count ? library.vectors.vector(start + index) : undefined),
      });
    }
    // Parts out of scope (another session, a deleted or replaced version) are masked out.
    let accept: Uint8Array | undefined;
    if (covered.length < manifest.parts.length) {
      accept = new Uint8Array(manifest.total);
      for (const { part } of covered) accept.fill(1, offsets[part], offsets[part + 1]);
    }
    const vectorHits: Array<{ shard: number; index: number; score: number }> = [];
    const share = plan.coveredChunks / Math.max(1, manifest.total);
    let want = accept ? Math.ceil(depth / Math.max(share, 0.01)) + depth : depth;
    for (;;) {
      vectorHits.length = 0;
      for (const hit of library.vectors.search(vector, want)) {
        const part = library.partOf(hit.position);
        const shard = shardOfPart[part] ?? -1;
        if (shard >= 0) vectorHits.push({ shard, index: hit.position - (offsets[part] ?? 0), score: hit.score });
      }
      if (vectorHits.length >= depth || want >= manifest.total) break;
      want = Math.min(manifest.total, want * 4);
    }
    vectorHits.length = Math.min(vectorHits.length, depth);
    const lexicalScored: Array<{ key: number; index: number; score: number }> = searchMergedLexical(
      library.lexical,
      query,
      depth,
      accept,
    ).map((hit) => {
      const part = library.partOf(hit.position);
      return { key: shardOfPart[part] ?? -1, index: hit.position - (offsets[part] ?? 0), score: hit.score };
    });

    if (plan.uncovered.length > 0) {
      const loaded = (
        await Promise.all(plan.uncovered.map(async (record) => ({ record, loaded: await load(record) })))
      ).filter((entry): entry is { record: SearchableRecord; loaded: LoadedShard } => entry.loaded !== undefined);
      const base = sources.length;
      loaded.forEach((entry, i) => {
        sources.push(shardSource(entry.record, entry.loaded));
        for (const hit of entry.loaded.shard.search(vector, depth, deps.embedder.model)) {
          vectorHits.push({ shard: base + i, index: hit.index, score: hit.score });
        }
      });
      // BM25 statistics of the few newer sources are their own; their scores are close enough to
      // the library's to rank side by side until the next rebuild pools them.
      lexicalScored.push(
        ...searchLexical(
          loaded.map((entry, i) => ({ key: base + i, index: entry.loaded.lexical })),
          query,
          depth,
        ),
      );
      vectorHits.sort((a, b) => b.score - a.score);
      lexicalScored.sort((a, b) => b.score - a.score);
    }
    return {
      vectorHits: vectorHits.slice(0, depth),
      lexicalHits: lexicalScored.slice(0, depth),
    };
  }

  return {
    /** The k best passages for the query within the scope, best first. */
    async retrieve(
      scope: RetrievalScope,
      query: string,
      k: number,
      options: RetrieveOptions = {},
    ): Promise<RetrievalResult> {
      const records = await deps.records.listSearchable(scope.userId, {
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

      // Hybrid retrieval: the best vector hits and the best BM25 hits, fused by normalised score.
      const depth = Math.max(k * 4, 20);
      // Hits name a position in `sources` (shard) and a chunk index within that source.
      const sources: HitSource[] = [];
      let vectorHits: Array<{ shard: number; index: number; score: number }> = [];
      let lexicalHits: Array<{ key: number; index: number; score: number }>;
      const plan = await libraryPlan(scope.userId, usable);
      const loaded = plan
        ? []
        : (await Promise.all(usable.map(async (record) => ({ record, loaded: await load(record) })))).filter(
            (entry): entry is { record: SearchableRecord; loaded: LoadedShard } => entry.loaded !== undefined,
          );
      for (const entry of loaded) sources.push(shardSource(entry.record, entry.loaded));
      if (plan) {
        ({ vectorHits, lexicalHits } = await searchLibrary(plan, query, vector, depth, sources));
      } else if (loaded.length >= MERGE_FROM_SOURCES) {
        const merged = mergedFor(loaded);
        for (const hit of merged.vectors.search(vector, depth, deps.embedder.model)) {
          vectorHits.push({ shard: hit.part, index: hit.index, score: hit.score });
        }
        const { offsets } = merged.lexical;
        lexicalHits = searchMergedLexical(merged.lexical, query, depth).map((hit) => {
          const part = partAt(offsets, hit.position);
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

      // Lexical-only hits get their cosine too, so `score` means the same thing on every passage:
      // from the vector stored for the chunk, what a vector search would have scored. Every chunk
      // has one (a shard or library whose vector count disagrees with its chunks is refused when
      // it loads), so a hit without one has no chunk either and is dropped below.
      for (const hit of best) {
        const stored = hit.cosine === undefined ? sources[hit.shard]?.vector(hit.index) : undefined;
        if (stored) hit.cosine = dot(vector, stored);
      }

      const passages: RetrievedPassage[] = [];
      const queryTerms = options.relevantOnly ? new Set(analyzeTerms(query)) : undefined;
      for (const hit of best) {
        const entry = sources[hit.shard];
        const chunk = entry?.chunk(hit.index);
        if (!entry || !chunk) continue;
        if (
          options.relevantOnly &&
          queryTerms &&
          (hit.cosine ?? 0) < options.relevantOnly.minCosine &&
          !coversQueryTerms(queryTerms, `${chunk.heading_path.join(" ")} ${chunk.text}`)
        ) {
          continue;
        }
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

    /**
     * Drops cached shards of a deleted source, and the user's library indexes holding it: its text
     * must not stay in storage (the next big query rebuilds the library without it).
     */
    async forget(indexKey: string): Promise<void> {
      for (const key of mergedCache.keys()) if (key.split("|").includes(indexKey)) mergedCache.delete(key);
      const entry = cache.get(indexKey);
      if (entry) {
        cache.delete(indexKey);
        cachedBytes -= entry.bytes;
      }
      const userId = indexOwner(indexKey);
      if (userId === undefined) return;
      libraries.delete(userId);
      await deleteLibraries(deps.blobs, userId);
    },

    /** Builds the user's library index now (after ingestion, or to warm a big library). */
    compact(userId: string): Promise<LibraryManifest | undefined> {
      const running = compactions.get(userId);
      return running ? running.then(() => compact(userId)) : compact(userId);
    },

    /**
     * After a source is published (ingestion worker): rebuilds the user's library index when the
     * library is big enough to need one and has none, an unusable one, or one lacking a tenth of
     * its sources (at least LIBRARY_REBUILD_FROM_UNCOVERED) — so a bulk upload rebuilds a few
     * times, not once per document. Returns the new manifest, or undefined when nothing was built.
     */
    async refreshLibrary(userId: string): Promise<LibraryManifest | undefined> {
      const ready = (await deps.records.listSearchable(userId, { status: "ready" })).filter(
        (record) => record.embedding_model === space.model && record.embedding_dims === space.dims,
      );
      const chunks = ready.reduce((sum, record) => sum + (record.chunk_count ?? 0), 0);
      if (ready.length < LIBRARY_FROM_SOURCES && chunks < LIBRARY_FROM_CHUNKS) return undefined;
      const manifest = await currentLibraryManifest(deps.blobs, userId, space);
      const held = new Set(manifest?.parts.map((part) => part.index_key));
      const lacking = ready.filter((record) => !record.index_key || !held.has(record.index_key)).length;
      const stale = lacking >= Math.max(LIBRARY_REBUILD_FROM_UNCOVERED, Math.ceil(ready.length / 10));
      if (manifest && !stale) return undefined;
      const running = compactions.get(userId);
      return running ? running.then(() => compact(userId)) : compact(userId);
    },

    /** Resolves once background library builds have finished (tests and benchmarks). */
    async settled(): Promise<void> {
      await Promise.all(compactions.values());
    },
  };
}
