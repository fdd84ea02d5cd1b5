// Quizzes from the student's material. With a model: structured JSON (four distinct options, the
// answer among them), validated and repaired once, in batches so a stream can show questions as they
// are ready. Offline: cloze and definition questions built from the material's key sentences, with
// distractors taken from the same material, deterministic, each explained by its source sentence.
import { analyzeTerms } from "../embeddings/local.ts";
import { BadRequestError } from "../http/errors.ts";
import type { ChatModel } from "../llm/chat-model.ts";
import { circuitStateOf, isEndpointFailure } from "../llm/resilient.ts";
import { generateStructured } from "../llm/structured.ts";
import { z } from "../validation/zod.ts";
import { citeSection, type Material, type MaterialSection } from "./material.ts";
import { MATERIAL_IS_DATA, renderSections } from "./prompting.ts";
import { bestSentenceFor, type MaterialSentence, materialSentences } from "./sentences.ts";
import { rankSentences } from "./summary.ts";

export type QuizDifficulty = "easy" | "medium" | "hard";
export type QuizDifficultyChoice = QuizDifficulty | "mixed";

export interface QuizCitation {
  source_id: string;
  chunk_id: string;
  page: number;
  quote: string;
  filename: string;
}

export interface QuizQuestion {
  question: string;
  /** The text of the correct option. */
  answer: string;
  options: string[];
  explanation: string;
  difficulty: QuizDifficulty;
  /** Present when the material is stored. */
  citations?: QuizCitation[];
}

export interface QuizOptions {
  numQuestions: number;
  difficulty: QuizDifficultyChoice;
  topic?: string;
}

export interface QuizRequest extends QuizOptions {
  material: Material;
  /** Called with each question as soon as it is ready (streams). */
  onQuestion?: (question: QuizQuestion) => Promise<void> | void;
}

export interface Quiz {
  questions: QuizQuestion[];
  offline: boolean;
}

export interface QuizDeps {
  model: ChatModel;
}

const BLANK = "_____";
const DIFFICULTIES: QuizDifficulty[] = ["easy", "medium", "hard"];

function slotDifficulty(choice: QuizDifficultyChoice, index: number): QuizDifficulty {
  return choice === "mixed" ? (DIFFICULTIES[index % 3] ?? "medium") : choice;
}

function normalise(text: string): string {
  return text.trim().replace(/\s+/g, " ").toLowerCase();
}

function hashOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// ---------------------------------------------------------------------------------------------
// Offline: key terms of the material

type TermKind = "number" | "year" | "name" | "acronym" | "phrase" | "noun" | "ing" | "ed" | "plural" | "word";

/** Kinds that can stand in for one another as distractors (a year for a year, a name for a name…). */
const KIND_GROUP: Record<TermKind, string> = {
  number: "number",
  year: "number",
  name: "name",
  acronym: "name",
  phrase: "term",
  noun: "term",
  ing: "term",
  ed: "term",
  plural: "term",
  word: "term",
};

interface TermOccurrence {
  key: string;
  surface: string;
  kind: TermKind;
}

interface KeyTerm {
  key: string;
  kind: TermKind;
  /** Most frequent spelling in the material. */
  surface: string;
  /** Sentences containing it. */
  frequency: number;
  /** 0 = most salient. */
  rank: number;
  stems: string[];
}

// Words too vague to test or to offer as an option, even when frequent.
const VAGUE = new Set(
  (
    "great deal several various different important main large small high low known called usually within around " +
    "become between example part form type number amount level time year years first second third other another " +
    "same often always never whole little rather overall without along across behind including following still " +
    "even every often because therefore however although thus instead"
  ).split(" "),
);

// A word that follows a determiner or "of" somewhere in the material is used as a noun: only those make
// fair blanks and options (a verb offered among nouns gives the answer away).
const NOUN_CONTEXT = /\b(?:the|a|an|this|that|these|those|its|their|of|each|every|some|no)\s+([\p{Ll}][\p{Ll}-]+)/gu;

const PRONOUN_START = /^(?:it|this|that|these|those|there|they|he|she|we|you|i|its|their|such|each|both|one)$/i;

