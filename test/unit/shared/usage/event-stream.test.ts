import { describe, expect, it } from "vitest";
import { type Outcome, observeEventStream } from "#shared/usage/middleware.ts";

function sse(frames: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const frame of frames) controller.enqueue(encoder.encode(frame));
      controller.close();
    },
  });
}

describe("observeEventStream", () => {
  it("passes the stream through unchanged and reports a completed stream as a success", async () => {
    // Prepare
    const frames = ["data: Water\n\n", "data:  moves\n\n", "event: done\ndata: \n\n"];
    const outcomes: Outcome[] = [];

    // Act
    const text = await new Response(
      observeEventStream(sse(frames), async (outcome) => {
        outcomes.push(outcome);
      }),
    ).text();

    // Assess
    expect(text).toBe(frames.join(""));
    expect(outcomes).toEqual([{ success: true, abandoned: false }]);
  });

  it("reports the error of an `event: error` frame, even when split across chunks", async () => {
    // Prepare
    const frames = [
      "data: partial\n\nevent: err",
      'or\ndata: {"error": "The model failed"}\n\n',
      "event: done\ndata: \n\n",
    ];
    const outcomes: Outcome[] = [];

    // Act
    await new Response(
      observeEventStream(sse(frames), async (outcome) => {
        outcomes.push(outcome);
      }),
    ).text();

    // Assess
    expect(outcomes).toEqual([{ success: false, abandoned: false, error: "The model failed" }]);
  });

  it("reports a stream the client cancelled as abandoned, once", async () => {
    // Prepare
    const outcomes: Outcome[] = [];
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode("data: more\n\n"));
      },
    });
    const observed = observeEventStream(endless, async (outcome) => {
      outcomes.push(outcome);
    });
    const reader = observed.getReader();

    // Act
    await reader.read();
    await reader.cancel();

    // Assess
    expect(outcomes).toEqual([{ success: true, abandoned: true }]);
  });
});
