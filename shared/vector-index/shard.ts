// One FAISS shard per source: an exact inner-product index (IndexFlatIP) over L2-normalised
// vectors, so scores are cosine similarities. Shards are small (one document's chunks), so exact
// search is both fast and free of training; scoping a query = choosing which shards to search.
import { createRequire } from "node:module";

/**
 * A FAISS index as our faiss-node build exposes it: layers/faiss/build-local.mjs adds typed-array
 * add/train/search (one copy instead of one N-API call per float), search-time parameters
 * (IVF nprobe, HNSW efSearch) and reading a stored vector to faiss-node 0.5.1.
 */
export interface NativeIndex {
  ntotal(): number;
  getDimension(): number;
  isTrained(): boolean;
  addFloat32(vectors: Float32Array): void;
  trainFloat32(vectors: Float32Array): void;
  /** k best per query, best first; labels are -1 where fewer than k exist. */
  searchFloat32(queries: Float32Array, k: number): { distances: Float32Array; labels: Int32Array };
  setSearchParameter(name: string, value: number): void;
  /** The vector stored at a position (an IVF index builds its direct map, 8 bytes a vector, on the first call). */
  reconstructFloat32(position: number): Float32Array;
  mergeFrom(other: NativeIndex): void;
  toBuffer(): Buffer;
}

export interface NativeFaiss {
  Index: {
    fromFactory(dims: number, descriptor: string, metric: number): NativeIndex;
    fromBuffer(buffer: Buffer): NativeIndex;
  };
  IndexFlatIP: { new (dims: number): NativeIndex; fromBuffer(buffer: Buffer): NativeIndex };
}

/** faiss's METRIC_INNER_PRODUCT. */
export const METRIC_INNER_PRODUCT = 0;

let faissModule: NativeFaiss | undefined;

/**
 * faiss-node is loaded on first use, not at import: in Lambda it comes from a layer that only the
 * functions searching or building shards have, and every feature imports this module through the
 * engine. A static import would stop the others from loading at all.
 */
export function faiss(): NativeFaiss {
  if (faissModule) return faissModule;
  const loaded = createRequire(import.meta.url)("faiss-node") as NativeFaiss;
  if (typeof (loaded.IndexFlatIP.prototype as Partial<NativeIndex>).searchFloat32 !== "function") {
    throw new Error("faiss-node was built without the typed-array methods: run `node layers/faiss/build-local.mjs`");
  }
  faissModule = loaded;
  return loaded;
}

/** What a shard was built with; stored beside the shard so a query in another vector space is refused. */
export interface ShardMeta {
  model: string;
  dimensions: number;
  count: number;
  /** Published version of the source's index (the `v{n}` of its key). */
  version: number;
}

export interface ShardHit {
  /** Position of the vector in the list given to buildShard (= chunk index). */
  index: number;
  score: number;
}

export interface Shard {
  readonly meta: ShardMeta;
  /** The k best vectors by inner product, best first; fewer when the shard holds fewer. */
  search(query: Float32Array, k: number, queryModel?: string): ShardHit[];
}

/** A query's vector space differs from the shard's: searching would return meaningless scores. */
export class EmbeddingMismatchError extends Error {
  override readonly name = "EmbeddingMismatchError";
}

// Vectors go into FAISS in batches so that a big source is never copied into one more buffer whole.
const ADD_BATCH = 512;

/** A shard filled batch by batch, so the caller need not hold every vector of a source at once. */
export interface ShardBuilder {
  readonly count: number;
  add(vectors: readonly Float32Array[]): void;
  /** The serialised IndexFlatIP of every vector added so far. */
  toBuffer(): Buffer;
}

