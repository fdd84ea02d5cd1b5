// Key phrases and sentences of study material, for the offline engine's mind maps and flashcards.
// Phrases are runs of content words (the local analyzer's notion of a content word) cut at stop
// words and punctuation, scored by how often they and their words recur; a phrase's label is
// always the exact surface text of its first occurrence, so every label word is in the material.
import { analyzeTerms } from "../embeddings/local.ts";

export interface KeyPhrase {
  /** Surface text of the first occurrence (2–5 words, original casing). */
  label: string;
  /** Stems joined by spaces: two phrases with the same key are the same phrase. */
  key: string;
  stems: string[];
  count: number;
  score: number;
  /** Order of first occurrence, for deterministic ties. */
  first: number;
}

export interface KeyPhraseOptions {
  /** Shortest and longest phrase in words (default 2 and 4). */
  minWords?: number;
  maxWords?: number;
  /** Phrase keys (or stems of keys) already used elsewhere. */
  exclude?: ReadonlySet<string>;
  limit?: number;
  /** The whole material, when the texts are a part of it: word frequencies come from here. */
  background?: readonly string[];
}

// Common verbs that turn a word pair into a clause ("stroma contains") rather than a concept.
const VERBS = new Set(
  (
    "contains contain takes take makes gives give shows show leaves reach reaches causes cause becomes become " +
    "lifts lift draws draw keeps keep tells tell warns warn admits admit appears appear supplies supply affects " +
    "affect lowers lower cools cool joins join writes written wrote says said means mean needs need helps help " +
    "allows allow produces produce provides provide requires require uses depends depend occurs occur happens " +
    "happen remains remain seems seem stays stay moves move carries carry brings bring drives drive absorbs absorb " +
    "hears hear raise raises run runs kill kills tap taps meets meet combine combines refills refill releases " +
    "release creates create reduces reduce increases increase turns turn grows grow falls fall rises rise"
  ).split(" "),
);

/** Looks like a noun phrase: no common verb, no -ing word first, no adverb at an end, no participle last. */
function nounish(words: string[]): boolean {
  const lower = words.map((word) => word.toLowerCase());
  const first = lower[0] ?? "";
  const last = lower[lower.length - 1] ?? "";
  if (lower.some((word) => VERBS.has(word))) return false;
  if (/ing$/.test(first) && first.length > 5) return false;
  if (/ly$/.test(first) || /ly$/.test(last)) return false;
  return !(/ed$/.test(last) && last.length > 4);
}

// Content words that make weak labels on their own ("for example", "several types").
const WEAK_WORDS = new Set(
  (
    "example examples called known include includes including like often usually several various different new " +
    "first second third another every within without across toward towards around however therefore thus etc per " +
    "via less based following section chapter page figure table see e g ie eg since though although yet still even " +
    "ever never always almost nearly quite rather whether unless upon onto among beyond instead especially mainly " +
    "already except enough perhaps likely unlikely"
  ).split(" "),
);

const WORD = /[\p{L}\p{N}]+/gu;

// Words that follow a verb rather than a noun ("Water spends very…", "lifts the…"): a run ending
// just before one of them ends in a verb, so its last word is dropped from phrases.
const AFTER_VERB = new Set("the a an very its their his her our these those this".split(" "));

interface Token {
  surface: string;
  stem: string | undefined;
  start: number;
  end: number;
}

/** The stem of a word when it is a content word worth putting in a label, else undefined. */
export function contentStem(word: string): string | undefined {
  const cached = stemCache.get(word);
  if (cached !== undefined) return cached || undefined;
  let stem: string | undefined;
  if (word.length >= 2 && !/^\p{N}+$/u.test(word) && !WEAK_WORDS.has(word.toLowerCase())) {
    const stems = analyzeTerms(word);
    stem = stems.length === 1 ? stems[0] : undefined;
  }
  // Bounded: a process serving many documents must not keep every word it ever saw.
  if (stemCache.size > 50_000) stemCache.clear();
  stemCache.set(word, stem ?? "");
  return stem;
}

const stemCache = new Map<string, string>();

