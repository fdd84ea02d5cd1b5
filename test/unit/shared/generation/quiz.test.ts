// Quizzes: the offline cloze/definition generator (deterministic, fair options from the material,
// explained by a verbatim sentence, cited when stored), the model schema, and the chat quiz text.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type Material, materialFromText } from "#shared/generation/material.ts";
import {
  formatQuizForChat,
  generateQuiz,
  modelQuizSchema,
  offlineQuiz,
  type QuizQuestion,
} from "#shared/generation/quiz.ts";
import type { ChatModel } from "#shared/llm/chat-model.ts";
import { quizTextProblems } from "#test/support/frontend-parsers.ts";

const PHOTOSYNTHESIS = readFileSync("test/fixtures/corpus/photosynthesis.md", "utf8");
const REVOLUTION = readFileSync("test/fixtures/corpus/french-revolution.md", "utf8");
const FLAT = (text: string) => text.replace(/\s+/g, " ");

function stored(text: string): Material {
  return { ...materialFromText(text, "notes.md"), stored: true };
}

function quotedSentence(question: QuizQuestion): string {
  return /"(.*)"$/.exec(question.explanation)?.[1] ?? "";
}

describe("offlineQuiz", () => {
  it("is deterministic", () => {
    // Prepare
    const material = materialFromText(PHOTOSYNTHESIS);

    // Act
    const first = offlineQuiz(material, { numQuestions: 8, difficulty: "mixed" });
    const second = offlineQuiz(material, { numQuestions: 8, difficulty: "mixed" });

    // Assess
    expect(second).toEqual(first);
    expect(first).toHaveLength(8);
  });

  it.each([
    ["photosynthesis", PHOTOSYNTHESIS],
    ["french revolution", REVOLUTION],
  ])("gives four distinct options from the material, the answer among them exactly once (%s)", (_name, text) => {
    // Act
    const questions = offlineQuiz(materialFromText(text), { numQuestions: 10, difficulty: "mixed" });

    // Assess
    expect(questions.length).toBeGreaterThanOrEqual(8);
    for (const question of questions) {
      expect(question.options).toHaveLength(4);
      expect(new Set(question.options.map((option) => option.toLowerCase())).size).toBe(4);
      expect(question.options.filter((option) => option === question.answer)).toHaveLength(1);
      for (const option of question.options) expect(text.toLowerCase()).toContain(option.toLowerCase());
      expect(question.question.endsWith("?")).toBe(true);
    }
  });

  it("explains each question with a sentence quoted verbatim, which the answer completes", () => {
    // Act
    const questions = offlineQuiz(materialFromText(REVOLUTION), { numQuestions: 6, difficulty: "medium" });

    // Assess
    for (const question of questions) {
      const sentence = quotedSentence(question);
      expect(FLAT(REVOLUTION)).toContain(sentence);
      const cloze = /"(.*_____.*)"\?$/.exec(question.question)?.[1];
      if (cloze) expect(cloze.replaceAll("_____", question.answer)).toBe(sentence);
      else expect(sentence.toLowerCase()).toContain(question.answer.toLowerCase());
    }
  });

  it("asks easy definition questions and tests other, rarer terms for hard ones", () => {
    // Prepare
    const material = materialFromText(PHOTOSYNTHESIS);

    // Act
    const easy = offlineQuiz(material, { numQuestions: 5, difficulty: "easy" });
    const hard = offlineQuiz(material, { numQuestions: 5, difficulty: "hard" });

    // Assess
    expect(easy[0]?.question).toMatch(/^Which term does your material describe as "the process by which plants/);
    expect(easy[0]?.answer).toBe("Photosynthesis");
    expect(easy.every((question) => question.difficulty === "easy")).toBe(true);
    expect(hard.every((question) => question.difficulty === "hard")).toBe(true);
    const easyAnswers = new Set(easy.map((question) => question.answer));
    expect(hard.filter((question) => easyAnswers.has(question.answer))).toHaveLength(0);
  });

  it("cycles difficulties for a mixed quiz", () => {
    // Act
    const questions = offlineQuiz(materialFromText(REVOLUTION), { numQuestions: 6, difficulty: "mixed" });

    // Assess
    expect(questions.map((question) => question.difficulty)).toEqual([
      "easy",
      "medium",
      "hard",
      "easy",
      "medium",
      "hard",
    ]);
  });

  it("never repeats an answer or a source sentence", () => {
    // Act
    const questions = offlineQuiz(materialFromText(PHOTOSYNTHESIS), { numQuestions: 15, difficulty: "medium" });

    // Assess
    expect(new Set(questions.map((question) => question.answer.toLowerCase())).size).toBe(questions.length);
    expect(new Set(questions.map(quotedSentence)).size).toBe(questions.length);
  });

  it("cites stored material with the quoted sentence of the cited chunk", () => {
    // Prepare
    const material = stored(PHOTOSYNTHESIS);

    // Act
    const questions = offlineQuiz(material, { numQuestions: 5, difficulty: "medium" });

    // Assess
    for (const question of questions) {
      const citation = question.citations?.[0];
      const chunk = material.sections.find((section) => section.chunk_id === citation?.chunk_id);
      expect(chunk?.text).toContain(citation?.quote);
      expect(citation?.quote).toBe(quotedSentence(question));
      expect(citation?.filename).toBe("notes.md");
    }
  });

  it("has no citations for inline text", () => {
    // Act
    const questions = offlineQuiz(materialFromText(PHOTOSYNTHESIS), { numQuestions: 3, difficulty: "easy" });

    // Assess
    expect(questions.every((question) => question.citations === undefined)).toBe(true);
  });

  it("refuses material too thin for a quiz with a 400", () => {
    // Act
    const failure = (() => {
      try {
        offlineQuiz(materialFromText("Cells are small."), { numQuestions: 3, difficulty: "easy" });
      } catch (error) {
        return error;
      }
    })();

    // Assess
    expect(failure).toMatchObject({ statusCode: 400, expose: true });
  });

  it("calls back once per question, in order, through generateQuiz offline", async () => {
    // Prepare
    const offline = { info: { kind: "offline", model: "offline-engine" } } as ChatModel;
    const seen: string[] = [];

    // Act
    const quiz = await generateQuiz(
      { model: offline },
      {
        material: materialFromText(PHOTOSYNTHESIS),
        numQuestions: 4,
        difficulty: "medium",
        onQuestion: (question) => void seen.push(question.question),
      },
    );

    // Assess
    expect(quiz.offline).toBe(true);
    expect(seen).toEqual(quiz.questions.map((question) => question.question));
  });
});

describe("modelQuizSchema", () => {
  const base = {
    question: "Where does the Calvin cycle take place?",
    options: ["Stroma", "Thylakoid", "Nucleus", "Cytoplasm"],
    answer: "Stroma",
    explanation: "The stroma holds the enzymes of the Calvin cycle [1].",
    sections: [1],
  };

  it("accepts four distinct options with the answer among them", () => {
    // Act
    const result = modelQuizSchema(3, true).safeParse({ questions: [base] });

    // Assess
    expect(result.success).toBe(true);
  });

  it("turns a letter answer and lettered options into the option text", () => {
    // Act
    const result = modelQuizSchema(3, true).safeParse({
      questions: [{ ...base, options: ["A) Stroma", "B) Thylakoid", "C) Nucleus", "D) Cytoplasm"], answer: "A" }],
    });

    // Assess
    expect(result.success && result.data.questions[0]?.answer).toBe("Stroma");
  });

  it.each([
    ["duplicate options", { options: ["Stroma", "stroma", "Nucleus", "Cytoplasm"] }],
    ["an answer that is no option", { answer: "Mitochondria" }],
    ["three options", { options: ["Stroma", "Thylakoid", "Nucleus"] }],
    ["an unknown section", { sections: [9] }],
  ])("rejects %s", (_name, change) => {
    // Act
    const result = modelQuizSchema(3, true).safeParse({ questions: [{ ...base, ...change }] });

    // Assess
    expect(result.success).toBe(false);
  });
});

describe("formatQuizForChat", () => {
  it("writes the session-stream quiz text the notebook parses", () => {
    // Prepare
    const questions = offlineQuiz(materialFromText(PHOTOSYNTHESIS), { numQuestions: 5, difficulty: "mixed" });

    // Act
    const text = formatQuizForChat(questions);

    // Assess
    expect(quizTextProblems(text, 5)).toEqual([]);
    const answers = [...text.matchAll(/^Answer: ([ABCD])$/gm)].map((match) => match[1]);
    questions.forEach((question, index) => {
      const letter = answers[index] ?? "";
      expect(question.options["ABCD".indexOf(letter)]).toBe(question.answer);
    });
  });

  it("adds the question mark and keeps every question on one line", () => {
    // Act
    const text = formatQuizForChat([
      {
        question: "Name the organelle\nthat holds chlorophyll.",
        options: ["Chloroplast", "Nucleus", "Ribosome", "Vacuole"],
        answer: "Chloroplast",
        explanation: "Chlorophyll sits in\nthylakoid membranes.",
      },
    ]);

    // Assess
    expect(text.split("\n")[0]).toBe("Question 1: Name the organelle that holds chlorophyll?");
    expect(text).toContain("Answer: A\nExplanation: Chlorophyll sits in thylakoid membranes.");
    expect(quizTextProblems(text, 1)).toEqual([]);
  });
});
