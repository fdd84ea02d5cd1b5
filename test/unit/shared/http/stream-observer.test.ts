import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { type SseWriter, type StreamEnd, type StreamObserver, sseResponse } from "#shared/http/sse.ts";

/** An app whose one route streams with `produce`, watched by an observer as the usage gate does. */
function observedApp(produce: (writer: SseWriter) => Promise<void>) {
  const ends: StreamEnd[] = [];
  const observer: StreamObserver = {
    claimed: false,
    end: async (end) => {
      ends.push(end);
    },
  };
  const app = new Hono();
  app.get("/stream", (c) => {
    c.set("streamObserver" as never, observer as never);
    return sseResponse(c, "session", produce, async (_error, writer) => {
      await writer.error("The study copilot could not generate an answer.");
      await writer.done();
    });
  });
  return { app, observer, ends };
}

describe("sseResponse with a stream observer", () => {
  it("claims the observer, streams every frame, and reports a completed stream before the body ends", async () => {
    // Prepare
    const { app, observer, ends } = observedApp(async (writer) => {
      await writer.token("Water");
      await writer.token(" moves");
      await writer.done();
    });

    // Act
    const response = await app.request("/stream");
    const claimed = observer.claimed;
    const text = await response.text();

    // Assess
    expect(claimed).toBe(true);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(text).toBe("data: Water\n\ndata:  moves\n\nevent: done\ndata: \n\n");
    expect(ends).toEqual([{ abandoned: false }]);
  });

  it("reports the message of the first error event, also when the producer failed", async () => {
    // Prepare
    const written = observedApp(async (writer) => {
      await writer.token("partial");
      await writer.error("The model failed");
      await writer.done();
    });
    const thrown = observedApp(async () => {
      throw new Error("boom");
    });

    // Act
    const writtenText = await (await written.app.request("/stream")).text();
    const thrownText = await (await thrown.app.request("/stream")).text();

    // Assess
    expect(writtenText).toContain('event: error\ndata: {"error":"The model failed"}');
    expect(written.ends).toEqual([{ abandoned: false, error: "The model failed" }]);
    expect(thrownText).toContain("event: error");
    expect(thrown.ends).toEqual([{ abandoned: false, error: "The study copilot could not generate an answer." }]);
  });

  it("reports a stream the client cancelled as abandoned, once, after the producer ends", async () => {
    // Prepare
    let stop = false;
    let produced = 0;
    const { app, ends } = observedApp(async (writer) => {
      while (!stop) {
        await writer.token(`word${produced} `);
        produced += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await writer.done();
    });
    const response = await app.request("/stream");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();

    // Act
    await reader.read();
    await reader.cancel();
    const atCancel = [...ends];
    stop = true;
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Assess
    expect(atCancel).toEqual([]);
    expect(ends).toEqual([{ abandoned: true }]);
  });
});
