// Summaries: the offline extractive summary (verbatim, deterministic, styled, bounded, cited) and
// the model path's single call and map-reduce with section citations, using a fake chat model.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type Material, materialFromText } from "#shared/generation/material.ts";
import { wordCount } from "#shared/generation/sentences.ts";
import { offlineSummary, SUMMARY_MAP_CHARS, summarizeMaterial } from "#shared/generation/summary.ts";
import type { ChatModel, ChatRequest } from "#shared/llm/chat-model.ts";

const PHOTOSYNTHESIS = readFileSync("test/fixtures/corpus/photosynthesis.md", "utf8");
const FLAT = PHOTOSYNTHESIS.replace(/\s+/g, " ");

function stored(text: string, filename = "photosynthesis.md"): Material {
  return { ...materialFromText(text, filename), stored: true };
}

/** A chat model that answers from a script and records what it was asked. */
function fakeModel(answer: (request: ChatRequest, call: number) => string) {
  const calls: ChatRequest[] = [];
  const model: ChatModel = {
    info: { kind: "openai-compatible", model: "fake" },
    async *stream(request) {
      calls.push(request);
      const text = answer(request, calls.length);
      for (const word of text.split(/(?<= )/)) yield { text: word };
    },
    async complete(request) {
      calls.push(request);
      return { text: answer(request, calls.length) };
    },
    async health() {
      return { status: "ok" };
    },
  };
  return { model, calls };
}

describe("offlineSummary", () => {
  it("is deterministic", () => {
    // Prepare
    const material = materialFromText(PHOTOSYNTHESIS);

    // Act
    const first = offlineSummary(material, { style: "bullet" });
    const second = offlineSummary(material, { style: "bullet" });

    // Assess
    expect(second).toEqual(first);
    expect(first.offline).toBe(true);
  });

  it("writes bullet lines, each a sentence quoted verbatim from the material", () => {
    // Act
    const { summary } = offlineSummary(materialFromText(PHOTOSYNTHESIS), { style: "bullet" });

    // Assess
    const lines = summary.split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const line of lines) {
      expect(line.startsWith("- ")).toBe(true);
      expect(FLAT).toContain(line.slice(2));
    }
  });

  it("keeps concise summaries to a few sentences and makes detailed ones longer", () => {
    // Prepare
    const material = materialFromText(PHOTOSYNTHESIS);

    // Act
    const concise = offlineSummary(material, { style: "concise" }).summary;
    const detailed = offlineSummary(material, { style: "detailed" }).summary;

    // Assess
    expect(concise).not.toContain("\n");
    expect(concise.match(/[.!?](?= |$)/g)?.length ?? 0).toBeLessThanOrEqual(4);
    expect(concise).toContain("Photosynthesis is the process by which plants");
    expect(detailed.length).toBeGreaterThan(concise.length * 1.5);
    for (const paragraph of detailed.split("\n\n")) {
      for (const sentence of paragraph.split(/(?<=[.!?)]) (?=[A-Z])/)) expect(FLAT).toContain(sentence);
    }
  });

  it("respects max_length in words", () => {
    // Act
    const { summary } = offlineSummary(materialFromText(PHOTOSYNTHESIS), { style: "detailed", maxWords: 60 });

    // Assess
    expect(wordCount(summary)).toBeLessThanOrEqual(60);
    expect(wordCount(summary)).toBeGreaterThan(10);
  });

  it("quotes the start of the best sentence when no whole sentence fits max_length", () => {
    // Act
    const { summary } = offlineSummary(materialFromText(PHOTOSYNTHESIS), { style: "concise", maxWords: 5 });

    // Assess
    expect(wordCount(summary)).toBe(5);
    expect(FLAT).toContain(summary);
  });

  it("cites every sentence of stored material with a quote from the cited chunk", () => {
    // Prepare
    const material = stored(PHOTOSYNTHESIS);

    // Act
    const { summary, citations } = offlineSummary(material, { style: "bullet" });

    // Assess
    const lines = summary.split("\n");
    expect(citations).toHaveLength(lines.length);
    citations.forEach((citation, index) => {
      expect(lines[index]).toMatch(new RegExp(`\\[${citation.marker}\\]$`));
      const chunk = material.sections.find((section) => section.chunk_id === citation.chunk_id);
      expect(chunk?.text).toContain(citation.quote);
      expect(lines[index]).toContain(citation.quote);
      expect(citation.filename).toBe("photosynthesis.md");
    });
  });

  it("has no citations for inline text", () => {
    // Act
    const result = offlineSummary(materialFromText(PHOTOSYNTHESIS), { style: "bullet" });

    // Assess
    expect(result.citations).toEqual([]);
    expect(result.summary).not.toMatch(/\[\d+\]/);
  });

  it("still quotes material that has no full sentences", () => {
    // Act
    const { summary } = offlineSummary(materialFromText("Mitochondria, ATP, Krebs cycle"), { style: "concise" });

    // Assess
    expect(summary).toBe("Mitochondria, ATP, Krebs cycle");
  });
});

