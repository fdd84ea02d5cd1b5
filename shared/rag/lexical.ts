// BM25 over the chunks of loaded shards. Lexical scores complement the embedder: exact course
// terms ("oxidative phosphorylation", a date, a name) match even when the vectors blur them.
// Statistics (document frequencies, average length) are pooled over the shards searched, so a
// scope of many small sources scores like one index.
import { analyzeTerms } from "../embeddings/local.ts";

/** Postings of one term: chunk positions and term frequencies, as typed arrays (no per-entry objects). */
export interface Postings {
  chunks: Int32Array;
  tfs: Uint16Array;
}

export interface LexicalIndex {
  postings: Map<string, Postings>;
  lengths: Uint32Array;
  totalLength: number;
}

/** Builds the inverted index of one shard's chunks. */
export function buildLexicalIndex(texts: string[]): LexicalIndex {
  const lengths = new Uint32Array(texts.length);
  let totalLength = 0;
  // Pass 1: term counts per chunk; pass 2: typed postings sized exactly.
  const perChunk: Array<Map<string, number>> = [];
  const documentFrequency = new Map<string, number>();
  texts.forEach((text, index) => {
    const terms = analyzeTerms(text);
    lengths[index] = terms.length;
    totalLength += terms.length;
    const counts = new Map<string, number>();
    for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
    for (const term of counts.keys()) documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
    perChunk.push(counts);
  });
  const postings = new Map<string, Postings>();
  const filled = new Map<string, number>();
  for (const [term, df] of documentFrequency) {
    postings.set(term, { chunks: new Int32Array(df), tfs: new Uint16Array(df) });
    filled.set(term, 0);
  }
  perChunk.forEach((counts, index) => {
    for (const [term, count] of counts) {
      const list = postings.get(term);
      const at = filled.get(term) ?? 0;
      if (!list) continue;
      list.chunks[at] = index;
      list.tfs[at] = Math.min(count, 65_535);
      filled.set(term, at + 1);
    }
  });
  return { postings, lengths, totalLength };
}

export interface LexicalHit<K> {
  key: K;
  index: number;
  score: number;
}

const K1 = 1.2;
const B = 0.75;

/** The k best chunks by BM25 across several indexes, best first. */
export function searchLexical<K>(
  indexes: Array<{ key: K; index: LexicalIndex }>,
  query: string,
  k: number,
): LexicalHit<K>[] {
  const terms = [...new Set(analyzeTerms(query))];
  if (terms.length === 0 || indexes.length === 0) return [];
  let documents = 0;
  let totalLength = 0;
  const frequency = new Map<string, number>();
  for (const { index } of indexes) {
    documents += index.lengths.length;
    totalLength += index.totalLength;
    for (const term of terms)
      frequency.set(term, (frequency.get(term) ?? 0) + (index.postings.get(term)?.chunks.length ?? 0));
  }
  if (documents === 0) return [];
  const averageLength = totalLength / documents || 1;
  const idf = new Map<string, number>();
  for (const term of terms) {
    const df = frequency.get(term) ?? 0;
    if (df > 0) idf.set(term, Math.log(1 + (documents - df + 0.5) / (df + 0.5)));
  }
  const hits: LexicalHit<K>[] = [];
  for (const { key, index } of indexes) {
    const scores = new Map<number, number>();
    for (const [term, weight] of idf) {
      const list = index.postings.get(term);
      if (!list) continue;
      for (let i = 0; i < list.chunks.length; i++) {
        const chunk = list.chunks[i] ?? 0;
        const tf = list.tfs[i] ?? 0;
        const length = index.lengths[chunk] ?? 0;
        const part = (weight * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * length) / averageLength));
        scores.set(chunk, (scores.get(chunk) ?? 0) + part);
      }
    }
    for (const [chunk, score] of scores) hits.push({ key, index: chunk, score });
  }
  hits.sort((a, b) => b.score - a.score);
  return hits.slice(0, k);
}

/** Postings by term: a Map, or a view decoding a stored index's postings on demand. */
export interface PostingsLookup {
  get(term: string): Postings | undefined;
}

/** The lexical indexes of many shards as one: postings hold positions in the merged order. */
export interface MergedLexicalIndex {
  postings: PostingsLookup;
  lengths: Uint32Array;
  averageLength: number;
  /** Start of each part in the merged order. */
  offsets: number[];
}

/** Merges per-shard indexes (in the same order as the merged vector index) for one-pass scoring. */
export function mergeLexicalIndexes(indexes: LexicalIndex[]): MergedLexicalIndex {
  const offsets: number[] = [];
  let total = 0;
  let totalLength = 0;
  const sizes = new Map<string, number>();
  for (const index of indexes) {
    offsets.push(total);
    total += index.lengths.length;
    totalLength += index.totalLength;
    for (const [term, list] of index.postings) sizes.set(term, (sizes.get(term) ?? 0) + list.chunks.length);
  }
  const lengths = new Uint32Array(total);
  const postings = new Map<string, Postings>();
  for (const [term, size] of sizes) postings.set(term, { chunks: new Int32Array(size), tfs: new Uint16Array(size) });
  const filled = new Map<string, number>();
  indexes.forEach((index, part) => {
    const offset = offsets[part] ?? 0;
    lengths.set(index.lengths, offset);
    for (const [term, list] of index.postings) {
      const target = postings.get(term);
      if (!target) continue;
      const at = filled.get(term) ?? 0;
      for (let i = 0; i < list.chunks.length; i++) target.chunks[at + i] = (list.chunks[i] ?? 0) + offset;
      target.tfs.set(list.tfs, at);
      filled.set(term, at + list.chunks.length);
    }
  });
  return { postings, lengths, averageLength: total > 0 ? totalLength / total || 1 : 1, offsets };
}

/**
 * BM25 over a merged index: scores accumulate in one typed array, then a single pass keeps the top k.
 * With `accept`, only positions whose byte is non-zero can be returned (a scope within a library).
 */
export function searchMergedLexical(
  index: MergedLexicalIndex,
  query: string,
  k: number,
  accept?: Uint8Array,
): Array<{ position: number; score: number }> {
  const documents = index.lengths.length;
  const terms = [...new Set(analyzeTerms(query))];
  if (terms.length === 0 || documents === 0) return [];
  const scores = new Float32Array(documents);
  const touched: number[] = [];
  for (const term of terms) {
    const list = index.postings.get(term);
    if (!list) continue;
    const df = list.chunks.length;
    const idf = Math.log(1 + (documents - df + 0.5) / (df + 0.5));
    for (let i = 0; i < df; i++) {
      const chunk = list.chunks[i] ?? 0;
      const tf = list.tfs[i] ?? 0;
      const length = index.lengths[chunk] ?? 0;
      if (scores[chunk] === 0) touched.push(chunk);
      scores[chunk] =
        (scores[chunk] ?? 0) + (idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * length) / index.averageLength));
    }
  }
  // Keep the k best without sorting every touched chunk.
  const best: Array<{ position: number; score: number }> = [];
  let floor = -1;
  for (const position of touched) {
    if (accept && accept[position] === 0) continue;
    const score = scores[position] ?? 0;
    if (best.length >= k && score <= floor) continue;
    best.push({ position, score });
    if (best.length > k * 4) {
      best.sort((a, b) => b.score - a.score);
      best.length = k;
      floor = best[k - 1]?.score ?? -1;
    }
  }
  best.sort((a, b) => b.score - a.score);
  return best.slice(0, k);
}
