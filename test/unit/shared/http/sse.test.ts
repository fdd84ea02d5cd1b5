import { describe, expect, it } from "vitest";
import {
  CoalescingSink,
  DONE_FRAME,
  encodeEvent,
  encodeGenericData,
  encodeSessionData,
  type SseFraming,
  type SseSink,
  SseWriter,
} from "#shared/http/sse.ts";

/** An in-memory response body: records every chunk in the order it was written. */
class MemorySink implements SseSink {
  readonly chunks: string[] = [];
  aborted = false;
  private readonly listeners: Array<() => void> = [];

  async write(chunk: string): Promise<void> {
    this.chunks.push(chunk);
  }

  onAbort(listener: () => void): void {
    this.listeners.push(listener);
  }

  get output(): string {
    return this.chunks.join("");
  }
}

function writerFor(framing: SseFraming): { sink: MemorySink; writer: SseWriter } {
  const sink = new MemorySink();
  return { sink, writer: new SseWriter(sink, framing) };
}

async function writeTokens(writer: SseWriter, tokens: string[]): Promise<void> {
  for (const token of tokens) await writer.token(token);
}

/** What the notebook page does: `data: ` payloads concatenated untrimmed, literal `\n` turned into newlines. */
function sessionClientText(output: string): string {
  let text = "";
  for (const frame of output.split("\n\n")) {
    if (!frame.startsWith("data: ")) continue;
    text += frame.slice(6).replaceAll("\\n", "\n");
  }
  return text;
}

interface ParsedEvent {
  type: string;
  data: string;
}

/** A minimal SSE parser following the WHATWG "interpret an event stream" rules. */
function parseEventStream(output: string): ParsedEvent[] {
  const events: ParsedEvent[] = [];
  let type = "";
  let data = "";
  for (const line of output.split(/\r\n|\r|\n/)) {
    if (line === "") {
      if (data !== "") {
        events.push({ type: type || "message", data: data.endsWith("\n") ? data.slice(0, -1) : data });
      }
      type = "";
      data = "";
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data += `${value}\n`;
    else if (field === "event") type = value;
  }
  return events;
}

const messageText = (events: ParsedEvent[]) =>
  events
    .filter((event) => event.type === "message")
    .map((event) => event.data)
    .join("");

// Leading spaces, blank lines, markdown with a code fence, accents, CJK, emoji (with ZWJ), lists.
const TRICKY_TOKENS = [
  "  Leading",
  " spaces",
  "\n",
  "\n",
  "## Résumé",
  " — café",
  " naïve",
  "\n\n",
  "```ts",
  "\n",
  "const greeting",
  " = ",
  '"日本語";',
  "\n",
  "    return x;",
  "\n",
  "```",
  "\n",
  " ",
  " ",
  "Emoji: 🎓",
  "👩‍🔬",
  " 中文と한국어",
  "\n\n\n",
  "- item",
  "\n  ",
  "- nested ",
  "  ",
  "\t",
  "done.",
  "  ",
  "\n",
];

describe("session stream framing", () => {
  it.each([
    ["\n", "line one\nline two"],
    ["\r\n", "line one\r\nline two"],
    ["\r", "line one\rline two"],
  ])("sends a %j inside a token as backslash-n in a single data line", (_kind, token) => {
    // Prepare
    const text = token;

    // Act
    const frame = encodeSessionData(text);

    // Assess
    expect(frame).toBe("data: line one\\nline two\n\n");
  });

  it("writes every token as exactly one data line followed by a blank line", async () => {
    // Prepare
    const { sink, writer } = writerFor("session");

    // Act
    await writeTokens(writer, TRICKY_TOKENS);

    // Assess
    expect(sink.chunks.length).toBeGreaterThan(0);
    for (const chunk of sink.chunks) expect(chunk).toMatch(/^data: [^\r\n]*\n\n$/);
  });

  it("never sends a whitespace-only payload and attaches the whitespace to the next visible token", async () => {
    // Prepare
    const { sink, writer } = writerFor("session");

    // Act
    await writeTokens(writer, ["Hello", " ", "\n", "  \n ", "world"]);

    // Assess
    expect(sink.chunks).toEqual(["data: Hello\n\n", "data:  \\n  \\n world\n\n"]);
  });

  it("sends each visible token as soon as it arrives", async () => {
    // Prepare
    const { sink, writer } = writerFor("session");

    // Act
    await writer.token("First");
    const afterFirst = sink.chunks.length;
    await writer.token(" second");

    // Assess
    expect(afterFirst).toBe(1);
    expect(sink.chunks).toEqual(["data: First\n\n", "data:  second\n\n"]);
  });

  it("lets the notebook client rebuild the exact text, except trailing whitespace at the very end", async () => {
    // Prepare
    const { sink, writer } = writerFor("session");
    const original = TRICKY_TOKENS.join("");

    // Act
    await writeTokens(writer, TRICKY_TOKENS);
    await writer.event("citations", "[]");
    await writer.done();
    const rebuilt = sessionClientText(sink.output);

    // Assess
    expect(original.startsWith(rebuilt)).toBe(true);
    expect(rebuilt).toBe(original.trimEnd());
    for (const chunk of sink.chunks.filter((c) => c.startsWith("data: "))) {
      expect(chunk.slice(6).replaceAll("\\n", "\n").trim()).not.toBe("");
    }
  });

  it("ignores empty tokens", async () => {
    // Prepare
    const { sink, writer } = writerFor("session");

    // Act
    await writeTokens(writer, ["", "a", ""]);

    // Assess
    expect(sink.chunks).toEqual(["data: a\n\n"]);
  });
});

describe("generic stream framing", () => {
  it("sends multi-line text as consecutive data lines of one event", () => {
    // Prepare
    const text = "# Summary\n\n- first\r\n- second\rend";

    // Act
    const frame = encodeGenericData(text);

    // Assess
    expect(frame).toBe("data: # Summary\ndata: \ndata: - first\ndata: - second\ndata: end\n\n");
  });

  it("puts the event name before the data lines when one is given", () => {
    // Prepare
    const text = "a\nb";

    // Act
    const frame = encodeGenericData(text, "sources");

    // Assess
    expect(frame).toBe("event: sources\ndata: a\ndata: b\n\n");
  });

  it("never writes a line of token text outside a data field", async () => {
    // Prepare
    const { sink, writer } = writerFor("generic");

    // Act
    await writeTokens(writer, TRICKY_TOKENS);
    const lines = sink.output.split("\n").filter((line) => line !== "");

    // Assess
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.startsWith("data: ")).toBe(true);
  });

  it("lets a standard SSE parser rebuild the text exactly, whitespace included", async () => {
    // Prepare
    const { sink, writer } = writerFor("generic");
    const original = TRICKY_TOKENS.join("");

    // Act
    await writer.event("sources", "3");
    await writeTokens(writer, TRICKY_TOKENS);
    await writer.done();
    const events = parseEventStream(sink.output);

    // Assess
    expect(messageText(events)).toBe(original);
    expect(events[0]).toEqual({ type: "sources", data: "3" });
    expect(events.at(-1)?.type).toBe("done");
  });

  it("keeps a whitespace-only token in generic framing, where the SSE parser preserves it", async () => {
    // Prepare
    const { sink, writer } = writerFor("generic");

    // Act
    await writeTokens(writer, ["a", " ", "\n", "b"]);

    // Assess
    expect(messageText(parseEventStream(sink.output))).toBe("a \nb");
  });
});