describe("summarizeMaterial with a model", () => {
  it("summarizes short text in one streamed call and forwards its tokens", async () => {
    // Prepare
    const { model, calls } = fakeModel(() => "Plants turn light into sugar.");
    const tokens: string[] = [];

    // Act
    const result = await summarizeMaterial(
      { model },
      {
        material: materialFromText(PHOTOSYNTHESIS.slice(0, 2_000)),
        style: "concise",
        onToken: (t) => void tokens.push(t),
      },
    );

    // Assess
    expect(calls).toHaveLength(1);
    expect(tokens.join("")).toBe("Plants turn light into sugar.");
    expect(result).toMatchObject({ summary: "Plants turn light into sugar.", offline: false, citations: [] });
    expect(calls[0]?.messages[1]?.content).toMatch(/^<material>/);
  });

  it("map-reduces long stored material in bounded calls and maps section markers to citations", async () => {
    // Prepare
    const corpus = ["photosynthesis", "cell-biology", "water-cycle", "plate-tectonics"]
      .map((name) => readFileSync(`test/fixtures/corpus/${name}.md`, "utf8"))
      .join("\n\n");
    const material = stored(corpus, "course.md");
    const { model, calls } = fakeModel((request) => {
      if (request.responseFormat === "json") {
        const numbers = [...(request.messages[1]?.content ?? "").matchAll(/^\[(\d+)\] \(/gm)].map((m) => Number(m[1]));
        return JSON.stringify({ points: [{ text: "A key idea.", sections: [numbers[0]] }] });
      }
      return "- Photosynthesis makes sugar in chloroplasts [1].\n- Unknown claim [999].";
    });
    const progress: Array<[number, number]> = [];

    // Act
    const result = await summarizeMaterial(
      { model },
      { material, style: "bullet", onProgress: (done, total) => void progress.push([done, total]) },
    );

    // Assess
    const mapCalls = calls.filter((call) => call.responseFormat === "json");
    expect(mapCalls.length).toBeGreaterThanOrEqual(3);
    for (const call of mapCalls) {
      const block = call.messages[1]?.content ?? "";
      const quoted = [...block.matchAll(/<<<\n([\s\S]*?)\n>>>/g)].reduce((sum, m) => sum + (m[1]?.length ?? 0), 0);
      expect(quoted).toBeLessThanOrEqual(SUMMARY_MAP_CHARS);
    }
    expect(progress).toHaveLength(mapCalls.length);
    expect(progress.at(-1)).toEqual([mapCalls.length, mapCalls.length]);
    expect(calls.at(-1)?.messages[1]?.content).toContain("<points>");
    expect(result.summary).toBe("- Photosynthesis makes sugar in chloroplasts [1].\n- Unknown claim.");
    expect(result.citations).toHaveLength(1);
    expect(result.citations[0]?.marker).toBe(1);
    expect(material.sections[0]?.text).toContain(result.citations[0]?.quote ?? "missing");
  });

  it("writes the offline summary when the engine has no model", async () => {
    // Prepare
    const { model } = fakeModel(() => "never used");
    const offline: ChatModel = { ...model, info: { kind: "offline", model: "offline-engine" } };

    // Act
    const result = await summarizeMaterial(
      { model: offline },
      { material: materialFromText(PHOTOSYNTHESIS), style: "bullet" },
    );

    // Assess
    expect(result.offline).toBe(true);
    expect(result.summary).toEqual(offlineSummary(materialFromText(PHOTOSYNTHESIS), { style: "bullet" }).summary);
  });
});
