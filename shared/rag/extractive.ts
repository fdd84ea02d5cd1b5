// The offline engine's answer to a question about the student's material: the sentences of the
// retrieved passages that best match the question, quoted verbatim with their citation numbers.
// Deterministic, fast, and honest that it is extractive.
import { analyzeTerms } from "../embeddings/local.ts";
import type { RetrievedPassage } from "./retrieve.ts";

function sentences(text: string): string[] {
  // Heading lines are labels, not statements: quote sentences only.
  const body = text
    .split("\n")
    .filter((line) => !/^\s*#{1,6}\s/.test(line))
    .join("\n");
  return (body.match(/[^.!?\n]+[.!?]?/g) ?? []).map((sentence) => sentence.trim()).filter((s) => s.length > 20);
}

/** Builds an extractive answer with `[n]` markers pointing at `passages` (1-based). */
export function extractiveAnswer(question: string, passages: RetrievedPassage[], maxSentences = 3): string {
  if (passages.length === 0) {
    return "I couldn't find anything about this in your uploaded material. Try rephrasing the question, or upload the notes that cover it.";
  }
  const wanted = new Set(analyzeTerms(question));
  const candidates: Array<{ sentence: string; passage: number; order: number; terms: Set<string> }> = [];
  passages.forEach((passage, index) => {
    sentences(passage.quote).forEach((sentence, order) => {
      candidates.push({ sentence, passage: index + 1, order, terms: new Set(analyzeTerms(sentence)) });
    });
  });
  // Rare question terms say more than common ones: weight matches by inverse sentence frequency.
  const frequency = new Map<string, number>();
  for (const candidate of candidates)
    for (const term of candidate.terms) frequency.set(term, (frequency.get(term) ?? 0) + 1);
  const scored = candidates.map((candidate) => {
    let match = 0;
    for (const term of wanted) {
      if (candidate.terms.has(term)) match += Math.log(1 + candidates.length / (frequency.get(term) ?? 1));
    }
    // Retrieval order breaks ties and favours the best passages; very long sentences pay a little.
    const score = match / (1 + candidate.terms.size / 40) + 0.5 / candidate.passage;
    return { ...candidate, score };
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
