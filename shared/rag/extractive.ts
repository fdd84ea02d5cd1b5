// The offline engine's answer to a question about the student's material: the sentences of the
// retrieved passages that best match the question, quoted verbatim with their citation numbers.
// Deterministic, fast, and honest that it is extractive.
import type { RetrievedPassage } from "./retrieve.ts";

const STOP_WORDS = new Set(
  "a an and are as at be by can do does for from how i in is it its of on or that the this to was what when where which who why with you your".split(
    " ",
  ),
);

function terms(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((word) => word.length > 1 && !STOP_WORDS.has(word));
}

function sentences(text: string): string[] {
  return (text.match(/[^.!?\n]+[.!?]?/g) ?? []).map((sentence) => sentence.trim()).filter((s) => s.length > 20);
}

/** Builds an extractive answer with `[n]` markers pointing at `passages` (1-based). */
export function extractiveAnswer(question: string, passages: RetrievedPassage[], maxSentences = 3): string {
  if (passages.length === 0) {
    return "I couldn't find anything about this in your uploaded material. Try rephrasing the question, or upload the notes that cover it.";
  }
  const wanted = new Set(terms(question));
  const scored: Array<{ sentence: string; passage: number; score: number; order: number }> = [];
  passages.forEach((passage, index) => {
    sentences(passage.quote).forEach((sentence, order) => {
      const words = terms(sentence);
      const overlap = words.filter((word) => wanted.has(word)).length;
      // Overlap dominates; the passage's retrieval score breaks ties between equally matching sentences.
      const score = overlap / Math.sqrt(words.length + 1) + passage.score * 0.5;
      scored.push({ sentence, passage: index + 1, score, order });
    });
  });
  scored.sort((a, b) => b.score - a.score || a.passage - b.passage || a.order - b.order);
  const picked = scored.slice(0, maxSentences);
  if (picked.length === 0) {
    const first = passages[0];
    return `From your material [1]:\n\n> ${first?.quote.slice(0, 400) ?? ""}`;
  }
  const lines = picked.map((item) => `- ${item.sentence} [${item.passage}]`);
  return [
    "Here is what your material says (quoted directly; no language model is configured, so this is an extract, not a written explanation):",
    "",
    ...lines,
  ].join("\n");
}
