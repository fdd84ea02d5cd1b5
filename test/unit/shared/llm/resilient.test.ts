import { describe, expect, it } from "vitest";
import type { ChatChunk, ChatModel, ChatRequest } from "#shared/llm/chat-model.ts";
import { ModelTimeoutError, ModelUnavailableError } from "#shared/llm/errors.ts";
import { createOfflineFallbackChatModel } from "#shared/llm/offline-fallback.ts";
import { circuitStateOf, degradedNoticeOf, type ResilienceEvent, withResilience } from "#shared/llm/resilient.ts";

type Script = { kind: "ok"; tokens: string[] } | { kind: "fail"; error: unknown; afterTokens?: string[] };

/** A scripted primary: each call takes the next step (the last one repeats) and is counted. */
function scriptedModel(steps: Script[]): ChatModel & { calls: number } {
  const model = {
    calls: 0,
    info: { kind: "openai-compatible" as const, model: "scripted", baseUrl: "http://127.0.0.1:1/v1" },
    async *stream(_request: ChatRequest): AsyncIterable<ChatChunk> {
      const step = steps[Math.min(model.calls, steps.length - 1)];
      model.calls += 1;
      if (!step) throw new Error("no script");
      if (step.kind === "ok") {
        for (const token of step.tokens) yield { text: token };
        return;
      }
      for (const token of step.afterTokens ?? []) yield { text: token };
      throw step.error;
    },
    async complete(request: ChatRequest) {
      let text = "";
      for await (const chunk of model.stream(request)) text += chunk.text;
      return { text };
    },
    async health() {
      return { status: "ok" as const };
    },
  };
  return model;
}

/** A stream that fails before its first chunk, optionally after waiting for `gate`. */
async function* failing(error: unknown, gate?: Promise<void>): AsyncIterable<ChatChunk> {
  await gate;
  if (error !== undefined) throw error;
  yield { text: "" };
}

async function run(model: ChatModel): Promise<{ text: string; notice?: string; error?: unknown }> {
  let text = "";
  let notice: string | undefined;
  try {
    for await (const chunk of model.stream({ messages: [{ role: "user", content: "Explain osmosis" }] })) {
      notice ??= degradedNoticeOf(chunk)?.reason;
      text += chunk.text;
    }
  } catch (error) {
    return { text, ...(notice ? { notice } : {}), error };
  }
  return notice ? { text, notice } : { text };
}

const down = () => new ModelUnavailableError("the model endpoint could not be reached");

