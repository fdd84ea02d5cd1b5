import { describe, expect, it } from "vitest";
import { classifyRoute } from "#shared/limits/route-classes.ts";

describe("classifyRoute", () => {
  it("puts chat, chat streams and questions on documents in the chat class", () => {
    // Act
    const classes = [
      classifyRoute("POST", "/ai/chat"),
      classifyRoute("POST", "/ai/chat/stream"),
      classifyRoute("POST", "/ai/sessions/65f0c0ffee0000000000abcd/chat/stream"),
      classifyRoute("GET", "/ai/sessions/65f0c0ffee0000000000abcd/chat/stream"),
      classifyRoute("POST", "/ai/qa"),
      classifyRoute("POST", "/ai/qa/stream"),
      classifyRoute("POST", "/ai/qa/file/stream"),
      classifyRoute("POST", "/ai/chat/"),
    ];

    // Assess
    expect(new Set(classes)).toEqual(new Set(["chat"]));
  });

  it("puts the study tools in generate and new documents in upload", () => {
    // Act
    const generate = [
      classifyRoute("POST", "/ai/summarize"),
      classifyRoute("POST", "/ai/summarize/stream"),
      classifyRoute("POST", "/ai/qa/generate"),
      classifyRoute("POST", "/ai/qa/generate/stream"),
      classifyRoute("POST", "/ai/qa/generate/file"),
      classifyRoute("POST", "/ai/mindmap"),
      classifyRoute("POST", "/ai/flashcards"),
      classifyRoute("post", "/ai/generate-study-plan"),
    ];
    const upload = [
      classifyRoute("POST", "/ai/upload"),
      classifyRoute("POST", "/ai/documents"),
      classifyRoute("POST", "/ai/documents/file"),
      classifyRoute("POST", "/ai/documents/url"),
    ];

    // Assess
    expect(new Set(generate)).toEqual(new Set(["generate"]));
    expect(new Set(upload)).toEqual(new Set(["upload"]));
  });

  it("treats everything else, including cheap study actions, as read", () => {
    // Act
    const classes = [
      classifyRoute("GET", "/ai/sessions"),
      classifyRoute("GET", "/ai/documents"),
      classifyRoute("DELETE", "/ai/documents/65f0c0ffee0000000000abcd"),
      classifyRoute("GET", "/ai/upload/status/abc"),
      classifyRoute("POST", "/ai/sessions/65f0c0ffee0000000000abcd/messages"),
      classifyRoute("POST", "/ai/mindmap/render"),
      classifyRoute("POST", "/ai/flashcards/deck-1/review"),
      classifyRoute("GET", "/ai/flashcards"),
      classifyRoute("GET", "/ai/usage/me"),
    ];

    // Assess
    expect(new Set(classes)).toEqual(new Set(["read"]));
  });
});
