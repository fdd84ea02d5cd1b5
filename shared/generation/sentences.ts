// Sentences, key sentences, stated numbers and key phrases of the student's material, for the
// offline study tools. Everything is verbatim from the material and deterministic (ties break by
// position), so a summary line, a quiz explanation, a report bullet or a mind-map label can always
// be traced back to the text it came from.
//
// Three sentence views serve different tools and are kept apart on purpose:
// - splitSentences / materialSentences: exact substrings of a section (quotes for citations);
// - proseSentences / sentenceGroups: whitespace-collapsed sentences grouped under their headings;
// - sentencesOf: every sentence and list item of a text, for phrase-bearing flashcards and maps.
import { analyzeTerms } from "../embeddings/local.ts";
import type { Material, MaterialSection } from "./material.ts";

export interface MaterialSentence {
  text: string;
  /** Index of the section in `material.sections`. */
  section: number;
  /** Position of the sentence in the whole material (document order). */
  order: number;
  /** Stemmed content words (`analyzeTerms`). */
  terms: string[];
}

const HEADING_LINE = /^\s*#{1,6}\s/;
const LIST_MARKER = /^\s*(?:[-*+•]|\d+[.)])\s+/;
// A sentence ends at . ! ? (plus closing quotes/brackets) followed by whitespace and a capital,
// digit or opening quote, so "e.g. the" and "3.5 m" stay inside one sentence.
const SENTENCE_BREAK = /(?<=[.!?…]["'”’)\]]?)\s+(?=["'“(]?[\p{Lu}\p{N}])/u;
const MIN_SENTENCE_CHARS = 20;
const MIN_SENTENCE_WORDS = 4;

/** Splits a section's text into sentences, each an exact substring of it (headings skipped). */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  for (const rawLine of text.split("\n")) {
    if (HEADING_LINE.test(rawLine)) continue;
    const line = rawLine.replace(LIST_MARKER, "");
    for (const part of line.split(SENTENCE_BREAK)) {
      const sentence = part.trim();
      if (sentence.length < MIN_SENTENCE_CHARS) continue;
      if (sentence.split(/\s+/).length < MIN_SENTENCE_WORDS) continue;
      // Chunks overlap, so a chunk may begin mid-sentence; that fragment is whole in the previous chunk.
      if (!/^["'“(]?[\p{Lu}\p{N}]/u.test(sentence)) continue;
      out.push(sentence);
    }
  }
  return out;
}

/** The material's sentences in document order, each once (overlapping chunks repeat some). */
export function materialSentences(material: Material): MaterialSentence[] {
  const seen = new Set<string>();
  const out: MaterialSentence[] = [];
  material.sections.forEach((section, index) => {
    for (const text of splitSentences(section.text)) {
      const key = text.replace(/\s+/g, " ").toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ text, section: index, order: out.length, terms: analyzeTerms(text) });
    }
  });
  return out;
}

/** Characters of the material (the contract's `original_length`/`source_length`), chunk overlaps counted once. */
export function materialLength(material: Material): number {
  let total = 0;
  material.sections.forEach((section, index) => {
    const previous = material.sections[index - 1];
    let overlap = 0;
    if (previous && previous.source_id === section.source_id && previous.page === section.page) {
      // Chunks repeat at most a few hundred characters of their predecessor.
      for (let k = Math.min(400, section.text.length, previous.text.length); k > 0; k--) {
        if (previous.text.endsWith(section.text.slice(0, k))) {
          overlap = k;
          break;
        }
      }
    }
    total += section.text.length - overlap;
  });
  return total;
}

/** The sentence of a section sharing most content words with `hint` (a verbatim quote for a citation). */
export function bestSentenceFor(section: MaterialSection, hint: string): string | undefined {
  const wanted = new Set(analyzeTerms(hint));
  let best: { text: string; score: number } | undefined;
  for (const text of splitSentences(section.text)) {
    const score = analyzeTerms(text).filter((term) => wanted.has(term)).length;
    if (!best || score > best.score) best = { text, score };
  }
  return best?.text;
}

/** Number of words of a text. */
export function wordCount(text: string): number {
  const trimmed = text.trim();
  return trimmed === "" ? 0 : trimmed.split(/\s+/).length;
}

// Sentences grouped under their headings, ranked by how central they are, and the numbers and
// years they state (reports and infographics).

export interface GroupedSentence {
  text: string;
  section: MaterialSection;
  /** Position in the material, for stable ordering. */
  position: number;
}

export interface SentenceGroup {
  /** The nearest heading of the group's sections (empty when the material has none). */
  heading: string;
  sentences: GroupedSentence[];
}

const PROSE_MIN_CHARS = 25;
const PROSE_MAX_CHARS = 400;

/** Sentences of a text with Markdown heading, list and table markers dropped, whitespace collapsed. */
export function proseSentences(text: string): string[] {
  const prose = text
    .split("\n")
    .filter((line) => !/^\s*#{1,6}\s/.test(line) && !/^\s*\|/.test(line) && !/^\s*Source: https?:\/\//.test(line))
    .map((line) => line.replace(/^\s*(?:[-*+]|\d+\.)\s+/, "").trim())
    .join("\n");
  return prose
    .split(/(?<=[.!?])["”’)]?\s+(?=["“(]?[\p{Lu}\d])|\n{2,}/u)
    .map((sentence) => sentence.replace(/\s+/g, " ").trim())
    .filter((sentence) => sentence.length >= PROSE_MIN_CHARS && sentence.length <= PROSE_MAX_CHARS);
}

/** The material's sentences grouped by heading, in material order; consecutive sections under one heading share a group. */
export function sentenceGroups(material: Material): SentenceGroup[] {
  const groups: SentenceGroup[] = [];
  let position = 0;
  const seen = new Set<string>();
  for (const section of material.sections) {
    const heading = section.heading_path.at(-1)?.trim() ?? "";
    let group = groups.at(-1);
    if (!group || group.heading !== heading) {
      group = { heading, sentences: [] };
      groups.push(group);
    }
    for (const text of proseSentences(section.text)) {
      // Chunks overlap and may start mid-sentence: keep each sentence once, and only whole ones.
      if (!/^["“(]?[\p{Lu}\d]/u.test(text) || seen.has(text)) continue;
      seen.add(text);
      group.sentences.push({ text, section, position: position++ });
    }
  }
  return groups.filter((group) => group.sentences.length > 0);
}

/** Scores sentences by their terms' frequency in the whole material (centrality), with a bonus for the topic's terms. */
export function rankSentences(sentences: GroupedSentence[], topic = ""): GroupedSentence[] {
  const frequency = new Map<string, number>();
  for (const sentence of sentences) {
    for (const term of new Set(analyzeTerms(sentence.text))) frequency.set(term, (frequency.get(term) ?? 0) + 1);
  }
  const focus = new Set(analyzeTerms(topic));
  const score = (sentence: GroupedSentence) => {
    const terms = new Set(analyzeTerms(sentence.text));
    if (terms.size === 0) return 0;
    let total = 0;
    for (const term of terms) total += Math.log(1 + (frequency.get(term) ?? 0)) + (focus.has(term) ? 2 : 0);
    // Square-root length normalisation: long sentences are not better just for having more words.
    return total / Math.sqrt(terms.size);
  };
  return sentences
    .map((sentence) => ({ sentence, score: score(sentence) }))
    .sort((a, b) => b.score - a.score || a.sentence.position - b.sentence.position)
    .map(({ sentence }) => sentence);
}

/** The `count` best sentences, returned in material order. */
export function keySentences(sentences: GroupedSentence[], count: number, topic = ""): GroupedSentence[] {
  return rankSentences(sentences, topic)
    .slice(0, count)
    .sort((a, b) => a.position - b.position);
}

export interface NumberFact {
  /** The number with its unit, verbatim ("97 percent", "1.5 million", "9.8 m/s"). */
  value: string;
  /** Words of the sentence next to the number. */
  label: string;
  sentence: GroupedSentence;
}

const UNITS =
  "%|percent|per cent|million|billion|thousand|trillion|°C|°F|km\\/h|km|kilometres|kilometers|metres|meters|miles|kg|tonnes|m\\/s|years|days|hours|minutes|seconds|degrees|times|people|species|countries";
const NUMBER = new RegExp(
  `(?<![\\p{L}\\d.,/])(\\d{1,3}(?:,\\d{3})+|\\d+(?:\\.\\d+)?)(?:\\s?(${UNITS}))?(?![\\p{L}\\d/])`,
  "gu",
);
const YEAR = /^(1[0-9]{3}|20[0-9]{2})$/;

function wordsOf(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== "");
}

const WEAK_START = new Set(["or", "and", "is", "are", "was", "of"]);

function labelAround(sentence: string, start: number, end: number): string {
  const clauseAfter = sentence.slice(end).split(/[;:.!?()]/)[0] ?? "";
  const clauseBefore =
    sentence
      .slice(0, start)
      .split(/[;:.!?()]/)
      .at(-1) ?? "";
  // Nearest phrase first (up to a comma), then the whole clause, after the number before before it.
  const candidates = [
    wordsOf(clauseAfter.split(",")[0] ?? "").slice(0, 6),
    wordsOf(clauseBefore.split(",").at(-1) ?? "").slice(-6),
    wordsOf(clauseBefore).slice(-6),
    wordsOf(clauseAfter).slice(0, 6),
  ];
  const label = candidates.find(
    (candidate) =>
      candidate.filter((word) => /\p{L}{2,}/u.test(word)).length >= 2 &&
      !WEAK_START.has(candidate[0]?.toLowerCase() ?? ""),
  );
  return (label ?? []).join(" ").replace(/^[,\s]+|[,\s]+$/g, "");
}

/** Numbers the material states (with their units), years excluded; each with a label from its sentence. */
export function numberFacts(sentences: GroupedSentence[]): NumberFact[] {
  const facts: NumberFact[] = [];
  for (const sentence of sentences) {
    for (const match of sentence.text.matchAll(NUMBER)) {
      const [whole, digits = "", unit] = match;
      const value = Number(digits.replace(/,/g, ""));
      if (!unit && (YEAR.test(digits) || (Number.isInteger(value) && value < 10))) continue;
      const label = labelAround(sentence.text, match.index, match.index + whole.length);
      // Fractions and formulas make unreadable labels; one stat per value is enough.
      if (label === "" || label.includes("/") || facts.some((fact) => fact.value === whole.trim())) continue;
      facts.push({ value: whole.trim(), label: label.charAt(0).toUpperCase() + label.slice(1), sentence });
    }
  }
  return facts;
}

export interface YearFact {
  year: string;
  sentence: GroupedSentence;
}

/** Years (1000–2099) the material mentions, first mention of each, in chronological order. */
export function yearFacts(sentences: GroupedSentence[]): YearFact[] {
  const seen = new Map<string, YearFact>();
  for (const sentence of sentences) {
    for (const match of sentence.text.matchAll(/(?<![\p{L}\d.,])(1[0-9]{3}|20[0-9]{2})(?![\p{L}\d%])/gu)) {
      const year = match[1] ?? "";
      if (!seen.has(year)) seen.set(year, { year, sentence });
    }
  }
  return [...seen.values()].sort((a, b) => Number(a.year) - Number(b.year));
}

/** Every number written in a text, normalised ("1,200" → "1200"), to check that stated numbers come from the material. */
export function numbersIn(text: string): Set<string> {
  return new Set(
    (text.match(/\d[\d,]*(?:\.\d+)?/g) ?? []).map((number) => number.replace(/,/g, "").replace(/\.$/, "")),
  );
}

/** A frequent content word of the sentences, capitalised (a section title when the material has no headings). */
export function keyPhrase(sentences: GroupedSentence[], exclude: Set<string>): string | undefined {
  const counts = new Map<string, { count: number; first: number; word: string }>();
  for (const sentence of sentences) {
    for (const word of sentence.text.match(/\p{L}[\p{L}'-]{3,}/gu) ?? []) {
      const lower = word.toLowerCase();
      if (analyzeTerms(lower).length === 0 || exclude.has(lower)) continue;
      const entry = counts.get(lower);
      if (entry) entry.count++;
      else counts.set(lower, { count: 1, first: sentence.position, word: lower });
    }
  }
  const best = [...counts.values()].sort(
    (a, b) => b.count - a.count || a.first - b.first || a.word.localeCompare(b.word),
  )[0];
  return best ? best.word.charAt(0).toUpperCase() + best.word.slice(1) : undefined;
}

// Key phrases: runs of content words (the local analyzer's notion of a content word) cut at stop
// words and punctuation, scored by how often they and their words recur; a phrase's label is
// always the exact surface text of its first occurrence, so every label word is in the material.

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