describe("withResilience", () => {
  it("surfaces failures below the threshold, then opens and answers that request from the fallback", async () => {
    // Prepare
    const primary = scriptedModel([{ kind: "fail", error: down() }]);
    const events: ResilienceEvent[] = [];
    const model = withResilience(primary, createOfflineFallbackChatModel(), {
      failureThreshold: 3,
      openMs: 30_000,
      onEvent: (event) => events.push(event),
    });

    // Act
    const first = await run(model);
    const second = await run(model);
    const third = await run(model);

    // Assess
    expect(first.error).toBeInstanceOf(ModelUnavailableError);
    expect(second.error).toBeInstanceOf(ModelUnavailableError);
    expect(circuitStateOf(model)).toBe("open");
    expect(third.error).toBeUndefined();
    expect(third.text).toContain("unavailable right now");
    expect(third.notice).toMatch(/could not be reached, so the offline engine answered/);
    expect(events).toContainEqual({ type: "circuit", from: "closed", to: "open" });
    expect(events.filter((event) => event.type === "fallback")).toHaveLength(1);
  });

  it("counts timeouts and resets the count after a success", async () => {
    // Prepare
    const timeout = new ModelTimeoutError("no first token within 500 ms");
    const primary = scriptedModel([
      { kind: "fail", error: timeout },
      { kind: "ok", tokens: ["fine"] },
      { kind: "fail", error: timeout },
      { kind: "fail", error: timeout },
    ]);
    const model = withResilience(primary, createOfflineFallbackChatModel(), { failureThreshold: 2, openMs: 1_000 });

    // Act
    const outcomes = [await run(model), await run(model), await run(model)];
    const stateBefore = circuitStateOf(model);
    const fourth = await run(model);

    // Assess
    expect(outcomes.map((outcome) => outcome.error instanceof ModelTimeoutError)).toEqual([true, false, true]);
    expect(outcomes[1]?.text).toBe("fine");
    expect(stateBefore).toBe("closed");
    expect(fourth.notice).toMatch(/did not answer in time/);
    expect(circuitStateOf(model)).toBe("open");
  });

  it("sends requests to the fallback at once while open, without calling the endpoint", async () => {
    // Prepare
    const primary = scriptedModel([{ kind: "fail", error: down() }]);
    const model = withResilience(primary, createOfflineFallbackChatModel(), { failureThreshold: 1, openMs: 60_000 });
    await run(model);
    const callsWhenOpened = primary.calls;

    // Act
    const started = performance.now();
    const answers = await Promise.all([run(model), run(model), run(model)]);
    const elapsedMs = performance.now() - started;

    // Assess
    expect(primary.calls).toBe(callsWhenOpened);
    for (const answer of answers) {
      expect(answer.notice).toMatch(/unavailable right now/);
      expect(answer.text).toContain("unavailable right now");
    }
    expect(elapsedMs).toBeLessThan(50);
  });

  it("lets one half-open probe through after openMs and closes on its success", async () => {
    // Prepare
    let now = 1_000_000;
    const primary = scriptedModel([
      { kind: "fail", error: down() },
      { kind: "ok", tokens: ["back ", "again"] },
    ]);
    const model = withResilience(primary, createOfflineFallbackChatModel(), {
      failureThreshold: 1,
      openMs: 30_000,
      now: () => now,
    });
    await run(model);

    // Act
    now += 29_999;
    const stillOpen = circuitStateOf(model);
    const beforeProbe = await run(model);
    now += 1;
    const halfOpen = circuitStateOf(model);
    const probe = await run(model);

    // Assess
    expect(stillOpen).toBe("open");
    expect(beforeProbe.notice).toBeDefined();
    expect(halfOpen).toBe("half-open");
    expect(probe).toEqual({ text: "back again" });
    expect(circuitStateOf(model)).toBe("closed");
    expect(primary.calls).toBe(2);
  });

  it("admits a single probe at a time while half-open and re-opens when it fails", async () => {
    // Prepare
    let now = 0;
    let releaseProbe: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      releaseProbe = resolve;
    });
    let calls = 0;
    const primary: ChatModel = {
      info: { kind: "openai-compatible", model: "slow" },
      stream() {
        calls += 1;
        if (calls === 1) return failing(down());
        return failing(down(), gate);
      },
      complete: async () => ({ text: "" }),
      health: async () => ({ status: "down" }),
    };
    const model = withResilience(primary, createOfflineFallbackChatModel(), {
      failureThreshold: 1,
      openMs: 10,
      now: () => now,
    });
    await run(model);
    now = 10;

    // Act
    const probe = run(model);
    const concurrent = await run(model);
    releaseProbe();
    const probed = await probe;

    // Assess
    expect(calls).toBe(2);
    expect(concurrent.notice).toMatch(/unavailable right now/);
    expect(probed.notice).toMatch(/could not be reached/);
    expect(circuitStateOf(model)).toBe("open");
  });

  it("propagates a failure after the first token without replaying on the fallback, and counts it", async () => {
    // Prepare
    const primary = scriptedModel([{ kind: "fail", error: down(), afterTokens: ["Osmosis ", "is "] }]);
    const events: ResilienceEvent[] = [];
    const model = withResilience(primary, createOfflineFallbackChatModel(), {
      failureThreshold: 1,
      openMs: 30_000,
      onEvent: (event) => events.push(event),
    });

    // Act
    const outcome = await run(model);

    // Assess
    expect(outcome.text).toBe("Osmosis is ");
    expect(outcome.error).toBeInstanceOf(ModelUnavailableError);
    expect(outcome.notice).toBeUndefined();
    expect(circuitStateOf(model)).toBe("open");
    expect(events.some((event) => event.type === "fallback")).toBe(false);
  });

  it("does not count a caller's abort or a foreign error as an endpoint failure", async () => {
    // Prepare
    const controller = new AbortController();
    const primary: ChatModel = {
      info: { kind: "openai-compatible", model: "m" },
      stream(request) {
        return failing(request.signal?.aborted ? request.signal.reason : new RangeError("a bug, not the endpoint"));
      },
      complete: async () => ({ text: "" }),
      health: async () => ({ status: "ok" }),
    };
    const model = withResilience(primary, createOfflineFallbackChatModel(), { failureThreshold: 1, openMs: 1_000 });
    controller.abort();

    // Act
    const aborted = await (async () => {
      try {
        for await (const _ of model.stream({ messages: [], signal: controller.signal })) {
        }
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    const foreign = await run(model);

    // Assess
    expect(aborted).toBe(controller.signal.reason);
    expect(foreign.error).toBeInstanceOf(RangeError);
    expect(circuitStateOf(model)).toBe("closed");
  });

  it("counts raw connection errors and marks complete() answers of the fallback as degraded", async () => {
    // Prepare
    const refused = Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" }),
    });
    const primary = scriptedModel([{ kind: "fail", error: refused }]);
    const model = withResilience(primary, createOfflineFallbackChatModel(), { failureThreshold: 1, openMs: 1_000 });

    // Act
    const result = await model.complete({ messages: [{ role: "user", content: "Hi" }] });
    const json = model.complete({ messages: [{ role: "user", content: "Hi" }], responseFormat: "json" });

    // Assess
    expect(result.text).toContain("unavailable right now");
    expect(degradedNoticeOf(result)?.reason).toMatch(/could not be reached/);
    await expect(json).rejects.toBeInstanceOf(ModelUnavailableError);
    expect(circuitStateOf(model)).toBe("open");
  });

  it("keeps the circuit state readable through a wrapper that forwards info (usage metering)", async () => {
    // Prepare
    const model = withResilience(scriptedModel([{ kind: "fail", error: down() }]), createOfflineFallbackChatModel(), {
      failureThreshold: 1,
      openMs: 1_000,
    });
    const wrapper: ChatModel = {
      get info() {
        return model.info;
      },
      stream: (request) => model.stream(request),
      complete: (request) => model.complete(request),
      health: () => model.health(),
    };

    // Act
    const before = circuitStateOf(wrapper);
    await run(wrapper);

    // Assess
    expect(before).toBe("closed");
    expect(circuitStateOf(wrapper)).toBe("open");
  });

  it("reports no circuit for a model without a breaker", () => {
    // Act
    const state = circuitStateOf(createOfflineFallbackChatModel());

    // Assess
    expect(state).toBeUndefined();
  });
});