/** The kind a spelling suggests by its form alone (suffix, capitals, number of words). */
function formKind(surface: string): TermKind | undefined {
  if (/\s/.test(surface)) return "phrase";
  if (/^\p{Lu}{2,}$/u.test(surface)) return "acronym";
  const word = surface.toLowerCase();
  if (/(?:tion|sion|ment|ness|ity|ance|ence|ism|ist|ure|age|ogy)$/.test(word)) return "noun";
  if (/ing$/.test(word)) return "ing";
  if (/ed$/.test(word)) return "ed";
  if (/[^su]s$/.test(word)) return "plural";
  return undefined;
}

function wordKind(word: string, nouns: Set<string>): TermKind | undefined {
  if (word.length < 5 || /ly$/.test(word) || VAGUE.has(word) || !nouns.has(word)) return undefined;
  // Adjectives follow "the" as often as nouns do; among nouns they would give the answer away.
  if (/(?:ic|ical|ous|ive|ful|less|able|ible)$/.test(word)) return undefined;
  if (analyzeTerms(word).length === 0) return undefined;
  if (/(?:tion|sion|ment|ness|ity|ance|ence|ism|ist|ure|age|ogy)$/.test(word)) return "noun";
  if (/ing$/.test(word)) return "ing";
  if (/ed$/.test(word)) return "ed";
  if (/[^su]s$/.test(word)) return "plural";
  return "word";
}

/** Candidate answer terms of one sentence, in order of appearance. */
function sentenceTerms(sentence: string, midSentenceNames: Set<string>, nouns: Set<string>): TermOccurrence[] {
  const out: TermOccurrence[] = [];
  for (const match of sentence.matchAll(/\b\d{1,4}(?:[.,]\d+)?%?(?![\p{L}\d])/gu)) {
    const surface = match[0];
    const kind: TermKind = /^(?:1[0-9]|20)\d\d$/.test(surface) ? "year" : "number";
    out.push({ key: surface, surface, kind });
  }
  for (const match of sentence.matchAll(/\b[\p{Lu}]{2,6}\b/gu))
    out.push({ key: match[0], surface: match[0], kind: "acronym" });
  for (const match of sentence.matchAll(/\b[\p{Lu}][\p{Ll}]+(?:[ -][\p{Lu}][\p{Ll}]+)*\b/gu)) {
    // "In August", "The Revolution": a capitalised function word is not part of the name.
    const words = match[0].split(" ");
    while (words.length > 1 && analyzeTerms(words[0] ?? "").length === 0) words.shift();
    const surface = words.join(" ");
    const single = !/[ -]/.test(surface);
    // A capital at the start of a sentence says nothing; count it as a name only when seen capitalised elsewhere.
    if (match.index === 0 && single && !midSentenceNames.has(surface)) continue;
    if (single && (analyzeTerms(surface).length === 0 || PRONOUN_START.test(surface))) continue;
    out.push({ key: surface.toLowerCase(), surface, kind: "name" });
  }
  const words = [...sentence.matchAll(/\b[\p{Ll}][\p{Ll}-]+\b/gu)];
  words.forEach((match, index) => {
    const word = match[0];
    const kind = wordKind(word, nouns);
    if (kind) out.push({ key: analyzeTerms(word).join(" "), surface: word, kind });
    const next = words[index + 1];
    // Two content words in a row ("carbon dioxide") form a phrase when only a space separates them.
    if (
      next &&
      next.index === (match.index ?? 0) + word.length + 1 &&
      word.length >= 4 &&
      next[0].length >= 4 &&
      !VAGUE.has(word) &&
      !VAGUE.has(next[0]) &&
      (nouns.has(word) || nouns.has(next[0])) &&
      analyzeTerms(word).length > 0 &&
      analyzeTerms(next[0]).length > 0
    ) {
      const surface = `${word} ${next[0]}`;
      out.push({ key: analyzeTerms(surface).join(" "), surface, kind: "phrase" });
    }
  });
  return out;
}

