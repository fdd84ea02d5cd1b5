// Summaries and quizzes through the local runtime: offline (extractive summary, cloze quiz) and with
// a stub model (valid JSON, invalid JSON twice → 502), for inline text and for an uploaded document,
// whose citations must quote text that exists in it. Stream framing is read as the SSE rules say.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type DocumentsClient, documentsClient, normaliseText } from "#test/support/documents.ts";
import { parseGenericStream, startTestEngine, type TestEngine } from "#test/support/engine.ts";
import { type StubLlm, startStubLlm } from "#test/support/stub-llm.ts";

const NOTES = readFileSync("test/fixtures/corpus/photosynthesis.md", "utf8");
const REVOLUTION = readFileSync("test/fixtures/corpus/french-revolution.md", "utf8");
const FLAT_NOTES = normaliseText(NOTES);
// These tests send the same notes many times; quotas and rate limits are other features' concern.
const UNMETERED = { QUOTA_TOKENS_FREE: "0", RATE_LIMIT_GENERATE_PER_MINUTE: "0" };

interface Citation {
  source_id: string;
  chunk_id: string;
  page: number;
  quote: string;
  filename: string;
  marker?: number;
}

interface SummaryBody {
  summary: string;
  original_length: number;
  summary_length: number;
  user_id: string;
  timestamp: string;
  citations?: Citation[];
  offline: boolean;
}

interface Question {
  question: string;
  answer: string;
  options: string[];
  explanation: string;
  difficulty: string;
  citations?: Citation[];
}

interface QuizBody {
  questions: Question[];
  source_length: number;
  user_id: string;
  timestamp: string;
  offline: boolean;
}

async function uploadNotes(client: DocumentsClient, sourceId: string): Promise<void> {
  const document = await client.uploadFile("photosynthesis.md", new TextEncoder().encode(NOTES), {
    source_id: sourceId,
  });
  expect((await client.settled(document.document_id)).status).toBe("ready");
}

function expectQuotesFromNotes(citations: Citation[] | undefined): void {
  expect(citations?.length ?? 0).toBeGreaterThan(0);
  for (const citation of citations ?? []) {
    expect(citation).toMatchObject({ source_id: "src-notes", filename: "photosynthesis.md", page: 1 });
    expect(citation.chunk_id.startsWith("src-notes:")).toBe(true);
    expect(FLAT_NOTES).toContain(normaliseText(citation.quote));
  }
}

function expectFairOptions(question: Question): void {
  expect(question.options).toHaveLength(4);
  expect(new Set(question.options.map((option) => option.toLowerCase())).size).toBe(4);
  expect(question.options).toContain(question.answer);
}

