// One vector index over a whole library of one user, for libraries too big to scan per query. Up to
// IVF_FROM vectors it is an exact IndexFlatIP (a scan of a few MB); beyond, an inverted-file index
// (IVF, flat lists): k-means cells trained on a sample of the library, and a query scans only the
// `nprobe` cells nearest to it. IVF rather than HNSW: it trains and fills a 100k library in
// seconds on two cores where HNSW32 takes minutes, it holds the vectors uncompressed (scores are
// exact cosines, like the per-source shards), and the number of cells a query scans is calibrated
// per library against exact search (bench/rag/latency.ts reports recall and latency at 100k).
import { EmbeddingMismatchError, faiss, METRIC_INNER_PRODUCT, type NativeIndex } from "./shard.ts";

/** From this many vectors on, a library index is approximate (IVF); below, exact. */
export const IVF_FROM = 20_000;

export interface AnnParams {
  kind: "flat" | "ivf";
  /** IVF cells (0 for flat). */
  nlist: number;
  /** Cells scanned per query (0 for flat). */
  nprobe: number;
}

/** sqrt(n) cells keeps both the cell lookup and the scanned lists small. */
export function annParamsFor(count: number): AnnParams {
  if (count < IVF_FROM) return { kind: "flat", nlist: 0, nprobe: 0 };
  const nlist = Math.min(4096, Math.max(64, Math.round(Math.sqrt(count))));
  return { kind: "ivf", nlist, nprobe: Math.min(nlist, MIN_NPROBE) };
}

/** Fewest cells a query scans: below this, one unlucky cell boundary costs a large share of recall. */
const MIN_NPROBE = 4;

/** Recall@10 against exact search that the chosen nprobe must reach on the calibration queries. */
export const CALIBRATION_RECALL = 0.97;
const CALIBRATION_QUERIES = 48;
const CALIBRATION_K = 10;

/**
 * The smallest nprobe whose recall@10 against exact search reaches CALIBRATION_RECALL on queries
 * drawn from the library itself: half are stored vectors, half are the normalised mean of two
 * (a question between two topics). How many cells the true neighbours spread over depends on
 * how clustered the embeddings are, so it is measured per library rather than assumed.
 */
function calibrateNprobe(index: NativeIndex, vectors: Float32Array, dims: number, nlist: number): number {
  const count = vectors.length / dims;
  const queries = new Float32Array(CALIBRATION_QUERIES * dims);
  for (let q = 0; q < CALIBRATION_QUERIES; q++) {
    // A fixed stride (no randomness): the same library always gets the same nprobe.
    const a = Math.floor(((q + 0.5) * count) / CALIBRATION_QUERIES);
    const b = Math.floor(((q * 7919 + 13) % CALIBRATION_QUERIES) * (count / CALIBRATION_QUERIES));
    const target = queries.subarray(q * dims, (q + 1) * dims);
    let norm = 0;
    for (let i = 0; i < dims; i++) {
      const value = (vectors[a * dims + i] ?? 0) + (q % 2 === 0 ? 0 : (vectors[b * dims + i] ?? 0));
      target[i] = value;
      norm += value * value;
    }
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < dims; i++) target[i] = (target[i] ?? 0) / norm;
  }
  index.setSearchParameter("nprobe", nlist);
  const truth = index.searchFloat32(queries, CALIBRATION_K).labels;
  for (let nprobe = MIN_NPROBE; nprobe < nlist; nprobe = Math.ceil(nprobe * 1.5)) {
    index.setSearchParameter("nprobe", nprobe);
    const found = index.searchFloat32(queries, CALIBRATION_K).labels;
    let hits = 0;
    for (let q = 0; q < CALIBRATION_QUERIES; q++) {
      const expected = new Set(truth.subarray(q * CALIBRATION_K, (q + 1) * CALIBRATION_K));
      for (const label of found.subarray(q * CALIBRATION_K, (q + 1) * CALIBRATION_K)) if (expected.has(label)) hits++;
    }
    if (hits / (CALIBRATION_QUERIES * CALIBRATION_K) >= CALIBRATION_RECALL) return nprobe;
  }
  return nlist;
}

