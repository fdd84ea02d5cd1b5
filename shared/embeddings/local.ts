// Local embedder that needs no model: feature hashing of stemmed word unigrams, word bigrams and
// character trigrams into 384 signed buckets. It is deterministic and fast, and good enough to
// match a paraphrased question to the passage that shares its key terms; it has no notion of
// synonyms, which is what the OpenAI-compatible adapter (a real model) is for.
//
// 384 buckets hold a chunk's ~1,000 features only with many collisions, so a single shared rare
// term barely rises above the collision noise (on the study corpus this embedder alone finds the
// passage in the top 5 for 2 questions in 3, BM25 for 9 in 10). Hybrid retrieval therefore counts
// its ranking at half the weight of BM25's.
import { type Embedder, normalizeInPlace } from "./embeddings.ts";

const DIMENSIONS = 384;
const MODEL = "collabry-local-hash-v1";

// Weights tuned on the recall test set: whole words dominate, trigrams catch inflections the
// stemmer misses, bigrams reward shared phrases.
const UNIGRAM_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.5;
const TRIGRAM_WEIGHT = 0.2;

/** Weight of this embedder's ranking in hybrid fusion with BM25 (bench/rag/quality.ts measures it). */
const FUSION_WEIGHT = 0.5;

const STOP_WORDS = new Set(
  (
    "a about above after again against all am an and any are as at be because been before being below between both " +
    "but by can could did do does doing down during each few for from further had has have having he her here hers " +
    "him his how i if in into is it its itself just me more most my no nor not of off on once only or other our ours " +
    "out over own same she should so some such than that the their theirs them then there these they this those " +
    "through to too under until up very was we were what when where which while who whom why will with would you " +
    "your yours also may might must shall us get got make made many much one two use used using way ways kind"
  ).split(" "),
);

const SUFFIXES = [
  "ational",
  "ization",
  "fulness",
  "iveness",
  "ousness",
  "ations",
  "ation",
  "ities",
  "ments",
  "ating",
  "ators",
  "ness",
  "ment",
  "ings",
  "ates",
  "ated",
  "ator",
  "ity",
  "ing",
  "ies",
  "ate",
  "ous",
  "ive",
  "ize",
  "ise",
  "ers",
  "ed",
  "es",
  "er",
  "ly",
  "al",
  "s",
  "e",
].sort((a, b) => b.length - a.length);

/** A deliberately small suffix-stripping stemmer: "evaporates", "evaporation" → "evapor". */
export function stem(word: string): string {
  if (word.length <= 3 || /^\d+$/.test(word)) return word;
  let stemmed = word;
  for (const suffix of SUFFIXES) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) {
      stemmed = word.slice(0, -suffix.length);
      break;
    }
  }
  // "running" → "runn" → "run", so that it meets "run".
  if (/([^aeiouls])\1$/.test(stemmed)) stemmed = stemmed.slice(0, -1);
  return stemmed;
}

/** Stemmed content words of a text (the analyzer shared by the local embedder and lexical search). */
export function analyzeTerms(text: string): string[] {
  const words = text
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .match(/[\p{L}\p{N}]+/gu);
  return (words ?? []).filter((word) => !STOP_WORDS.has(word)).map(stem);
}

/** FNV-1a over UTF-16 code units, with a final avalanche so that nearby strings spread out. */
function hash(feature: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < feature.length; i++) {
    h ^= feature.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function embedOne(text: string): Float32Array {
  const counts = new Map<string, { count: number; weight: number }>();
  const add = (feature: string, weight: number) => {
    const entry = counts.get(feature);
    if (entry === undefined) counts.set(feature, { count: 1, weight });
    else entry.count++;
  };
  const stems = analyzeTerms(text);
  stems.forEach((word, i) => {
    add(`w:${word}`, UNIGRAM_WEIGHT);
    const next = stems[i + 1];
    if (next !== undefined) add(`b:${word} ${next}`, BIGRAM_WEIGHT);
    const padded = `^${word}$`;
    for (let c = 0; c + 3 <= padded.length; c++) add(`c:${padded.slice(c, c + 3)}`, TRIGRAM_WEIGHT);
  });
  const vector = new Float32Array(DIMENSIONS);
  for (const [feature, { count, weight }] of counts) {
    const h = hash(feature);
    // Signed hashing: collisions cancel out on average instead of adding up.
    const sign = h & 0x80000000 ? -1 : 1;
    // Sublinear tf: a term repeated ten times is not ten times as relevant.
    vector[h % DIMENSIONS] = (vector[h % DIMENSIONS] ?? 0) + sign * weight * (1 + Math.log(count));
  }
  return normalizeInPlace(vector);
}

/** The embedded default embedder: deterministic, offline, 384 dimensions. */
export function createLocalEmbedder(): Embedder {
  return {
    model: MODEL,
    dimensions: DIMENSIONS,
    fusionWeight: FUSION_WEIGHT,
    embed: async (texts) => texts.map((text) => embedOne(text)),
  };
}
