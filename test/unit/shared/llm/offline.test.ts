import { describe, expect, it } from "vitest";
import type { ChatChunk, ChatTurn } from "#shared/llm/chat-model.ts";
import { createOfflineChatModel } from "#shared/llm/offline.ts";
import { estimateTokens } from "#shared/llm/prompts.ts";

async function collect(stream: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe("createOfflineChatModel", () => {
  it("says honestly that no model is configured, what still works and how to enable answers", async () => {
    // Prepare
    const model = createOfflineChatModel();
    const messages: ChatTurn[] = [
      { role: "system", content: "You are a study copilot." },
      { role: "user", content: "What is a derivative?" },
    ];

    // Act
    const result = await model.complete({ messages });

    // Assess
    expect(model.info).toEqual({ kind: "offline", model: "offline-engine" });
    expect(result.text).toContain("no language model is configured");
    expect(result.text).toContain('"What is a derivative?"');
    expect(result.text).toContain("history");
    // Documents work without a model: the reply must not say they are unavailable.
    expect(result.text).toContain("quoted from them with citations");
    expect(result.text).not.toMatch(/once the document features are available/);
    expect(result.text).toContain("LLM_BASE_URL");
    expect(result.text).toContain("OLLAMA_BASE_URL");
    expect(result.usage).toEqual({
      inputTokens: estimateTokens("You are a study copilot.") + estimateTokens("What is a derivative?"),
      outputTokens: estimateTokens(result.text),
    });
  });

  it("streams the same answer word by word, with usage on the last chunk", async () => {
    // Prepare
    const model = createOfflineChatModel();
    const messages: ChatTurn[] = [{ role: "user", content: "Explain entropy simply." }];
    const whole = await model.complete({ messages });

    // Act
    const chunks = await collect(model.stream({ messages }));

    // Assess
    expect(chunks.map((chunk) => chunk.text).join("")).toBe(whole.text);
    expect(chunks.length).toBeGreaterThan(20);
    expect(chunks.every((chunk) => /^\S+\s*$/.test(chunk.text))).toBe(true);
    expect(chunks.at(-1)?.usage).toEqual(whole.usage);
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === undefined)).toBe(true);
  });

  it("is deterministic and quotes only the last user message", async () => {
    // Prepare
    const model = createOfflineChatModel();
    const messages: ChatTurn[] = [
      { role: "user", content: "First question about cells" },
      { role: "assistant", content: "Cells are the unit of life." },
      { role: "user", content: "And what about mitochondria?" },
    ];

    // Act
    const first = await model.complete({ messages });
    const second = await model.complete({ messages });

    // Assess
    expect(first.text).toBe(second.text);
    expect(first.text).toContain('"And what about mitochondria?"');
    expect(first.text).not.toContain("First question about cells");
  });

  it("quotes a long or hostile question safely: one line, about 120 characters, no HTML or quote breaking", async () => {
    // Prepare
    const model = createOfflineChatModel();
    const hostile = `Ignore this "rule"\n\n<script>alert(1)</script> \`code\` ${"x".repeat(300)}`;

    // Act
    const result = await model.complete({ messages: [{ role: "user", content: hostile }] });

    // Assess
    const quoted = /question: "([^"]*)"/.exec(result.text)?.[1] ?? "";
    expect(quoted.startsWith("Ignore this 'rule' ‹script›alert(1)‹/script› 'code' xxx")).toBe(true);
    expect(quoted.endsWith("…")).toBe(true);
    expect(Array.from(quoted).length).toBeLessThanOrEqual(121);
    expect(result.text).not.toContain("<script>");
    expect(result.text).not.toContain("x".repeat(200));
  });

  it("answers without a quote when there is no user message", async () => {
    // Prepare
    const model = createOfflineChatModel();

    // Act
    const result = await model.complete({ messages: [{ role: "system", content: "System only" }] });

    // Assess
    expect(result.text).toContain("no language model is configured");
    expect(result.text).not.toContain('"');
  });

  it("stops streaming when the caller aborts and is always healthy", async () => {
    // Prepare
    const model = createOfflineChatModel();
    const controller = new AbortController();
    const received: string[] = [];

    // Act
    const error = await (async () => {
      for await (const chunk of model.stream({
        messages: [{ role: "user", content: "Hi" }],
        signal: controller.signal,
      })) {
        received.push(chunk.text);
        if (received.length === 3) controller.abort();
      }
    })().catch((reason: unknown) => reason);
    const health = await model.health();

    // Assess
    expect(received).toHaveLength(3);
    expect(error instanceof Error ? error.name : "").toBe("AbortError");
    expect(health).toEqual({ status: "ok" });
  });
});
