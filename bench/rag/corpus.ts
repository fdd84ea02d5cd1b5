// The study corpus (test/fixtures/corpus/*.md) and its question set, validated before any figure
// is computed: a question whose answer phrase is missing from its source would silently count as
// a retrieval miss and make recall look worse than it is.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

export const CORPUS_DIR = new URL("../../test/fixtures/corpus/", import.meta.url).pathname;

const questionSchema = z.object({
  question: z.string().min(10),
  source: z.string().regex(/^[a-z0-9-]+\.md$/),
  answer_contains: z.string().min(3),
});
const questionSetSchema = z.array(questionSchema).min(60);

export type BenchQuestion = z.infer<typeof questionSchema>;

export interface CorpusDocument {
  filename: string;
  text: string;
  words: number;
}

export interface Corpus {
  documents: CorpusDocument[];
  questions: BenchQuestion[];
}

/** Collapses runs of whitespace, so a phrase still matches across a wrapped line or a chunk's trimmed edge. */
export function normalizeSpace(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** Whether a chunk's text holds the phrase that answers a question. */
export function containsAnswer(chunkText: string, answerContains: string): boolean {
  return normalizeSpace(chunkText).includes(normalizeSpace(answerContains));
}

export class CorpusValidationError extends Error {
  override readonly name = "CorpusValidationError";
}

/** Loads the corpus and its questions; throws listing every problem found. */
export async function loadCorpus(dir: string = CORPUS_DIR): Promise<Corpus> {
  const names = (await readdir(dir)).filter((name) => name.endsWith(".md")).sort();
  const documents = await Promise.all(
    names.map(async (filename) => {
      const text = await readFile(join(dir, filename), "utf8");
      return { filename, text, words: text.split(/\s+/).filter(Boolean).length };
    }),
  );
  const parsed = questionSetSchema.safeParse(JSON.parse(await readFile(join(dir, "questions.json"), "utf8")));
  if (!parsed.success) throw new CorpusValidationError(`questions.json is invalid: ${z.prettifyError(parsed.error)}`);

  const problems: string[] = [];
  const byName = new Map(documents.map((document) => [document.filename, document]));
  for (const document of documents) {
    if (document.words < 600 || document.words > 1500) {
      problems.push(`${document.filename} has ${document.words} words, outside 600–1500`);
    }
  }
  const seen = new Set<string>();
  parsed.data.forEach((question, i) => {
    const label = `question ${i + 1} (${JSON.stringify(question.question)})`;
    if (seen.has(question.question)) problems.push(`${label} is a duplicate`);
    seen.add(question.question);
    const document = byName.get(question.source);
    if (!document) {
      problems.push(`${label} cites ${question.source}, which is not in the corpus`);
      return;
    }
    if (!containsAnswer(document.text, question.answer_contains)) {
      problems.push(
        `${label}: answer_contains ${JSON.stringify(question.answer_contains)} is not in ${question.source}`,
      );
    }
    // A question that quotes its own answer phrase tests string matching, not retrieval.
    if (
      normalizeSpace(question.question.toLowerCase()).includes(normalizeSpace(question.answer_contains.toLowerCase()))
    ) {
      problems.push(`${label} contains its answer phrase verbatim; paraphrase it`);
    }
  });
  const unused = documents.filter((document) => !parsed.data.some((question) => question.source === document.filename));
  for (const document of unused) problems.push(`${document.filename} has no question`);
  if (problems.length > 0) {
    throw new CorpusValidationError(`corpus validation failed:\n  - ${problems.join("\n  - ")}`);
  }
  return { documents, questions: parsed.data };
}
