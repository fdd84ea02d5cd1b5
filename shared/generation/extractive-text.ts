// Extractive building blocks of the offline study artifacts: sentences of the material grouped
// under their headings, ranked by how central they are, and the numbers and years they state.
// Everything is verbatim from the material and deterministic (ties break by position).
import { analyzeTerms } from "../embeddings/local.ts";
import type { Material, MaterialSection } from "./material.ts";

export interface MaterialSentence {
  text: string;
  section: MaterialSection;
  /** Position in the material, for stable ordering. */
  position: number;
}

export interface SentenceGroup {
  /** The nearest heading of the group's sections (empty when the material has none). */
  heading: string;
  sentences: MaterialSentence[];
}

const MIN_SENTENCE_CHARS = 25;
const MAX_SENTENCE_CHARS = 400;

/** Sentences of a text with Markdown heading, list and table markers dropped. */
export function splitSentences(text: string): string[] {
  const prose = text
    .split("\n")
    .filter((line) => !/^\s*#{1,6}\s/.test(line) && !/^\s*\|/.test(line) && !/^\s*Source: https?:\/\//.test(line))
    .map((line) => line.replace(/^\s*(?:[-*+]|\d+\.)\s+/, "").trim())
    .join("\n");
  return prose
    .split(/(?<=[.!?])["”’)]?\s+(?=["“(]?[\p{Lu}\d])|\n{2,}/u)
    .map((sentence) => sentence.replace(/\s+/g, " ").trim())
    .filter((sentence) => sentence.length >= MIN_SENTENCE_CHARS && sentence.length <= MAX_SENTENCE_CHARS);
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
    for (const text of splitSentences(section.text)) {
      // Chunks overlap and may start mid-sentence: keep each sentence once, and only whole ones.
      if (!/^["“(]?[\p{Lu}\d]/u.test(text) || seen.has(text)) continue;
      seen.add(text);
      group.sentences.push({ text, section, position: position++ });
    }
  }
  return groups.filter((group) => group.sentences.length > 0);
}

/** Scores sentences by their terms' frequency in the whole material (centrality), with a bonus for the topic's terms. */
export function rankSentences(sentences: MaterialSentence[], topic = ""): MaterialSentence[] {
  const frequency = new Map<string, number>();
  for (const sentence of sentences) {
    for (const term of new Set(analyzeTerms(sentence.text))) frequency.set(term, (frequency.get(term) ?? 0) + 1);
  }
  const focus = new Set(analyzeTerms(topic));
  const score = (sentence: MaterialSentence) => {
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
export function keySentences(sentences: MaterialSentence[], count: number, topic = ""): MaterialSentence[] {
  return rankSentences(sentences, topic)
    .slice(0, count)
    .sort((a, b) => a.position - b.position);
}

export interface NumberFact {
  /** The number with its unit, verbatim ("97 percent", "1.5 million", "9.8 m/s"). */
  value: string;
  /** Words of the sentence next to the number. */
  label: string;
  sentence: MaterialSentence;
}

const UNITS =
  "%|percent|per cent|million|billion|thousand|trillion|°C|°F|km\\/h|km|kilometres|kilometers|metres|meters|miles|kg|tonnes|m\\/s|years|days|hours|minutes|seconds|degrees|times|people|species|countries";
const NUMBER = new RegExp(
  `(?<![\\p{L}\\d.,/])(\\d{1,3}(?:,\\d{3})+|\\d+(?:\\.\\d+)?)(?:\\s?(${UNITS}))?(?![\\p{L}\\d/])`,
  "gu",
);
const YEAR = /^(1[0-9]{3}|20[0-9]{2})$/;

function words(text: string): string[] {
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
    words(clauseAfter.split(",")[0] ?? "").slice(0, 6),
    words(clauseBefore.split(",").at(-1) ?? "").slice(-6),
    words(clauseBefore).slice(-6),
    words(clauseAfter).slice(0, 6),
  ];
  const label = candidates.find(
    (candidate) =>
      candidate.filter((word) => /\p{L}{2,}/u.test(word)).length >= 2 &&
      !WEAK_START.has(candidate[0]?.toLowerCase() ?? ""),
  );
  return (label ?? []).join(" ").replace(/^[,\s]+|[,\s]+$/g, "");
}

/** Numbers the material states (with their units), years excluded; each with a label from its sentence. */
export function numberFacts(sentences: MaterialSentence[]): NumberFact[] {
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
  sentence: MaterialSentence;
}

/** Years (1000–2099) the material mentions, first mention of each, in chronological order. */
export function yearFacts(sentences: MaterialSentence[]): YearFact[] {
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
export function keyPhrase(sentences: MaterialSentence[], exclude: Set<string>): string | undefined {
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