/** Text without Markdown heading lines and emphasis markers, for phrase and sentence extraction. */
export function bodyText(text: string): string {
  return text
    .split("\n")
    .filter((line) => !/^\s{0,3}#{1,6}\s/.test(line))
    .join("\n")
    .replace(/[*_`]+/g, " ");
}

/** Sentences of a text (heading lines dropped), trimmed, in order. */
export function sentencesOf(text: string): string[] {
  return bodyText(text)
    .split(/\n\s*\n|\n(?=\s*(?:[-*+•]|\d+[.)])\s)|(?<=[.!?])\s+(?=["“(]?[\p{Lu}\p{N}])/u)
    .map((sentence) =>
      sentence
        .replace(/^\s*(?:[-+•]|\d+[.)])\s+/, "")
        .replace(/\s+/g, " ")
        .trim(),
    )
    .filter((sentence) => sentence.length > 0);
}

function tokens(text: string): Token[] {
  return [...text.matchAll(WORD)].map((match) => ({
    surface: match[0],
    stem: contentStem(match[0]),
    start: match.index,
    end: match.index + match[0].length,
  }));
}

/** Runs of content words not separated by punctuation (only a single space may join them). */
function contentRuns(text: string): Token[][] {
  const runs: Token[][] = [];
  let run: Token[] = [];
  let previous: Token | undefined;
  for (const token of tokens(text)) {
    const gap = previous ? text.slice(previous.end, token.start) : " ";
    if (token.stem === undefined || gap !== " ") {
      const last = run[run.length - 1];
      const lower = token.surface.toLowerCase();
      if (last && gap === " " && (AFTER_VERB.has(lower) || (/ly$/.test(lower) && lower.length > 4))) run.pop();
      if (run.length > 0) runs.push(run);
      run = [];
    }
    if (token.stem !== undefined) run.push(token);
    previous = token;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

// A mind map asks for phrases of many parts of one material: its word counts are computed once.
const termCountCache = new WeakMap<readonly string[], Map<string, number>>();

function countTerms(texts: readonly string[]): Map<string, number> {
  const cached = termCountCache.get(texts);
  if (cached) return cached;
  const counts = new Map<string, number>();
  for (const raw of texts) {
    for (const run of contentRuns(bodyText(raw))) {
      for (const token of run) if (token.stem) counts.set(token.stem, (counts.get(token.stem) ?? 0) + 1);
    }
  }
  termCountCache.set(texts, counts);
  return counts;
}

/** Key phrases of the texts, best first; deterministic for the same input. */
export function keyPhrases(texts: readonly string[], options: KeyPhraseOptions = {}): KeyPhrase[] {
  const minWords = options.minWords ?? 2;
  const maxWords = options.maxWords ?? 4;
  const termCounts = countTerms(options.background ?? texts);
  const phrases = new Map<string, { label: string; stems: string[]; count: number; first: number }>();
  let order = 0;
  for (const raw of texts) {
    const text = bodyText(raw);
    for (const run of contentRuns(text)) {
      for (let n = minWords; n <= maxWords; n++) {
        for (let i = 0; i + n <= run.length; i++) {
          const words = run.slice(i, i + n);
          const stems = words.map((word) => word.stem ?? "");
          // A phrase repeating one word ("water water") is noise from lists.
          if (new Set(stems).size !== stems.length) continue;
          if (!nounish(words.map((word) => word.surface))) continue;
          const key = stems.join(" ");
          const known = phrases.get(key);
          if (known) known.count++;
          else {
            const label = text.slice(words[0]?.start ?? 0, words[words.length - 1]?.end ?? 0);
            phrases.set(key, { label, stems, count: 1, first: order++ });
          }
        }
      }
    }
  }
  const exclude = [...(options.exclude ?? [])].map((key) => ` ${key} `);
  const scored: KeyPhrase[] = [...phrases.entries()]
    // A phrase inside (or around) one used elsewhere would repeat it.
    .filter(([key]) => !exclude.some((used) => used.includes(` ${key} `) || ` ${key} `.includes(used)))
    .map(([key, phrase]) => {
      const counts = phrase.stems.map((stem) => termCounts.get(stem) ?? 1);
      const mean = counts.reduce((sum, count) => sum + count, 0) / counts.length;
      // Repeated phrases whose every word recurs in the material first (one rare word makes a weak
      // label); a slight preference for two- and three-word labels.
      const lengthFactor = phrase.stems.length <= 3 ? 1 : 0.85;
      return { key, ...phrase, score: (phrase.count + 0.5) * Math.sqrt(Math.min(...counts) * mean) * lengthFactor };
    })
    .sort((a, b) => b.score - a.score || a.first - b.first);
  const chosen: KeyPhrase[] = [];
  const usedStems = new Set<string>();
  for (const phrase of scored) {
    // Skip phrases that mostly repeat words of chosen ones ("Gulf Stream" vs "Gulf Stream carries").
    const overlap = phrase.stems.filter((stem) => usedStems.has(stem)).length;
    if (overlap * 2 >= phrase.stems.length) continue;
    if (phrase.label.split(/\s+/).length > 5) continue;
    chosen.push(phrase);
    for (const stem of phrase.stems) usedStems.add(stem);
    if (options.limit !== undefined && chosen.length >= options.limit) break;
  }
  return chosen;
}

/** True when the text contains every stem of the phrase in one content run. */
export function mentions(text: string, phrase: Pick<KeyPhrase, "key">): boolean {
  return contentRuns(bodyText(text)).some((run) => {
    const stems = run.map((token) => token.stem ?? "").join(" ");
    return ` ${stems} `.includes(` ${phrase.key} `);
  });
}
