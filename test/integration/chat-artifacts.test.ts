// Study artifacts requested in the session chat: the reply starts with the artifact in exactly the
// format the notebook's parsers accept (reimplemented in test/support/frontend-parsers.ts).
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectArtifact } from "#shared/copilot/artifacts.ts";
import { type DocumentsClient, documentsClient } from "#test/support/documents.ts";
import { parseSessionStream, startTestEngine, type TestEngine } from "#test/support/engine.ts";
import {
  flashcardsProblems,
  infographicProblems,
  leadingJson,
  mindMapProblems,
  quizTextProblems,
} from "#test/support/frontend-parsers.ts";

let engine: TestEngine;
let student: DocumentsClient;
let sessionId: string;
let material: string;

beforeAll(async () => {
  engine = await startTestEngine({ QUOTA_TOKENS_FREE: "0" });
  student = documentsClient(engine.url, await engine.token("artifact-student"));
  material = await readFile("test/fixtures/corpus/water-cycle.md", "utf8");
  sessionId = ((await (await student.send("POST", "/ai/sessions", { title: "Water cycle" })).json()) as { id: string })
    .id;
  const uploaded = await student.uploadFile("water-cycle.md", new TextEncoder().encode(material), {
    session_id: sessionId,
    source_id: "water",
  });
  expect((await student.settled(uploaded.document_id)).status).toBe("ready");
});

afterAll(async () => {
  await engine.cleanup();
});

async function ask(message: string): Promise<{ text: string; citations: unknown[] }> {
  const response = await student.send("POST", `/ai/sessions/${sessionId}/chat/stream`, { message });
  expect(response.status).toBe(200);
  const parsed = parseSessionStream(await response.text());
  const citations = parsed.events.find((event) => event.event === "citations");
  expect(parsed.events.at(-1)?.event).toBe("done");
  return { text: parsed.text, citations: JSON.parse(citations?.data ?? "[]") as unknown[] };
}

describe("artifact requests in the session stream (offline engine, session material)", () => {
  it("recognises the Studio prompts and leaves ordinary questions alone", () => {
    // Act / Assess
    expect(detectArtifact("###QUIZ_GENERATOR### Generate a quiz from my sources")).toBe("quiz");
    expect(detectArtifact("Create a mind map of the water cycle")).toBe("mindmap");
    expect(detectArtifact("Make flashcards about evaporation")).toBe("flashcards");
    expect(detectArtifact("Design an infographic on rainfall")).toBe("infographic");
    expect(detectArtifact("###COURSE_FINDER### hydrology")).toBe("courses");
    expect(detectArtifact("Write a report on the water cycle")).toBe("report");
    expect(detectArtifact("Why does water evaporate faster on hot days?")).toBeUndefined();
  });

  it("answers a quiz request with the quiz layout first, and stores it", async () => {
    // Act
    const reply = await ask("###QUIZ_GENERATOR### Create a quiz about the water cycle");
    const messages = (await (await student.get(`/ai/sessions/${sessionId}/messages`)).json()) as Array<{
      role: string;
      content: string;
    }>;

    // Assess
    expect(quizTextProblems(reply.text.split("\n\nGood luck")[0] ?? "", 5)).toEqual([]);
    expect(reply.citations.length).toBeGreaterThan(0);
    expect(messages.at(-1)).toMatchObject({ role: "assistant", content: reply.text });
  });

  it("answers a mind map request with valid mind-map JSON of words from the material", async () => {
    // Act
    const reply = await ask("Create a mind map of the water cycle");

    // Assess
    expect(mindMapProblems(leadingJson(reply.text), material)).toEqual([]);
  });

  it("answers a flashcards request with flashcard JSON and the word 'flashcard' in the reply", async () => {
    // Act
    const reply = await ask("Make flashcards about the water cycle");

    // Assess
    expect(flashcardsProblems(leadingJson(reply.text))).toEqual([]);
    expect(reply.text.toLowerCase()).toContain("flashcard");
  });

  it("answers an infographic request with infographic JSON and the word 'infographic' in the reply", async () => {
    // Act
    const reply = await ask("Create an infographic about the water cycle");

    // Assess
    expect(infographicProblems(leadingJson(reply.text))).toEqual([]);
    expect(reply.text.toLowerCase()).toContain("infographic");
  });

  it("answers a report request with markdown headings and bullets quoting the material", async () => {
    // Act
    const reply = await ask("Write a report on the water cycle");

    // Assess
    expect(reply.text).toMatch(/^#{1,3} /m);
    expect(reply.text).toMatch(/^- /m);
    const bullets = reply.text.split("\n").filter((line) => line.startsWith("- "));
    const normalised = material.replace(/\s+/g, " ");
    const firstBullet = (bullets[0] ?? "").replace(/^- /, "").replace(/\s*\[\d+\]\s*$/, "");
    expect(normalised).toContain(firstBullet.replace(/\s+/g, " "));
  });

  it("says web search is not configured when asked for courses without a key, as a stream error", async () => {
    // Act
    const response = await student.send("POST", `/ai/sessions/${sessionId}/chat/stream`, {
      message: "###COURSE_FINDER### hydrology",
    });
    const parsed = parseSessionStream(await response.text());

    // Assess
    const error = parsed.events.find((event) => event.event === "error");
    expect(JSON.parse(error?.data ?? "{}")).toMatchObject({
      error: expect.stringMatching(/web search is not configured/i),
    });
    expect(parsed.events.at(-1)?.event).toBe("done");
  });
});

describe("artifact requests in the session stream with a model", () => {
  it("builds the quiz from the model's questions, in the notebook's quiz layout", async () => {
    // Prepare
    const { startStubLlm } = await import("#test/support/stub-llm.ts");
    const stub = await startStubLlm({
      tokens: [
        JSON.stringify({
          questions: [
            {
              question: "Where does most evaporation happen?",
              options: ["Over the oceans", "In glaciers", "In aquifers", "In the mantle"],
              answer: "Over the oceans",
              explanation: "Oceans hold most of the Earth's water and absorb most sunlight.",
              difficulty: "medium",
            },
          ],
        }),
      ],
    });
    const withModel = await startTestEngine({
      QUOTA_TOKENS_FREE: "0",
      LLM_BASE_URL: stub.baseUrl,
      LLM_MODEL: "stub-model",
      LLM_MAX_RETRIES: "0",
    });
    const client = documentsClient(withModel.url, await withModel.token("model-student"));
    const session = ((await (await client.send("POST", "/ai/sessions", {})).json()) as { id: string }).id;

    // Act
    const response = await client.send("POST", `/ai/sessions/${session}/chat/stream`, {
      message: "###QUIZ_GENERATOR### Create a quiz about evaporation",
    });
    const parsed = parseSessionStream(await response.text());
    const sentToModel = stub.requests.find((request) => request.path === "/v1/chat/completions")?.body as {
      response_format?: { type: string };
    };
    await withModel.cleanup();
    await stub.close();

    // Assess
    const quiz = parsed.text.split("\n\nGood luck")[0] ?? "";
    expect(quizTextProblems(quiz)).toEqual([]);
    expect(quiz).toContain("Question 1: Where does most evaporation happen?");
    expect(quiz).toMatch(/Answer: A/);
    expect(sentToModel.response_format).toEqual({ type: "json_object" });
  });
});
