import { describe, expect, it } from "vitest";
import type { ChatChunk, ChatModel, ChatRequest, TokenUsage } from "#shared/llm/chat-model.ts";
import { createOfflineChatModel } from "#shared/llm/offline.ts";
import { meteredModel, UsageMeter } from "#shared/usage/meter.ts";

const request: ChatRequest = { messages: [{ role: "user", content: "What is osmosis? Explain briefly." }] };

/** A model that answers with fixed chunks and reports (or withholds) usage like an endpoint would. */
function fakeModel(options: { usage?: TokenUsage; failAfter?: number } = {}): ChatModel {
  const words = ["Water ", "moves ", "across."];
  return {
    info: { kind: "openai-compatible", model: "fake-model" },
    async *stream(): AsyncIterable<ChatChunk> {
      for (const [index, word] of words.entries()) {
        if (options.failAfter === index) throw new Error("endpoint failed");
        yield { text: word };
      }
      if (options.usage) yield { text: "", usage: options.usage };
    },
    async complete() {
      if (options.failAfter !== undefined) throw new Error("endpoint failed");
      return { text: words.join(""), ...(options.usage ? { usage: options.usage } : {}) };
    },
    health: async () => ({ status: "ok" }),
  };
}

async function drain(stream: AsyncIterable<ChatChunk>): Promise<string> {
  let text = "";
  for await (const chunk of stream) text += chunk.text;
  return text;
}

describe("meteredModel", () => {
  it("sums the reported usage of every model call of a request", async () => {
    // Prepare
    const meter = new UsageMeter();
    const model = meteredModel(fakeModel({ usage: { inputTokens: 40, outputTokens: 3 } }), meter);

    // Act
    await drain(model.stream(request));
    await model.complete(request);
    await drain(model.stream(request));

    // Assess
    expect(meter.snapshot()).toEqual({
      inputTokens: 120,
      outputTokens: 9,
      estimated: false,
      models: ["fake-model"],
      calls: 3,
      failedCalls: 0,
    });
  });

  it("marks the offline engine's counts as estimates", async () => {
    // Prepare
    const meter = new UsageMeter();
    const model = meteredModel(createOfflineChatModel(), meter);

    // Act
    const answer = await drain(model.stream(request));

    // Assess
    const usage = meter.snapshot();
    expect(usage.estimated).toBe(true);
    expect(usage.models).toEqual(["offline-engine"]);
    expect(usage.outputTokens).toBe(Math.ceil(answer.length / 4));
    expect(usage.inputTokens).toBeGreaterThan(0);
  });

  it("estimates a call whose endpoint reports no usage, and says so", async () => {
    // Prepare
    const meter = new UsageMeter();
    const model = meteredModel(fakeModel(), meter);

    // Act
    await drain(model.stream(request));

    // Assess
    expect(meter.snapshot()).toMatchObject({
      inputTokens: Math.ceil((request.messages[0]?.content.length ?? 0) / 4),
      outputTokens: Math.ceil("Water moves across.".length / 4),
      estimated: true,
    });
  });

  it("does not charge a call that failed before producing any text, but counts the failure", async () => {
    // Prepare
    const meter = new UsageMeter();
    const model = meteredModel(fakeModel({ failAfter: 0 }), meter);

    // Act
    const outcome = await drain(model.stream(request)).catch((error: Error) => error);

    // Assess
    expect(outcome).toBeInstanceOf(Error);
    expect(meter.snapshot()).toMatchObject({ inputTokens: 0, outputTokens: 0, calls: 1, failedCalls: 1 });
  });

  it("charges each request's meter only with its own calls when requests share one model", async () => {
    // Prepare
    const shared = fakeModel({ usage: { inputTokens: 5, outputTokens: 3 } });
    const first = new UsageMeter();
    const second = new UsageMeter();
    const forFirst = meteredModel(shared, first);
    const forSecond = meteredModel(shared, second);

    // Act: interleaved, as concurrent requests are
    const [a, b, c] = await Promise.all([
      drain(forFirst.stream(request)),
      drain(forSecond.stream(request)),
      drain(forFirst.stream(request)),
    ]);

    // Assess
    expect([a, b, c]).toEqual(["Water moves across.", "Water moves across.", "Water moves across."]);
    expect(first.snapshot()).toMatchObject({ inputTokens: 10, outputTokens: 6, calls: 2 });
    expect(second.snapshot()).toMatchObject({ inputTokens: 5, outputTokens: 3, calls: 1 });
  });
});

describe("UsageMeter", () => {
  it("hands usage that arrives after sealing to the late-usage listener", () => {
    // Prepare
    const meter = new UsageMeter();
    const late: TokenUsage[] = [];
    meter.add({ inputTokens: 10, outputTokens: 2 }, { model: "m", estimated: false });

    // Act
    const sealed = meter.seal((usage) => late.push(usage));
    meter.add({ inputTokens: 7, outputTokens: 1 }, { model: "m", estimated: false });

    // Assess
    expect(sealed).toMatchObject({ inputTokens: 10, outputTokens: 2 });
    expect(late).toEqual([{ inputTokens: 7, outputTokens: 1 }]);
    expect(meter.snapshot()).toMatchObject({ inputTokens: 10, outputTokens: 2 });
  });

  it("resolves whenIdle once the running model calls end", async () => {
    // Prepare
    const meter = new UsageMeter();
    meter.callStarted();
    let idle = false;
    const waiting = meter.whenIdle().then(() => {
      idle = true;
    });

    // Act
    await Promise.resolve();
    const before = idle;
    meter.callEnded(false);
    await waiting;

    // Assess
    expect(before).toBe(false);
    expect(idle).toBe(true);
  });
});