describe("offline engine", () => {
  let engine: TestEngine;
  let alice: DocumentsClient;

  beforeAll(async () => {
    engine = await startTestEngine(UNMETERED);
    alice = documentsClient(engine.url, await engine.token("alice"));
    await uploadNotes(alice, "src-notes");
  });

  afterAll(async () => {
    await engine.cleanup();
  });

  describe("/ai/summarize", () => {
    it("summarizes inline text with sentences quoted from it, in the contract's shape", async () => {
      // Act
      const response = await alice.send("POST", "/ai/summarize", {
        text: REVOLUTION,
        style: "concise",
        user_id: "eve",
      });
      const body = (await response.json()) as SummaryBody;

      // Assess
      expect(response.status).toBe(200);
      expect(body).toMatchObject({ user_id: "alice", offline: true, original_length: REVOLUTION.trim().length });
      expect(body.summary_length).toBe(body.summary.length);
      expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false);
      expect(body.citations).toBeUndefined();
      for (const sentence of body.summary.split(/(?<=[.!?]) (?=[A-Z])/))
        expect(normaliseText(REVOLUTION)).toContain(sentence);
    });

    it("writes bullet points within max_length words", async () => {
      // Act
      const response = await alice.send("POST", "/ai/summarize", { text: NOTES, style: "bullet", max_length: 80 });
      const body = (await response.json()) as SummaryBody;

      // Assess
      expect(response.status).toBe(200);
      const lines = body.summary.split("\n");
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.every((line) => line.startsWith("- "))).toBe(true);
      expect(body.summary.split(/\s+/).filter((word) => word !== "-").length).toBeLessThanOrEqual(80);
    });

    it("summarizes an uploaded document with citations quoting it", async () => {
      // Act
      const response = await alice.send("POST", "/ai/summarize", { source_ids: ["src-notes"], style: "bullet" });
      const body = (await response.json()) as SummaryBody;

      // Assess
      expect(response.status).toBe(200);
      expectQuotesFromNotes(body.citations);
      const lines = body.summary.split("\n");
      expect(body.citations).toHaveLength(lines.length);
      body.citations?.forEach((citation, index) => {
        expect(lines[index]).toBe(`- ${citation.quote} [${citation.marker}]`);
      });
    });

    it("streams the summary, then citations, then done", async () => {
      // Act
      const response = await alice.send("POST", "/ai/summarize/stream", { source_ids: ["src-notes"], style: "bullet" });
      const raw = await response.text();

      // Assess
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      expect(response.headers.get("cache-control")).toBe("no-cache");
      const events = parseGenericStream(raw);
      const text = events
        .filter((event) => event.event === "message")
        .map((event) => event.data)
        .join("");
      expect(text.split("\n").every((line) => line.startsWith("- "))).toBe(true);
      expect(events.at(-2)?.event).toBe("citations");
      expectQuotesFromNotes(JSON.parse(events.at(-2)?.data ?? "[]") as Citation[]);
      expect(events.at(-1)).toEqual({ event: "done", data: "" });
    });

    it.each([
      ["text shorter than 10 characters", { text: "too short" }, 422],
      ["nothing to summarize", { style: "bullet" }, 422],
      ["an unknown style", { text: NOTES, style: "haiku" }, 422],
      ["a source of someone else or none", { source_ids: ["src-nobody"] }, 404],
    ])("answers %s with a helpful error", async (_name, body, status) => {
      // Act
      const response = await alice.send("POST", "/ai/summarize", body);
      const payload = (await response.json()) as { detail: unknown };

      // Assess
      expect(response.status).toBe(status);
      expect(payload.detail).toBeTruthy();
    });
  });

  describe("/ai/qa/generate", () => {
    it("builds a cloze quiz with four fair options in the contract's shape", async () => {
      // Act
      const response = await alice.send("POST", "/ai/qa/generate", {
        text: REVOLUTION,
        num_questions: 4,
        difficulty: "mixed",
        include_options: true,
      });
      const body = (await response.json()) as QuizBody;

      // Assess
      expect(response.status).toBe(200);
      expect(body).toMatchObject({ user_id: "alice", offline: true, source_length: REVOLUTION.trim().length });
      expect(body.questions).toHaveLength(4);
      expect(body.questions.map((question) => question.difficulty)).toEqual(["easy", "medium", "hard", "easy"]);
      for (const question of body.questions) {
        expect(Object.keys(question).sort()).toEqual(["answer", "difficulty", "explanation", "options", "question"]);
        expectFairOptions(question);
        expect(normaliseText(REVOLUTION)).toContain(/"(.*)"$/.exec(question.explanation)?.[1]);
      }
    });

    it("leaves options out unless include_options is set (the contract's default)", async () => {
      // Act
      const response = await alice.send("POST", "/ai/qa/generate", { text: NOTES });
      const body = (await response.json()) as QuizBody;

      // Assess
      expect(response.status).toBe(200);
      expect(body.questions).toHaveLength(5);
      expect(body.questions.every((question) => question.options.length === 0 && question.answer !== "")).toBe(true);
    });

    it("quizzes on an uploaded document with citations quoting it", async () => {
      // Act
      const response = await alice.send("POST", "/ai/qa/generate", {
        source_ids: ["src-notes"],
        num_questions: 3,
        include_options: true,
      });
      const body = (await response.json()) as QuizBody;

      // Assess
      expect(response.status).toBe(200);
      expect(body.questions).toHaveLength(3);
      for (const question of body.questions) {
        expectFairOptions(question);
        expectQuotesFromNotes(question.citations);
      }
    });

    it("streams one single-line JSON question per data frame, then done", async () => {
      // Act
      const response = await alice.send("POST", "/ai/qa/generate/stream", {
        text: NOTES,
        num_questions: 3,
        include_options: true,
      });
      const raw = await response.text();

      // Assess
      expect(response.status).toBe(200);
      const events = parseGenericStream(raw);
      expect(events.map((event) => event.event)).toEqual(["message", "message", "message", "done"]);
      for (const event of events.slice(0, 3)) {
        expect(event.data).not.toContain("\n");
        expectFairOptions(JSON.parse(event.data) as Question);
      }
      expect(raw.endsWith("event: done\ndata: \n\n")).toBe(true);
    });

    it("reports material too thin for a quiz as an error event before done", async () => {
      // Act
      const response = await alice.send("POST", "/ai/qa/generate/stream", { text: "Cells are small. Cells divide." });
      const events = parseGenericStream(await response.text());

      // Assess
      expect(response.status).toBe(200);
      expect(events.map((event) => event.event)).toEqual(["error", "done"]);
      expect((JSON.parse(events[0]?.data ?? "{}") as { error: string }).error).toMatch(/not enough material/);
    });

    it("answers thin material with a 400 on the JSON route", async () => {
      // Act
      const response = await alice.send("POST", "/ai/qa/generate", { text: "Cells are small. Cells divide." });

      // Assess
      expect(response.status).toBe(400);
      expect(((await response.json()) as { detail: string }).detail).toMatch(/not enough material/);
    });

    it("builds a quiz from an attached file without storing it", async () => {
      // Prepare
      const before = await alice.listDocuments();

      // Act
      const response = await alice.postFile(
        "/ai/qa/generate/file",
        { name: "revolution.md", bytes: new TextEncoder().encode(REVOLUTION), type: "text/markdown" },
        { num_questions: "2", difficulty: "hard", include_options: "true" },
      );
      const body = (await response.json()) as QuizBody;

      // Assess
      expect(response.status).toBe(200);
      expect(body.questions).toHaveLength(2);
      expect(body.questions.every((question) => question.difficulty === "hard")).toBe(true);
      body.questions.forEach(expectFairOptions);
      expect((await alice.listDocuments()).total).toBe(before.total);
    });

    it("rejects a file quiz with a bad field or without a file", async () => {
      // Act
      const badField = await alice.postFile(
        "/ai/qa/generate/file",
        { name: "notes.md", bytes: new TextEncoder().encode(NOTES) },
        { num_questions: "50" },
      );
      const form = new FormData();
      form.append("num_questions", "2");
      const noFile = await fetch(`${engine.url}/ai/qa/generate/file`, {
        method: "POST",
        headers: { Authorization: `Bearer ${await engine.token("alice")}` },
        body: form,
      });

      // Assess
      expect(badField.status).toBe(422);
      expect(JSON.stringify(await badField.json())).toContain("num_questions");
      expect(noFile.status).toBe(422);
      const detail = ((await noFile.json()) as { detail: Array<{ loc: string[] }> }).detail;
      expect(detail[0]?.loc).toEqual(["form", "file"]);
    });
  });
});

