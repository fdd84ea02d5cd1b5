import { afterEach, describe, expect, it } from "vitest";
import type { ChatChunk } from "#shared/llm/chat-model.ts";
import { ModelTimeoutError, ModelUnavailableError } from "#shared/llm/errors.ts";
import { createThreadedChatModel, reviveError } from "#shared/llm/threaded.ts";
import { type StubLlm, startStubLlm } from "#test/support/stub-llm.ts";

const stubs: StubLlm[] = [];

afterEach(async () => {
  await Promise.all(stubs.splice(0).map((stub) => stub.close()));
});

describe("reviveError", () => {
  it("gives back the model's own error classes with their messages, and aborts as AbortError", () => {
    const unavailable = reviveError({ name: "ModelUnavailableError", message: "The language model is unavailable: x" });
    const timeout = reviveError({ name: "ModelTimeoutError", message: "The language model did not answer in time: y" });
    const abort = reviveError({ name: "AbortError", message: "aborted" });
    const other = reviveError({ name: "TypeError", message: "z" });

    expect(unavailable).toBeInstanceOf(ModelUnavailableError);
    expect(unavailable.message).toBe("The language model is unavailable: x");
    expect((unavailable as ModelUnavailableError).statusCode).toBe(502);
    expect(timeout).toBeInstanceOf(ModelTimeoutError);
    expect(timeout.message).toBe("The language model did not answer in time: y");
    expect(abort.name).toBe("AbortError");
    expect(other).toMatchObject({ name: "TypeError", message: "z" });
  });
});

/** A model thread against a fresh stub serving `behaviour` (returned too), ready to take calls. */
async function readyModel(behaviour: Parameters<typeof startStubLlm>[0]) {
  const stub = await startStubLlm(behaviour);
  stubs.push(stub);
  const model = createThreadedChatModel({
    baseUrl: stub.baseUrl,
    model: "stub-model",
    timeoutMs: 5_000,
    maxRetries: 0,
  });
  await model.ready();
  return { model, stub };
}

describe("createThreadedChatModel", () => {
  it("serves concurrent streams from one thread, each with its own tokens in order", async () => {
    // Prepare
    const { model } = await readyModel({ tokens: ["a ", "b ", "c ", "d"], tokenDelayMs: 10 });

    // Act
    const collect = async () => {
      const chunks: ChatChunk[] = [];
      for await (const chunk of model.stream({ messages: [{ role: "user", content: "hi" }] })) chunks.push(chunk);
      return chunks.map((chunk) => chunk.text).join("");
    };
    const answers = await Promise.all(Array.from({ length: 8 }, collect));
    await model.close();

    // Assess
    expect(answers).toEqual(Array.from({ length: 8 }, () => "a b c d"));
  });

  it("hands tokens that arrived while the caller was busy over as one chunk, usage included", async () => {
    // Prepare
    const tokens = ["Mitosis ", "makes ", "two ", "identical ", "cells."];
    const { model } = await readyModel({ tokens, tokenDelayMs: 5 });
    const chunks: ChatChunk[] = [];

    // Act
    for await (const chunk of model.stream({ messages: [{ role: "user", content: "hi" }] })) {
      chunks.push(chunk);
      if (chunks.length === 1) await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await model.close();

    // Assess
    expect(chunks[0]?.text).toBe("Mitosis ");
    expect(chunks).toHaveLength(2);
    expect(chunks[1]?.text).toBe("makes two identical cells.");
    expect(chunks[1]?.usage?.outputTokens).toBeGreaterThan(0);
  });

  it("stops the call on the thread when the caller stops reading, or when its signal aborts", async () => {
    // Prepare: answers far longer than either caller waits for
    const { model, stub } = await readyModel({ tokens: Array.from({ length: 200 }, () => "x "), tokenDelayMs: 20 });
    const messages = [{ role: "user" as const, content: "hi" }];
    const controller = new AbortController();

    // Act
    let read = 0;
    for await (const chunk of model.stream({ messages })) {
      read += chunk.text.length;
      if (read >= 4) break;
    }
    const aborted = (async () => {
      for await (const _chunk of model.stream({ messages, signal: controller.signal })) controller.abort();
    })().catch((error: unknown) => error);
    const abortError = await aborted;
    await expect.poll(() => stub.requests.filter((request) => request.closedByClient).length).toBe(2);
    await model.close();

    // Assess: both connections closed by the client, long before the answers' ends
    expect((abortError as Error).name).toBe("AbortError");
    expect(stub.requests.every((request) => request.tokensWritten < 50)).toBe(true);
  });

  it("fails calls in flight and later ones as unavailable once closed", async () => {
    // Prepare
    const { model } = await readyModel({ tokens: Array.from({ length: 50 }, () => "x "), tokenDelayMs: 50 });
    const received: string[] = [];
    const running = (async () => {
      for await (const chunk of model.stream({ messages: [{ role: "user", content: "hi" }] })) {
        received.push(chunk.text);
        if (received.length === 2) void model.close();
      }
    })().catch((error: unknown) => error);

    // Act
    const inFlight = await running;
    const later = await model
      .complete({ messages: [{ role: "user", content: "hi" }] })
      .catch((error: unknown) => error);

    // Assess
    expect(received.length).toBeGreaterThanOrEqual(2);
    expect(inFlight).toBeInstanceOf(ModelUnavailableError);
    expect(later).toBeInstanceOf(ModelUnavailableError);
  });
});