/** FAISS wants at least 39 training points per cell (it warns below); k-means time grows with them. */
const TRAINING_POINTS_PER_CELL = 40;

/** Builds the serialised library index of `vectors` (rows of `dims` floats, normalised). */
export function buildAnnIndex(vectors: Float32Array, dims: number): { bytes: Buffer; params: AnnParams } {
  if (!Number.isInteger(dims) || dims <= 0 || vectors.length % dims !== 0) {
    throw new RangeError(`invalid dimensions ${dims} for ${vectors.length} floats`);
  }
  const count = vectors.length / dims;
  const params = annParamsFor(count);
  if (params.kind === "flat") {
    const index = new (faiss().IndexFlatIP)(dims);
    if (count > 0) index.addFloat32(vectors);
    return { bytes: index.toBuffer(), params };
  }
  const index = faiss().Index.fromFactory(dims, `IVF${params.nlist},Flat`, METRIC_INNER_PRODUCT);
  // An evenly strided sample: the library is stored source by source, so its first rows would
  // train the cells on a few sources' topics only.
  const samples = Math.min(count, params.nlist * TRAINING_POINTS_PER_CELL);
  const training = new Float32Array(samples * dims);
  for (let i = 0; i < samples; i++) {
    const row = Math.floor((i * count) / samples);
    training.set(vectors.subarray(row * dims, (row + 1) * dims), i * dims);
  }
  index.trainFloat32(training);
  index.addFloat32(vectors);
  const nprobe = calibrateNprobe(index, vectors, dims, params.nlist);
  index.setSearchParameter("nprobe", nprobe);
  return { bytes: index.toBuffer(), params: { ...params, nprobe } };
}

export interface AnnIndex {
  readonly count: number;
  readonly params: AnnParams;
  /** The k best rows by inner product, best first (approximate for IVF); `exact` scans every cell. */
  search(query: Float32Array, k: number, options?: { exact?: boolean }): Array<{ position: number; score: number }>;
  /** The vector stored at a position (IVF-Flat keeps them exactly), undefined outside the index. */
  vector(position: number): Float32Array | undefined;
}

/** Loads an index written by buildAnnIndex; refuses one whose size or dimensions disagree with its manifest. */
export function loadAnnIndex(bytes: Buffer, expected: { dims: number; count: number; params: AnnParams }): AnnIndex {
  const index: NativeIndex = faiss().Index.fromBuffer(bytes);
  if (index.getDimension() !== expected.dims) {
    throw new EmbeddingMismatchError(`library index has ${index.getDimension()} dimensions, expected ${expected.dims}`);
  }
  if (index.ntotal() !== expected.count) {
    throw new Error(`library index holds ${index.ntotal()} vectors, its manifest says ${expected.count}`);
  }
  const { params } = expected;
  if (params.kind === "ivf") index.setSearchParameter("nprobe", params.nprobe);
  return {
    count: expected.count,
    params,
    search(query, k, options) {
      if (query.length !== expected.dims) {
        throw new EmbeddingMismatchError(`query has ${query.length} dimensions, library has ${expected.dims}`);
      }
      const limit = Math.min(Math.floor(k), expected.count);
      if (limit <= 0) return [];
      const exact = options?.exact === true && params.kind === "ivf";
      if (exact) index.setSearchParameter("nprobe", params.nlist);
      try {
        const { labels, distances } = index.searchFloat32(query, limit);
        const hits: Array<{ position: number; score: number }> = [];
        labels.forEach((label, i) => {
          if (label >= 0) hits.push({ position: label, score: distances[i] ?? 0 });
        });
        return hits;
      } finally {
        if (exact) index.setSearchParameter("nprobe", params.nprobe);
      }
    },
    vector(position) {
      if (!Number.isInteger(position) || position < 0 || position >= expected.count) return undefined;
      return index.reconstructFloat32(position);
    },
  };
}