describe("with a stub model", () => {
  let stub: StubLlm;
  let engine: TestEngine;
  let alice: DocumentsClient;

  const quizJson = (sections?: number[]) =>
    JSON.stringify({
      questions: [
        {
          question: "Where does the Calvin cycle take place?",
          options: ["Stroma", "Thylakoid membrane", "Nucleus", "Cell wall"],
          answer: "Stroma",
          explanation: "The stroma contains the enzymes of the Calvin cycle.",
          difficulty: "medium",
          ...(sections ? { sections } : {}),
        },
        {
          question: "Which pigment is the main one?",
          options: ["Carotenoid", "Chlorophyll a", "Chlorophyll b", "Xanthophyll"],
          answer: "B",
          explanation: "Chlorophyll a is the main pigment.",
          difficulty: "easy",
          ...(sections ? { sections } : {}),
        },
      ],
    });

  function chatBodies(): Array<{ response_format?: { type: string }; messages: Array<{ content: string }> }> {
    return stub.requests
      .filter((request) => request.path === "/v1/chat/completions")
      .map((request) => request.body as { messages: Array<{ content: string }> });
  }

  beforeAll(async () => {
    stub = await startStubLlm();
    engine = await startTestEngine({
      ...UNMETERED,
      LLM_BASE_URL: stub.baseUrl,
      LLM_MODEL: "stub-model",
      LLM_MAX_RETRIES: "0",
    });
    alice = documentsClient(engine.url, await engine.token("alice"));
    await uploadNotes(alice, "src-notes");
  });

  afterAll(async () => {
    await engine.cleanup();
    await stub.close();
  });

  beforeEach(() => {
    stub.setBehaviour({ tokens: ["Plants ", "store ", "light ", "as ", "sugar."], responses: [], failWith: undefined });
    stub.requests.length = 0;
  });

  it("summarizes text with the model's words", async () => {
    // Act
    const response = await alice.send("POST", "/ai/summarize", { text: NOTES });
    const body = (await response.json()) as SummaryBody;

    // Assess
    expect(response.status).toBe(200);
    expect(body).toMatchObject({ summary: "Plants store light as sugar.", offline: false, summary_length: 28 });
    expect(chatBodies()[0]?.messages[1]?.content).toContain("Photosynthesis is the process by which plants");
  });

  it("maps the model's section markers of an uploaded document to citations quoting it", async () => {
    // Prepare
    stub.setBehaviour({ tokens: ["- Light ", "becomes sugar [1].\n", "- Oxygen is released [2][99]."] });

    // Act
    const response = await alice.send("POST", "/ai/summarize/stream", { source_ids: ["src-notes"], style: "bullet" });
    const events = parseGenericStream(await response.text());

    // Assess
    expect(events.at(-1)?.event).toBe("done");
    const citations = JSON.parse(events.at(-2)?.data ?? "[]") as Citation[];
    expect(citations.map((citation) => citation.marker)).toEqual([1, 2]);
    expectQuotesFromNotes(citations);
  });

  it("generates a quiz from valid JSON, asking for JSON mode and mapping a letter answer", async () => {
    // Prepare
    stub.setBehaviour({ tokens: [quizJson()] });

    // Act
    const response = await alice.send("POST", "/ai/qa/generate", {
      text: NOTES,
      num_questions: 2,
      include_options: true,
    });
    const body = (await response.json()) as QuizBody;

    // Assess
    expect(response.status).toBe(200);
    expect(body.offline).toBe(false);
    expect(body.questions.map((question) => question.answer)).toEqual(["Stroma", "Chlorophyll a"]);
    body.questions.forEach(expectFairOptions);
    expect(chatBodies()[0]?.response_format).toEqual({ type: "json_object" });
  });

  it("cites the sections the model names for an uploaded document", async () => {
    // Prepare
    stub.setBehaviour({ tokens: [quizJson([1])] });

    // Act
    const response = await alice.send("POST", "/ai/qa/generate", {
      source_ids: ["src-notes"],
      num_questions: 2,
      include_options: true,
    });
    const body = (await response.json()) as QuizBody;

    // Assess
    expect(response.status).toBe(200);
    for (const question of body.questions) expectQuotesFromNotes(question.citations);
  });

  it("answers 502 with a detail when the model's JSON is invalid twice", async () => {
    // Prepare
    stub.setBehaviour({ responses: ["{not json", '{"questions": [{"question": "Why?", "options": ["a", "a"]}]}'] });

    // Act
    const response = await alice.send("POST", "/ai/qa/generate", { text: NOTES, num_questions: 2 });
    const body = (await response.json()) as { detail: string };

    // Assess
    expect(response.status).toBe(502);
    expect(body.detail).toMatch(/valid quiz/);
    expect(chatBodies()).toHaveLength(2);
  });

  it("repairs one invalid answer and streams the questions", async () => {
    // Prepare
    stub.setBehaviour({ responses: ["Here is your quiz!", quizJson()] });

    // Act
    const response = await alice.send("POST", "/ai/qa/generate/stream", {
      text: NOTES,
      num_questions: 2,
      include_options: true,
    });
    const events = parseGenericStream(await response.text());

    // Assess
    expect(events.map((event) => event.event)).toEqual(["message", "message", "done"]);
    expect((JSON.parse(events[1]?.data ?? "{}") as Question).answer).toBe("Chlorophyll a");
  });

  it("falls back to the offline engine when the model endpoint fails", async () => {
    // Prepare
    stub.setBehaviour({ failWith: 503 });

    // Act
    const summary = await alice.send("POST", "/ai/summarize", { source_ids: ["src-notes"], style: "bullet" });
    const quiz = await alice.send("POST", "/ai/qa/generate", { text: NOTES, num_questions: 2, include_options: true });
    stub.setBehaviour({ failWith: undefined });

    // Assess
    expect(summary.status).toBe(200);
    const summaryBody = (await summary.json()) as SummaryBody;
    expect(summaryBody.offline).toBe(true);
    expectQuotesFromNotes(summaryBody.citations);
    expect(quiz.status).toBe(200);
    const quizBody = (await quiz.json()) as QuizBody;
    expect(quizBody.offline).toBe(true);
    quizBody.questions.forEach(expectFairOptions);
  });

  it("ends the quiz stream with an error event when the JSON stays invalid", async () => {
    // Prepare
    stub.setBehaviour({ responses: ["nope", "still nope"] });

    // Act
    const response = await alice.send("POST", "/ai/qa/generate/stream", { text: NOTES, num_questions: 2 });
    const events = parseGenericStream(await response.text());

    // Assess
    expect(response.status).toBe(200);
    expect(events.map((event) => event.event)).toEqual(["error", "done"]);
    expect((JSON.parse(events[0]?.data ?? "{}") as { error: string }).error).toMatch(/valid quiz/);
  });
});