/** Starts an empty IndexFlatIP shard for normalised vectors of `dims` dimensions. */
export function createShardBuilder(dims: number): ShardBuilder {
  if (!Number.isInteger(dims) || dims <= 0) throw new RangeError(`invalid dimensions ${dims}`);
  const index = new (faiss().IndexFlatIP)(dims);
  let count = 0;
  return {
    get count() {
      return count;
    },
    add(vectors) {
      for (let start = 0; start < vectors.length; start += ADD_BATCH) {
        const batch = vectors.slice(start, start + ADD_BATCH);
        const flat = new Float32Array(batch.length * dims);
        batch.forEach((vector, row) => {
          if (vector.length !== dims) {
            throw new EmbeddingMismatchError(`vector ${count + row} has ${vector.length} dimensions, expected ${dims}`);
          }
          flat.set(vector, row * dims);
        });
        if (batch.length > 0) index.addFloat32(flat);
        count += batch.length;
      }
    },
    toBuffer: () => index.toBuffer(),
  };
}

/** Builds a serialised IndexFlatIP shard from normalised vectors of `dims` dimensions. */
export function buildShard(vectors: Float32Array[], dims: number): Buffer {
  const builder = createShardBuilder(dims);
  builder.add(vectors);
  return builder.toBuffer();
}

// Serialised IndexFlatIP (FAISS 1.7.x): "IxFI", d (i32), ntotal (i64), two unused i64, is_trained
// (u8), metric (i32), then the vectors (u64 float count + floats) at the very end.
const FLAT_IP_FOURCC = "IxFI";

/** Where a serialised shard's vectors are: the byte offset of the block and the number of vectors. */
function vectorBlock(buffer: Uint8Array, dims: number): { start: number; count: number } {
  if (buffer.byteLength < 45) throw new Error("not an IndexFlatIP shard (too short)");
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const fourcc = String.fromCharCode(...buffer.subarray(0, 4));
  if (fourcc !== FLAT_IP_FOURCC) throw new Error(`not an IndexFlatIP shard (${fourcc})`);
  if (view.getInt32(4, true) !== dims) {
    throw new EmbeddingMismatchError(`shard has ${view.getInt32(4, true)} dimensions, expected ${dims}`);
  }
  const count = Number(view.getBigInt64(8, true));
  const start = buffer.byteLength - count * dims * 4;
  if (start < 8 || Number(view.getBigUint64(start - 8, true)) !== count * dims) {
    throw new Error("shard layout not recognised: vector block size mismatch");
  }
  return { start, count };
}

/**
 * The vectors of a serialised shard, read in place (no FAISS call, no copy when aligned): what a
 * compacted library index is built from.
 */
export function shardVectors(buffer: Uint8Array, dims: number): Float32Array {
  const { start, count } = vectorBlock(buffer, dims);
  const offset = buffer.byteOffset + start;
  if (offset % 4 === 0) return new Float32Array(buffer.buffer, offset, count * dims);
  // A fresh, aligned copy (Buffer#slice would return a view of the same unaligned memory).
  return new Float32Array(new Uint8Array(buffer.subarray(start)).buffer);
}

/**
 * The stored vector of one chunk of a serialised shard (a copy; undefined past its last chunk):
 * the vector its search scores, read without FAISS and without embedding the chunk's text again.
 */
export function shardVector(buffer: Uint8Array, dims: number, index: number): Float32Array | undefined {
  const { start, count } = vectorBlock(buffer, dims);
  if (!Number.isInteger(index) || index < 0 || index >= count) return undefined;
  const from = start + index * dims * 4;
  // Copied byte-wise: the block is generally not 4-byte aligned in the buffer.
  return new Float32Array(new Uint8Array(buffer.subarray(from, from + dims * 4)).buffer);
}

