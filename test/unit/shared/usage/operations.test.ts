import { describe, expect, it } from "vitest";
import { classifyAiOperation } from "#shared/usage/operations.ts";

describe("classifyAiOperation", () => {
  it("names the operation of every AI route of the contract", () => {
    // Prepare
    const routes: Array<[string, string, string]> = [
      ["POST", "/ai/chat", "chat"],
      ["POST", "/ai/chat/stream", "chat"],
      ["POST", "/ai/sessions/65f0c0ffee0000000000abcd/chat/stream", "chat"],
      ["GET", "/ai/sessions/65f0c0ffee0000000000abcd/chat/stream", "chat"],
      ["POST", "/ai/qa", "qa"],
      ["POST", "/ai/qa/file/stream", "qa"],
      ["POST", "/ai/qa/generate", "quiz"],
      ["POST", "/ai/qa/generate/stream", "quiz"],
      ["POST", "/ai/summarize", "summarize"],
      ["POST", "/ai/summarize/stream", "summarize"],
      ["POST", "/ai/mindmap", "mindmap"],
      ["POST", "/ai/flashcards", "flashcards"],
      ["POST", "/ai/generate-study-plan", "study_plan"],
    ];

    // Act
    const operations = routes.map(([method, path]) => classifyAiOperation(method, path));

    // Assess
    expect(operations).toEqual(routes.map(([, , operation]) => operation));
  });

  it("leaves routes that never call the model unmetered", () => {
    // Prepare
    const routes: Array<[string, string]> = [
      ["GET", "/ai/sessions"],
      ["POST", "/ai/sessions/65f0c0ffee0000000000abcd/messages"],
      ["POST", "/ai/mindmap/render"],
      ["POST", "/ai/flashcards/deck-1/review"],
      ["GET", "/ai/usage/me"],
      ["POST", "/ai/upload"],
      ["GET", "/ai/chat"],
      ["POST", "/ai/chatter"],
      ["GET", "/health"],
    ];

    // Act
    const operations = routes.map(([method, path]) => classifyAiOperation(method, path));

    // Assess
    expect(operations).toEqual(routes.map(() => undefined));
  });
});
