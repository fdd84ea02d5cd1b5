import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { type Chunk, chunkDocument, createChunker } from "#shared/chunking/chunk.ts";
import type { ExtractedDocument } from "#shared/extraction/types.ts";

const WORDS = ["cell", "membrane", "osmosis", "enzyme", "protein", "ribosome", "nucleus", "energy", "glucose", "water"];

/** Deterministic pseudo-random prose with sentences, paragraphs and occasional long words. */
function prose(seed: number, sentences: number): string {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const parts: string[] = [];
  for (let s = 0; s < sentences; s++) {
    const length = 4 + Math.floor(next() * 30);
    const words = Array.from({ length }, () => WORDS[Math.floor(next() * WORDS.length)] ?? "cell");
    const sentence = `${words.join(" ")}.`;
    parts.push(sentence.charAt(0).toUpperCase() + sentence.slice(1));
    parts.push(next() < 0.15 ? "\n\n" : next() < 0.1 ? "\n" : " ");
  }
  return parts.join("");
}

function pageTextOf(doc: ExtractedDocument, chunk: Chunk): string {
  return doc.pages.find((page) => page.page === chunk.page)?.text ?? "";
}

describe("chunkDocument", () => {
  it("makes every chunk an exact slice of its page's text", async () => {
    // Prepare
    const markdown = (
      await readFile(new URL("../../../fixtures/documents/cell-biology.md", import.meta.url))
    ).toString();
    const doc: ExtractedDocument = {
      type: "pdf",
      pages: [
        { page: 1, text: prose(1, 80) },
        { page: 2, text: `# Heading\n\n${prose(2, 120)}` },
        { page: 3, text: markdown },
      ],
    };

    for (const [targetChars, overlapChars] of [
      [1000, 150],
      [300, 80],
      [120, 40],
      [50, 0],
    ] as const) {
      // Act
      const chunks = chunkDocument(doc, { sourceId: "src", targetChars, overlapChars });

      // Assess
      expect(chunks.length).toBeGreaterThan(3);
      for (const chunk of chunks) {
        expect(pageTextOf(doc, chunk).slice(chunk.startOffset, chunk.endOffset)).toBe(chunk.text);
        expect(chunk.text.trim()).toBe(chunk.text);
        expect(chunk.text).not.toBe("");
      }
    }
  });

  it("never cuts a word and keeps chunks within the target length", () => {
    // Prepare
    const text = prose(7, 200);
    const doc: ExtractedDocument = { type: "text", pages: [{ page: 1, text }] };

    // Act
    const chunks = chunkDocument(doc, { sourceId: "s", targetChars: 200, overlapChars: 50 });

    // Assess
    for (const chunk of chunks) {
      const before = text[chunk.startOffset - 1];
      const after = text[chunk.endOffset];
      expect(before === undefined || /\s/.test(before)).toBe(true);
      expect(after === undefined || /\s/.test(after)).toBe(true);
      expect(chunk.text.length).toBeLessThanOrEqual(200);
    }
  });

  it("keeps a single word longer than the target whole", () => {
    // Prepare
    const url = `https://example.org/${"a".repeat(300)}`;
    const doc: ExtractedDocument = { type: "text", pages: [{ page: 1, text: `See ${url} for details.` }] };

    // Act
    const chunks = chunkDocument(doc, { sourceId: "s", targetChars: 100, overlapChars: 20 });

    // Assess
    expect(chunks.some((chunk) => chunk.text.includes(url))).toBe(true);
  });

  it("overlaps consecutive chunks of a section by at most overlapChars", () => {
    // Prepare
    const doc: ExtractedDocument = { type: "text", pages: [{ page: 1, text: prose(3, 150).replace(/\n/g, " ") }] };

    // Act
    const chunks = chunkDocument(doc, { sourceId: "s", targetChars: 400, overlapChars: 100 });

    // Assess
    expect(chunks.length).toBeGreaterThan(3);
    for (let i = 1; i < chunks.length; i++) {
      const previous = chunks[i - 1];
      const current = chunks[i];
      if (previous === undefined || current === undefined) throw new Error("missing chunk");
      const overlap = previous.endOffset - current.startOffset;
      expect(overlap).toBeGreaterThan(0);
      expect(overlap).toBeLessThanOrEqual(100);
      expect(current.endOffset).toBeGreaterThan(previous.endOffset);
    }
  });

  it("follows Markdown headings into heading paths and does not overlap across sections", async () => {
    // Prepare
    const text = (await readFile(new URL("../../../fixtures/documents/cell-biology.md", import.meta.url))).toString();
    const doc: ExtractedDocument = { type: "markdown", pages: [{ page: 1, text }] };

    // Act
    const chunks = chunkDocument(doc, { sourceId: "bio", targetChars: 1000, overlapChars: 150 });

    // Assess
    expect(chunks.map((chunk) => chunk.headingPath)).toEqual([
      ["Cell biology"],
      ["Cell biology", "Mitochondria"],
      ["Cell biology", "Ribosomes"],
    ]);
    expect(chunks[1]?.text.startsWith("## Mitochondria\n\nMitochondria produce")).toBe(true);
    expect(chunks[2]?.startOffset).toBeGreaterThanOrEqual(chunks[1]?.endOffset ?? Number.POSITIVE_INFINITY);
  });

  it("carries the heading path across pages and ignores # lines inside code fences", () => {
    // Prepare
    const doc: ExtractedDocument = {
      type: "markdown",
      pages: [
        { page: 1, text: "# Physics\n\n## Mechanics\n\nForce equals mass times acceleration." },
        { page: 2, text: "Momentum is conserved.\n\n```\n# not a heading\n```" },
        { page: 3, text: "   \n" },
        { page: 4, text: "# Chemistry\n\nAtoms bond." },
      ],
    };

    // Act
    const chunks = chunkDocument(doc, { sourceId: "notes" });

    // Assess
    expect(chunks.map((chunk) => [chunk.page, chunk.headingPath])).toEqual([
      [1, ["Physics"]],
      [1, ["Physics", "Mechanics"]],
      [2, ["Physics", "Mechanics"]],
      [4, ["Chemistry"]],
    ]);
  });

  it("numbers chunks deterministically across pages", () => {
    // Prepare
    const doc: ExtractedDocument = {
      type: "pdf",
      pages: [
        { page: 1, text: prose(11, 40) },
        { page: 2, text: prose(12, 40) },
      ],
    };

    // Act
    const first = chunkDocument(doc, { sourceId: "src-42", targetChars: 300 });
    const second = chunkDocument(doc, { sourceId: "src-42", targetChars: 300 });

    // Assess
    expect(second).toEqual(first);
    expect(first.map((chunk) => chunk.index)).toEqual(first.map((_, i) => i));
    expect(first.map((chunk) => chunk.chunkId)).toEqual(first.map((_, i) => `src-42:${i}`));
    expect(new Set(first.map((chunk) => chunk.page))).toEqual(new Set([1, 2]));
  });

  it("chunks page by page exactly as it chunks the whole document, headings carried across pages", () => {
    // Prepare
    const doc: ExtractedDocument = {
      type: "markdown",
      pages: [
        { page: 1, text: `# Cells\n\n${prose(21, 30)}\n\n## Membranes\n\n${prose(22, 20)}` },
        { page: 2, text: prose(23, 30) },
        { page: 3, text: `## Enzymes\n\n${prose(24, 30)}` },
      ],
    };
    const whole = chunkDocument(doc, { sourceId: "bio", targetChars: 400 });

    // Act
    const chunker = createChunker({ sourceId: "bio", targetChars: 400 });
    const byPage = doc.pages.map((page) => [...chunker.chunkPage(page)]);

    // Assess
    expect(byPage.flat()).toEqual(whole);
    expect(byPage[1]?.[0]?.headingPath).toEqual(["Cells", "Membranes"]);
    expect(byPage[2]?.at(-1)?.headingPath).toEqual(["Cells", "Enzymes"]);
    for (const chunk of byPage.flat()) {
      expect(chunk.text).toBe(pageTextOf(doc, chunk).slice(chunk.startOffset, chunk.endOffset));
    }
  });
});