function collectMidSentenceNames(sentences: MaterialSentence[]): Set<string> {
  const names = new Set<string>();
  for (const sentence of sentences) {
    for (const match of sentence.text.matchAll(/(?<=\s)[\p{Lu}][\p{Ll}]+\b/gu)) names.add(match[0]);
  }
  return names;
}

interface TermTable {
  terms: Map<string, KeyTerm>;
  perSentence: TermOccurrence[][];
}

function keyTerms(sentences: MaterialSentence[]): TermTable {
  const names = collectMidSentenceNames(sentences);
  const nouns = new Set<string>();
  for (const sentence of sentences) {
    for (const match of sentence.text.matchAll(NOUN_CONTEXT)) if (match[1]) nouns.add(match[1]);
  }
  const perSentence = sentences.map((sentence) => sentenceTerms(sentence.text, names, nouns));
  const stats = new Map<string, { kind: TermKind; surfaces: Map<string, number>; sentences: Set<number> }>();
  perSentence.forEach((occurrences, index) => {
    for (const occurrence of occurrences) {
      const entry = stats.get(occurrence.key) ?? { kind: occurrence.kind, surfaces: new Map(), sentences: new Set() };
      entry.surfaces.set(occurrence.surface, (entry.surfaces.get(occurrence.surface) ?? 0) + 1);
      entry.sentences.add(index);
      stats.set(occurrence.key, entry);
    }
  });
  const list: Omit<KeyTerm, "rank">[] = [];
  for (const [key, entry] of stats) {
    // A phrase seen once is usually an accident of wording; single words and names stay.
    if (entry.kind === "phrase" && entry.sentences.size < 2) continue;
    const surface =
      [...entry.surfaces.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? key;
    // Spellings sharing a stem ("evaporates", "evaporation") take the kind of the most frequent one.
    const kind = entry.kind === "phrase" || entry.kind === "name" ? entry.kind : (formKind(surface) ?? entry.kind);
    list.push({ key, kind, surface, frequency: entry.sentences.size, stems: analyzeTerms(surface) });
  }
  const weight = (term: Omit<KeyTerm, "rank">) =>
    term.frequency * (term.kind === "phrase" || term.kind === "name" || term.kind === "acronym" ? 1.5 : 1);
  list.sort((a, b) => weight(b) - weight(a) || a.key.localeCompare(b.key));
  const terms = new Map<string, KeyTerm>();
  list.forEach((term, rank) => {
    terms.set(term.key, { ...term, rank });
  });
  return { terms, perSentence };
}

function bandOf(term: KeyTerm, table: TermTable): QuizDifficulty {
  const total = Math.max(1, table.terms.size);
  // Numbers and dates are the hardest to recall; otherwise rarer terms make harder questions.
  if (term.kind === "number" || term.kind === "year") return "hard";
  const share = term.rank / total;
  return share < 0.08 ? "easy" : share < 0.25 ? "medium" : "hard";
}

function overlaps(a: KeyTerm, b: KeyTerm): boolean {
  const x = a.surface.toLowerCase();
  const y = b.surface.toLowerCase();
  if (x.includes(y) || y.includes(x)) return true;
  return a.stems.some((stem) => b.stems.includes(stem));
}

/** Three distractors: other key terms of the same kind (then group), near the answer's salience. */
function distractorsFor(
  answer: KeyTerm,
  table: TermTable,
  excludeText: string,
  hard: boolean,
  kind: TermKind = answer.kind,
): KeyTerm[] | undefined {
  const context = excludeText.toLowerCase();
  const eligible = [...table.terms.values()].filter(
    (term) =>
      term.key !== answer.key &&
      KIND_GROUP[term.kind] === KIND_GROUP[kind] &&
      !overlaps(term, answer) &&
      !context.includes(term.surface.toLowerCase()),
  );
  const distance = (term: KeyTerm) =>
    (term.kind === kind ? 0 : 1_000) +
    Math.abs(term.rank - answer.rank) +
    // Hard questions pick look-alikes: similar length and the same ending.
    (hard
      ? Math.abs(term.surface.length - answer.surface.length) * 2 -
        (term.surface.slice(-3) === answer.surface.slice(-3) ? 5 : 0)
      : 0);
  eligible.sort((a, b) => distance(a) - distance(b) || a.key.localeCompare(b.key));
  const picked: KeyTerm[] = [];
  for (const term of eligible) {
    if (picked.some((other) => overlaps(other, term) || normalise(other.surface) === normalise(term.surface))) continue;
    picked.push(term);
    if (picked.length === 3) return picked;
  }
  return undefined;
}

function placeAnswer(answer: string, distractors: string[], seed: string): string[] {
  // The answer's position comes from a hash of the question: deterministic, yet not always "A".
  const position = hashOf(seed) % 4;
  const options = [...distractors];
  options.splice(position, 0, answer);
  return options;
}

interface Candidate {
  sentence: MaterialSentence;
  term: KeyTerm;
  band: QuizDifficulty;
  build: () => Omit<QuizQuestion, "difficulty" | "citations"> | undefined;
  centrality: number;
}

const DEFINITION =
  /^(?:(?:An?|The)\s+)?([\p{L}][\p{L}\p{N}-]*(?:\s+[\p{L}\p{N}-]+){0,3}?)\s+(?:is|are|refers to|means)\s+((?:an?|the)\s+.{12,}?)[.!]?$/u;

function definitionOf(sentence: string): { term: string; description: string } | undefined {
  const match = DEFINITION.exec(sentence);
  const term = match?.[1]?.trim();
  const description = match?.[2]?.trim();
  if (!term || !description) return undefined;
  if (PRONOUN_START.test(term.split(/\s+/)[0] ?? "")) return undefined;
  if (analyzeTerms(term).length === 0) return undefined;
  return { term, description };
}

function blankOut(text: string, surface: string): string {
  return text.replace(new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(surface)}(?![\\p{L}\\p{N}])`, "giu"), BLANK);
}

function explanationOf(sentence: string, section: MaterialSection | undefined, stored: boolean): string {
  const where = stored && section ? ` (${section.filename}${section.page ? `, page ${section.page}` : ""})` : "";
  return `Your material says${where}: "${sentence}"`;
}

function candidatesOf(material: Material, sentences: MaterialSentence[], topic?: string): Candidate[] {
  const table = keyTerms(sentences);
  const centrality = new Map(rankSentences(sentences).map((sentence, index) => [sentence.order, index]));
  const topicTerms = new Set(topic ? analyzeTerms(topic) : []);
  const candidates: Candidate[] = [];
  sentences.forEach((sentence, index) => {
    const section = material.sections[sentence.section];
    const explanation = explanationOf(sentence.text, section, material.stored);
    // Sentences about the requested topic come first.
    const topicBoost = sentence.terms.some((term) => topicTerms.has(term)) ? -10_000 : 0;
    const rank = (centrality.get(sentence.order) ?? sentences.length) + topicBoost;
    const definition = definitionOf(sentence.text);
    const defined = definition ? table.terms.get(analyzeTerms(definition.term).join(" ")) : undefined;
    if (definition && defined) {
      candidates.push({
        sentence,
        term: defined,
        band: "easy",
        // A definition is the fairest easy question there is: they come before cloze questions.
        centrality: rank - 1_000,
        build: () => {
          const description = blankOut(definition.description, definition.term);
          // Options look like the defined term: "Evaporation" among "Condensation", "Infiltration"…
          const kind = formKind(definition.term) ?? (defined.kind === "name" ? "name" : "word");
          const distractors = distractorsFor(defined, table, description, false, kind);
          if (!distractors) return undefined;
          const answer = capitalise(definition.term);
          const question = `Which term does your material describe as "${description}"?`;
          return {
            question,
            answer,
            options: placeAnswer(
              answer,
              distractors.map((term) => capitalise(term.surface)),
              question,
            ),
            explanation,
          };
        },
      });
    }
    const seen = new Set<string>();
    const occurrences = table.perSentence[index] ?? [];
    const phrases = occurrences.filter((o) => o.kind === "phrase" && table.terms.has(o.key)).map((o) => o.surface);
    for (const occurrence of occurrences) {
      const term = table.terms.get(occurrence.key);
      if (!term || seen.has(term.key)) continue;
      // "_____ dioxide" tests nothing: blank the whole key phrase instead of one of its words.
      if (occurrence.kind !== "phrase" && phrases.some((phrase) => phrase.includes(occurrence.surface))) continue;
      seen.add(term.key);
      // A term used once in the material is rarely a key term (names and numbers excepted).
      if (term.frequency < 2 && !["name", "acronym", "number", "year"].includes(term.kind)) continue;
      const band = bandOf(term, table);
      candidates.push({
        sentence,
        term,
        band,
        centrality: rank,
        build: () => {
          const blanked = blankOut(sentence.text, occurrence.surface);
          if (!blanked.includes(BLANK)) return undefined;
          const distractors = distractorsFor(term, table, blanked, band === "hard");
          if (!distractors) return undefined;
          const what = term.kind === "number" || term.kind === "year" ? "value" : "term";
          const question = `Which ${what} completes this statement from your material: "${blanked}"?`;
          return {
            question,
            answer: occurrence.surface,
            options: placeAnswer(
              occurrence.surface,
              distractors.map((distractor) => distractor.surface),
              question,
            ),
            explanation,
          };
        },
      });
    }
  });
  return candidates;
}

const FALLBACK_BANDS: Record<QuizDifficulty, QuizDifficulty[]> = {
  easy: ["easy", "medium", "hard"],
  medium: ["medium", "easy", "hard"],
  hard: ["hard", "medium", "easy"],
};

/** The offline quiz: cloze and definition questions from key sentences, deterministic. */
export function offlineQuiz(material: Material, options: QuizOptions): QuizQuestion[] {
  const sentences = materialSentences(material);
  const candidates = candidatesOf(material, sentences, options.topic);
  const usedSentences = new Set<number>();
  const usedTerms = new Set<string>();
  const usedSections = new Map<number, number>();
  const picked: Array<{ sentence: MaterialSentence; question: QuizQuestion }> = [];
  for (let slot = 0; slot < options.numQuestions; slot++) {
    const difficulty = slotDifficulty(options.difficulty, slot);
    let chosen: { candidate: Candidate; built: NonNullable<ReturnType<Candidate["build"]>> } | undefined;
    for (const band of FALLBACK_BANDS[difficulty]) {
      const pool = candidates
        .filter(
          (candidate) =>
            candidate.band === band &&
            !usedSentences.has(candidate.sentence.order) &&
            !usedTerms.has(candidate.term.key),
        )
        // Spread questions over the material: sections already asked about wait their turn.
        .sort(
          (a, b) =>
            (usedSections.get(a.sentence.section) ?? 0) - (usedSections.get(b.sentence.section) ?? 0) ||
            a.centrality - b.centrality ||
            a.term.rank - b.term.rank ||
            a.sentence.order - b.sentence.order,
        );
      for (const candidate of pool) {
        const built = candidate.build();
        if (built) {
          chosen = { candidate, built };
          break;
        }
      }
      if (chosen) break;
    }
    if (!chosen) break;
    const { candidate, built } = chosen;
    usedSentences.add(candidate.sentence.order);
    usedTerms.add(candidate.term.key);
    usedSections.set(candidate.sentence.section, (usedSections.get(candidate.sentence.section) ?? 0) + 1);
    const section = material.sections[candidate.sentence.section];
    picked.push({
      sentence: candidate.sentence,
      question: {
        ...built,
        difficulty,
        ...(material.stored && section
          ? { citations: [{ ...citeSection(section, candidate.sentence.text), filename: section.filename }] }
          : {}),
      },
    });
  }
  if (picked.length === 0) {
    throw new BadRequestError(
      "There is not enough material to build a quiz: send a few full sentences that name the key terms more than once.",
    );
  }
  return picked.map((item) => item.question);
}

// ---------------------------------------------------------------------------------------------
// With a model

/** Questions per model call: small enough to stream questions early and keep the JSON short. */
const QUESTIONS_PER_CALL = 5;
/** Characters of material handed to each quiz call. */
export const QUIZ_CONTEXT_CHARS = 12_000;

function stripLetter(text: unknown): unknown {
  return typeof text === "string" ? text.replace(/^\s*[A-Da-d][).:]\s+/, "") : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// Models often answer with the letter ("B") or keep "B) " prefixes; accept those, then validate strictly.
function tidyModelQuestion(value: unknown): unknown {
  if (!isRecord(value)) return value;
  const options = Array.isArray(value.options) ? value.options.map(stripLetter) : value.options;
  let answer = value.answer;
  if (typeof answer === "string" && Array.isArray(options)) {
    const letter = /^\s*([A-Da-d])\s*[).:]?\s*$/.exec(answer)?.[1];
    const index = letter ? "ABCD".indexOf(letter.toUpperCase()) : -1;
    answer = index >= 0 && typeof options[index] === "string" ? options[index] : stripLetter(answer);
  }
  return { ...value, options, answer };
}

/** The schema a model's quiz must match: four distinct options, the answer among them. */
export function modelQuizSchema(sectionCount: number, needsSections: boolean) {
  const sections = z.array(z.number().int().min(1).max(Math.max(1, sectionCount)));
  const question = z.preprocess(
    tidyModelQuestion,
    z
      .object({
        question: z.string().trim().min(5),
        options: z.array(z.string().trim().min(1)).length(4),
        answer: z.string().trim().min(1),
        explanation: z.string().trim().min(1),
        difficulty: z.enum(["easy", "medium", "hard"]).optional(),
        sections: needsSections ? sections.min(1) : sections.optional(),
      })
      .superRefine((value, ctx) => {
        const texts = value.options.map(normalise);
        if (new Set(texts).size !== texts.length) {
          ctx.addIssue({ code: "custom", path: ["options"], message: "the four options must be different" });
        }
        if (!texts.includes(normalise(value.answer))) {
          ctx.addIssue({ code: "custom", path: ["answer"], message: "answer must be the exact text of one option" });
        }
      }),
  );
  return z.object({ questions: z.array(question).min(1) });
}

const QUIZ_SYSTEM = [
  "You write multiple-choice quiz questions that test understanding of a student's course material.",
  MATERIAL_IS_DATA,
  "Every question has exactly four different options, one of them correct; wrong options are plausible but clearly wrong according to the material.",
  "Answer with JSON only.",
].join(" ");

const DIFFICULTY_HINTS: Record<QuizDifficultyChoice, string> = {
  easy: "easy (recall of a stated fact or definition)",
  medium: "medium (understanding: explain, compare or apply one idea)",
  hard: "hard (reasoning across several ideas, or a precise detail)",
  mixed: "a mix of easy, medium and hard",
};

/** Sections for the model: all of them when they fit, else an even spread over the material. */
function contextSections(material: Material): MaterialSection[] {
  const total = material.sections.reduce((sum, section) => sum + section.text.length, 0);
  if (total <= QUIZ_CONTEXT_CHARS) return material.sections;
  const average = total / Math.max(1, material.sections.length);
  const count = Math.max(1, Math.floor(QUIZ_CONTEXT_CHARS / average));
  const step = material.sections.length / count;
  const out: MaterialSection[] = [];
  for (let i = 0; i < count; i++) {
    const section = material.sections[Math.floor(i * step)];
    if (section) out.push(section);
  }
  return out;
}

function modelCitations(question: string, numbers: number[] | undefined, sections: MaterialSection[]) {
  return [...new Set(numbers ?? [])].flatMap((number) => {
    const section = sections[number - 1];
    if (!section) return [];
    return [{ ...citeSection(section, bestSentenceFor(section, question)), filename: section.filename }];
  });
}

async function modelQuiz(deps: QuizDeps, request: QuizRequest): Promise<QuizQuestion[]> {
  const { material } = request;
  const sections = contextSections(material);
  const block = renderSections(sections.map((section, index) => ({ number: index + 1, section })));
  const schema = modelQuizSchema(sections.length, material.stored);
  const questions: QuizQuestion[] = [];
  while (questions.length < request.numQuestions) {
    const count = Math.min(QUESTIONS_PER_CALL, request.numQuestions - questions.length);
    const avoid = questions.length
      ? `\nDo not repeat these questions:\n${questions.map((q) => `- ${q.question}`).join("\n")}`
      : "";
    const { value } = await generateStructured({
      model: deps.model,
      schema,
      name: "quiz",
      temperature: 0.3,
      messages: [
        { role: "system", content: QUIZ_SYSTEM },
        {
          role: "user",
          content:
            `${block}\n\nTask: write ${count} multiple-choice questions, difficulty ${DIFFICULTY_HINTS[request.difficulty]}` +
            `${request.topic ? `, about ${JSON.stringify(request.topic)}` : ""}. ` +
            'Answer as JSON {"questions": [{"question": "…?", "options": ["…", "…", "…", "…"], "answer": "<the exact text of the correct option>", ' +
            '"explanation": "<why, citing the material>", "difficulty": "easy|medium|hard", "sections": [<numbers of the sections the question comes from>]}]}.' +
            avoid,
        },
      ],
    });
    const known = new Set(questions.map((q) => normalise(q.question)));
    let added = 0;
    for (const [offset, item] of value.questions.entries()) {
      if (questions.length >= request.numQuestions || known.has(normalise(item.question))) continue;
      const answer = item.options.find((option) => normalise(option) === normalise(item.answer)) ?? item.answer;
      const question: QuizQuestion = {
        question: item.question,
        answer,
        options: item.options,
        explanation: item.explanation,
        difficulty: item.difficulty ?? slotDifficulty(request.difficulty, questions.length + offset),
        ...(material.stored
          ? { citations: modelCitations(`${item.question} ${answer}`, item.sections, sections) }
          : {}),
      };
      if (request.difficulty !== "mixed") question.difficulty = request.difficulty;
      known.add(normalise(item.question));
      questions.push(question);
      added++;
      await request.onQuestion?.(question);
    }
    // A model that only repeats itself would loop forever; keep what it gave.
    if (added === 0) break;
  }
  return questions;
}

/** Generates a quiz with the model, or offline when the engine has none. */
export async function generateQuiz(deps: QuizDeps, request: QuizRequest): Promise<Quiz> {
  const offline = async (): Promise<Quiz> => {
    const questions = offlineQuiz(request.material, request);
    for (const question of questions) await request.onQuestion?.(question);
    return { questions, offline: true };
  };
  // No model, or one that is down: the student still gets a quiz, marked offline.
  if (deps.model.info.kind === "offline" || circuitStateOf(deps.model) === "open") return offline();
  let sent = 0;
  try {
    const questions = await modelQuiz(deps, {
      ...request,
      onQuestion: async (question) => {
        sent++;
        await request.onQuestion?.(question);
      },
    });
    return { questions, offline: false };
  } catch (error) {
    // Only before the first question: a stream must not mix generated and offline questions.
    if (sent === 0 && isEndpointFailure(error)) return offline();
    throw error;
  }
}

/** Formats questions as the quiz text of the session stream (`Question N:`, `A)`…`D)`, `Answer:`, `Explanation:`). */
export function formatQuizForChat(
  questions: ReadonlyArray<Pick<QuizQuestion, "question" | "answer" | "options" | "explanation">>,
): string {
  const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();
  return questions
    .map((item, index) => {
      let question = oneLine(item.question);
      if (!question.endsWith("?")) question = `${question.replace(/[.!:;]+$/, "")}?`;
      const letter = "ABCD"[item.options.findIndex((option) => normalise(option) === normalise(item.answer))] ?? "A";
      return [
        `Question ${index + 1}: ${question}`,
        ...item.options.slice(0, 4).map((option, i) => `${"ABCD"[i]}) ${oneLine(option)}`),
        `Answer: ${letter}`,
        `Explanation: ${oneLine(item.explanation)}`,
      ].join("\n");
    })
    .join("\n\n");
}
