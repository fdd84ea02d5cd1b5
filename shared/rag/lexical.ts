// BM25 over the chunks of loaded shards. Lexical scores complement the embedder: exact course
// terms ("oxidative phosphorylation", a date, a name) match even when the vectors blur them.
// Statistics (document frequencies, average length) are pooled over the shards searched, so a
// scope of many small sources scores like one index.
import { analyzeTerms } from "../embeddings/local.ts";

export interface LexicalIndex {
  /** term → [chunk index, term frequency] pairs. */
  postings: Map<string, Array<[number, number]>>;
  lengths: Uint32Array;
  totalLength: number;
}

/** Builds the inverted index of one shard's chunks. */
export function buildLexicalIndex(texts: string[]): LexicalIndex {
  const postings = new Map<string, Array<[number, number]>>();
  const lengths = new Uint32Array(texts.length);
  let totalLength = 0;
  texts.forEach((text, index) => {
    const terms = analyzeTerms(text);
    lengths[index] = terms.length;
    totalLength += terms.length;
    const counts = new Map<string, number>();
    for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
    for (const [term, count] of counts) {
      const list = postings.get(term);
      if (list) list.push([index, count]);
      else postings.set(term, [[index, count]]);
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
    for (const term of terms) frequency.set(term, (frequency.get(term) ?? 0) + (index.postings.get(term)?.length ?? 0));
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
      for (const [chunk, tf] of index.postings.get(term) ?? []) {
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
