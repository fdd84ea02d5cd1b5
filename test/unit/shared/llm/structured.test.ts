// generateStructured against a stub OpenAI-compatible endpoint: JSON mode is requested, valid and
// fenced JSON pass, one invalid answer is repaired with the validation errors, two fail with a 502.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { ChatModel } from "#shared/llm/chat-model.ts";
import { createOpenAICompatibleChatModel } from "#shared/llm/openai-compatible.ts";
import { extractJson, generateStructured, StructuredOutputError } from "#shared/llm/structured.ts";
import { type StubLlm, startStubLlm } from "#test/support/stub-llm.ts";

const Card = z.object({ front: z.string().min(1), back: z.string().min(1) });
const VALID = '{"front": "Stroma", "back": "The fluid inside a chloroplast"}';

let stub: StubLlm;
let model: ChatModel;

interface ChatBody {
  messages: Array<{ role: string; content: string }>;
  response_format?: { type: string };
}

function chatBodies(): ChatBody[] {
  return stub.requests.filter((request) => request.path === "/v1/chat/completions").map((r) => r.body as ChatBody);
}

function ask() {
  return generateStructured({
    model,
    schema: Card,
    name: "flashcard",
    messages: [{ role: "user", content: "Make one flashcard about the stroma." }],
  });
}

beforeAll(async () => {
  stub = await startStubLlm();
  model = createOpenAICompatibleChatModel({
    baseUrl: stub.baseUrl,
    model: "stub-model",
    timeoutMs: 5_000,
    maxRetries: 0,
  });
});

afterAll(async () => {
  await stub.close();
});

beforeEach(() => {
  stub.setBehaviour({ tokens: [VALID], responses: [] });
  stub.requests.length = 0;
});

describe("generateStructured", () => {
  it("returns the validated value of a valid JSON answer in one attempt", async () => {
    // Act
    const result = await ask();

    // Assess
    expect(result.value).toEqual({ front: "Stroma", back: "The fluid inside a chloroplast" });
    expect(result.attempts).toBe(1);
    expect(chatBodies()).toHaveLength(1);
  });

  it("asks the endpoint for a JSON object (response_format json_object)", async () => {
    // Act
    await ask();

    // Assess
    expect(chatBodies()[0]?.response_format).toEqual({ type: "json_object" });
  });

  it("accepts JSON inside a fenced code block with commentary around it", async () => {
    // Prepare
    stub.setBehaviour({ tokens: [`Here you go:\n\`\`\`json\n${VALID}\n\`\`\`\nGood luck!`] });

    // Act
    const result = await ask();

    // Assess
    expect(result.value.front).toBe("Stroma");
    expect(result.attempts).toBe(1);
  });

  it("repairs an invalid answer once, sending the problem back to the model", async () => {
    // Prepare
    stub.setBehaviour({ responses: ['{"front": "Stroma"}', VALID] });

    // Act
    const result = await ask();

    // Assess
    expect(result.value.back).toBe("The fluid inside a chloroplast");
    expect(result.attempts).toBe(2);
    const bodies = chatBodies();
    expect(bodies).toHaveLength(2);
    const repair = bodies[1]?.messages ?? [];
    expect(repair.at(-2)).toEqual({ role: "assistant", content: '{"front": "Stroma"}' });
    expect(repair.at(-1)?.role).toBe("user");
    expect(repair.at(-1)?.content).toContain("back");
  });

  it("repairs an answer that is not JSON at all", async () => {
    // Prepare
    stub.setBehaviour({ responses: ["Sorry, I cannot do JSON today.", VALID] });

    // Act
    const result = await ask();

    // Assess
    expect(result.value.front).toBe("Stroma");
    expect(chatBodies()[1]?.messages.at(-1)?.content).toMatch(/not valid JSON/);
  });

  it("fails with a 502 StructuredOutputError when the repaired answer is still invalid", async () => {
    // Prepare
    stub.setBehaviour({ responses: ["not json", '{"front": ""}'] });

    // Act
    const failure = await ask().catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(StructuredOutputError);
    expect(failure).toMatchObject({ statusCode: 502, expose: true });
    expect((failure as Error).message).toContain("flashcard");
    expect(chatBodies()).toHaveLength(2);
  });
});

describe("extractJson", () => {
  it("finds the first balanced object after leading prose, ignoring braces inside strings", () => {
    // Act
    const value = extractJson('Sure! {"front": "a } brace", "back": "b"} and more text');

    // Assess
    expect(value).toEqual({ front: "a } brace", back: "b" });
  });
});