/** Loads a shard written by buildShard; `meta` must describe the vectors it was built from. */
export function loadShard(buffer: Buffer, meta: ShardMeta): Shard {
  const index = faiss().IndexFlatIP.fromBuffer(buffer);
  if (index.getDimension() !== meta.dimensions) {
    throw new EmbeddingMismatchError(
      `shard has ${index.getDimension()} dimensions but its metadata says ${meta.dimensions}`,
    );
  }
  const total = index.ntotal();
  // Hit indices are chunk indices: a shard that disagrees with its record would cite wrong chunks.
  if (total !== meta.count) throw new Error(`shard holds ${total} vectors but its metadata says ${meta.count}`);
  return {
    meta: { ...meta },
    search(query, k, queryModel) {
      if (queryModel !== undefined && queryModel !== meta.model) {
        throw new EmbeddingMismatchError(`query embedded with ${queryModel}, shard built with ${meta.model}`);
      }
      if (query.length !== meta.dimensions) {
        throw new EmbeddingMismatchError(`query has ${query.length} dimensions, shard has ${meta.dimensions}`);
      }
      // FAISS pads missing results with label -1 but rejects k > ntotal, so k is capped first.
      const limit = Math.min(Math.floor(k), total);
      if (limit <= 0) return [];
      const { labels, distances } = index.searchFloat32(query, limit);
      const hits: ShardHit[] = [];
      labels.forEach((label, i) => {
        const score = distances[i];
        if (label >= 0 && score !== undefined) hits.push({ index: label, score });
      });
      return hits;
    },
  };
}

/** Searches several shards and merges their hits by score (best first, ties by key then index). */
export function searchShards<Key extends string>(
  shards: Array<{ key: Key; shard: Shard }>,
  query: Float32Array,
  k: number,
  queryModel?: string,
): Array<ShardHit & { key: Key }> {
  const hits = shards.flatMap(({ key, shard }) => shard.search(query, k, queryModel).map((hit) => ({ ...hit, key })));
  hits.sort((a, b) => b.score - a.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || a.index - b.index);
  return hits.slice(0, Math.max(0, Math.floor(k)));
}

/**
 * The part whose range holds `position`, given each part's first position in ascending order
 * (binary search: the last part starting at or before it).
 */
export function partAt(starts: ArrayLike<number>, position: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if ((starts[mid] ?? 0) <= position) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** Several shards as one exact index: one FAISS call instead of one per source. */
export interface MergedShards {
  readonly count: number;
  /** The k best vectors across all parts: `part` is the position in the list given to mergeShards. */
  search(query: Float32Array, k: number, queryModel?: string): Array<ShardHit & { part: number }>;
}

/**
 * Merges serialised shards into one IndexFlatIP. FAISS's merge empties the index it takes from,
 * so each part is deserialised afresh from its buffer and the cached per-source shards stay intact.
 */
export function mergeShards(parts: Array<{ buffer: Buffer; meta: ShardMeta }>): MergedShards {
  const first = parts[0];
  if (!first) return { count: 0, search: () => [] };
  const { model, dimensions } = first.meta;
  const merged = new (faiss().IndexFlatIP)(dimensions);
  const offsets: number[] = [];
  let total = 0;
  for (const part of parts) {
    if (part.meta.model !== model || part.meta.dimensions !== dimensions) {
      throw new EmbeddingMismatchError(`cannot merge a ${part.meta.model} shard into a ${model} index`);
    }
    const index = faiss().IndexFlatIP.fromBuffer(part.buffer);
    offsets.push(total);
    total += index.ntotal();
    merged.mergeFrom(index);
  }
  return {
    count: total,
    search(query, k, queryModel) {
      if (queryModel !== undefined && queryModel !== model) {
        throw new EmbeddingMismatchError(`query embedded with ${queryModel}, shards built with ${model}`);
      }
      if (query.length !== dimensions) {
        throw new EmbeddingMismatchError(`query has ${query.length} dimensions, shards have ${dimensions}`);
      }
      const limit = Math.min(Math.floor(k), total);
      if (limit <= 0) return [];
      const { labels, distances } = merged.searchFloat32(query, limit);
      const hits: Array<ShardHit & { part: number }> = [];
      labels.forEach((label, i) => {
        const score = distances[i];
        if (label < 0 || score === undefined) return;
        const part = partAt(offsets, label);
        hits.push({ part, index: label - (offsets[part] ?? 0), score });
      });
      return hits;
    },
  };
}