describe("named events and the end of the stream", () => {
  it("keeps an event's data on one line even when it contains newlines", () => {
    // Prepare
    const citations = JSON.stringify([{ source: "notes.pdf", page: 3 }], null, 2);

    // Act
    const frame = encodeEvent("citations", citations);
    const [event] = parseEventStream(frame);

    // Assess
    expect(frame.split("\n")).toEqual(["event: citations", expect.stringMatching(/^data: [^\r\n]*$/), "", ""]);
    expect(event?.type).toBe("citations");
    expect(JSON.parse(event?.data ?? "")).toEqual([{ source: "notes.pdf", page: 3 }]);
  });

  it("writes a named event through the writer in the same single-line form", async () => {
    // Prepare
    const { sink, writer } = writerFor("session");

    // Act
    await writer.event("citations", "[1,\n2]");

    // Assess
    expect(sink.output).toBe("event: citations\ndata: [1, 2]\n\n");
  });

  it("ends the stream with event: done, an empty data line and a blank line", async () => {
    // Prepare
    const { sink, writer } = writerFor("session");

    // Act
    await writer.token("Bye");
    await writer.done();

    // Assess
    expect(DONE_FRAME).toBe("event: done\ndata: \n\n");
    expect(sink.chunks.at(-1)).toBe("event: done\ndata: \n\n");
  });

  it("reports a failure as event: error with a JSON {error} body", async () => {
    // Prepare
    const { sink, writer } = writerFor("generic");

    // Act
    await writer.error('The language model is unavailable:\n"timeout"');
    const [event] = parseEventStream(sink.output);

    // Assess
    expect(sink.output.startsWith("event: error\ndata: ")).toBe(true);
    expect(sink.output.split("\n")).toHaveLength(4);
    expect(event?.type).toBe("error");
    expect(JSON.parse(event?.data ?? "")).toEqual({ error: 'The language model is unavailable:\n"timeout"' });
  });
});

describe("SseWriter.hasText", () => {
  it.each(["session", "generic"] as const)("turns true only after visible text in %s framing", async (framing) => {
    // Prepare
    const { writer } = writerFor(framing);

    // Act
    const initially = writer.hasText;
    await writeTokens(writer, ["", " ", "\n", "  \n "]);
    const afterWhitespace = writer.hasText;
    await writer.event("sources", "2");
    const afterEvent = writer.hasText;
    await writer.token("Answer");
    const afterText = writer.hasText;

    // Assess
    expect(initially).toBe(false);
    expect(afterWhitespace).toBe(false);
    expect(afterEvent).toBe(false);
    expect(afterText).toBe(true);
  });

  it("reports the client going away", () => {
    // Prepare
    const { sink, writer } = writerFor("session");

    // Act
    sink.aborted = true;

    // Assess
    expect(writer.aborted).toBe(true);
  });
});

