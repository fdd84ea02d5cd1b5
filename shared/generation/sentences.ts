// Sentences of the student's material for the offline study tools. Every sentence is an exact
// substring of its section's text, so a summary line or a quiz explanation can be cited verbatim.
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