describe("coalescing sink", () => {
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  it("sends the first frame at once, then the frames of one turn of the event loop as one write, in order", async () => {
    // Prepare
    const target = new MemorySink();
    const sink = new CoalescingSink(target);
    const writer = new SseWriter(sink, "session");

    // Act
    await writeTokens(writer, ["Osmosis", " is", " diffusion"]);
    await nextTurn();
    await writeTokens(writer, [" of", " water."]);
    await writer.done();
    await sink.flush();

    // Assess: the first frame leaves at once, the rest of its turn together
    expect(target.chunks).toHaveLength(3);
    expect(target.chunks[0]).toBe("data: Osmosis\n\n");
    expect(target.chunks[1]).toBe("data:  is\n\ndata:  diffusion\n\n");
    expect(sessionClientText(target.output)).toBe("Osmosis is diffusion of water.");
    expect(target.output.endsWith(DONE_FRAME)).toBe(true);
  });

  it("makes the producer wait once a client that does not read lets 64 KiB pile up", async () => {
    // Prepare
    const target = new MemorySink();
    const sink = new CoalescingSink(target);

    await sink.write("data: first\n\n");
    await sink.flush();

    // Act
    await sink.write("x".repeat(40_000));
    const beforeLimit = target.chunks.length;
    await sink.write("y".repeat(30_000));

    // Assess: the second write returned only after everything reached the target
    expect(beforeLimit).toBe(1);
    expect(target.output).toBe(`data: first\n\n${"x".repeat(40_000)}${"y".repeat(30_000)}`);
  });

  it("takes the writes of a client that keeps up at once, with nothing for the producer to await", async () => {
    // Prepare: a target that takes every chunk at once, as a socket with room does
    const chunks: string[] = [];
    const target: SseSink = {
      aborted: false,
      onAbort: () => undefined,
      write: (chunk) => {
        chunks.push(chunk);
        return undefined;
      },
    };
    const writer = new SseWriter(new CoalescingSink(target), "session");

    // Act
    const returned = ["Osmosis", " is", " diffusion"].map((token) => writer.token(token));
    await nextTurn();

    // Assess
    expect(returned).toEqual([undefined, undefined, undefined]);
    expect(chunks).toEqual(["data: Osmosis\n\n", "data:  is\n\ndata:  diffusion\n\n"]);
  });

  it("sends the frames of every stream written in one turn at its end, each stream's in its own order", async () => {
    // Prepare: two streams past their first frame
    const targets = [new MemorySink(), new MemorySink()];
    const sinks = targets.map((target) => new CoalescingSink(target));
    for (const [index, sink] of sinks.entries()) await sink.write(`data: first ${index}\n\n`);

    // Act: their tokens interleave within one turn
    await sinks[0]?.write("data: a1\n\n");
    await sinks[1]?.write("data: b1\n\n");
    await sinks[0]?.write("data: a2\n\n");
    await sinks[1]?.write("data: b2\n\n");
    const beforeTurnEnd = targets.map((target) => target.chunks.length);
    await nextTurn();

    // Assess
    expect(beforeTurnEnd).toEqual([1, 1]);
    expect(targets[0]?.chunks).toEqual(["data: first 0\n\n", "data: a1\n\ndata: a2\n\n"]);
    expect(targets[1]?.chunks).toEqual(["data: first 1\n\n", "data: b1\n\ndata: b2\n\n"]);
  });

  it("holds what is written while the client makes the stream wait, and sends it, in order, once the client has read", async () => {
    // Prepare: a client whose buffer is full after the first frame
    const chunks: string[] = [];
    let read: (() => void) | undefined;
    const target: SseSink = {
      aborted: false,
      onAbort: () => undefined,
      write: (chunk) => {
        chunks.push(chunk);
        if (chunks.length > 1) return undefined;
        return new Promise<void>((resolve) => {
          read = resolve;
        });
      },
    };
    const sink = new CoalescingSink(target);
    await sink.write("data: first\n\n");

    // Act
    await sink.write("data: second\n\n");
    await nextTurn();
    const whileWaiting = [...chunks];
    const flushed = sink.flush();
    read?.();
    await flushed;

    // Assess
    expect(whileWaiting).toEqual(["data: first\n\n"]);
    expect(chunks).toEqual(["data: first\n\n", "data: second\n\n"]);
  });

  it("raises a failed write on the next write", async () => {
    // Prepare
    const failing: SseSink = {
      aborted: false,
      onAbort: () => undefined,
      write: () => Promise.reject(new Error("socket closed")),
    };
    const sink = new CoalescingSink(failing);

    // Act
    await sink.write("data: a\n\n");
    await nextTurn();
    await nextTurn();

    // Assess
    await expect(sink.write("data: b\n\n")).rejects.toThrow("socket closed");
    await expect(sink.flush()).rejects.toThrow("socket closed");
  });
});
