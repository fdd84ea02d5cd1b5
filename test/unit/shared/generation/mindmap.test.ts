// Mind maps: the offline key-phrase tree (deterministic, labels copied from the material) and the
// model path (structured JSON, label checks, one repair, 502 when still wrong).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type Material, materialFromText } from "#shared/generation/material.ts";
import {
  countNodes,
  generateMindMap,
  type MindMapDeps,
  type MindMapNode,
  mindMapLabelProblem,
  offlineMindMap,
  toChatMindMap,
} from "#shared/generation/mindmap.ts";
import type { ChatModel, ChatRequest } from "#shared/llm/chat-model.ts";
import { StructuredOutputError } from "#shared/llm/structured.ts";
import { mindMapProblems } from "#test/support/frontend-parsers.ts";

const WATER = readFileSync(new URL("../../../fixtures/corpus/water-cycle.md", import.meta.url), "utf8");

function labels(node: MindMapNode): string[] {
  return [node.label, ...node.children.flatMap(labels)];
}

function fakeModel(answer: (call: number) => string) {
  const calls: ChatRequest[] = [];
  const model: ChatModel = {
    info: { kind: "openai-compatible", model: "fake" },
    async *stream(request) {
      calls.push(request);
      yield { text: answer(calls.length) };
    },
    async complete(request) {
      calls.push(request);
      return { text: answer(calls.length) };
    },
    async health() {
      return { status: "ok" };
    },
  };
  return { model, calls };
}

function depsWith(model: ChatModel): MindMapDeps {
  // use_documents is false in these tests: the material ports are never reached.
  const unused = () => {
    throw new Error("material was not expected to be loaded");
  };
  return {
    model,
    records: { list: unused } as unknown as MindMapDeps["records"],
    blobs: {} as MindMapDeps["blobs"],
    retriever: { retrieve: unused } as unknown as MindMapDeps["retriever"],
  };
}

describe("offlineMindMap", () => {
  it("is deterministic", () => {
    // Act
    const first = offlineMindMap(materialFromText(WATER), { depth: 2 });
    const second = offlineMindMap(materialFromText(WATER), { depth: 2 });

    // Assess
    expect(second).toEqual(first);
  });

  it("roots the tree in the document's title and takes every label's words from the material", () => {
    // Act
    const { root } = offlineMindMap(materialFromText(WATER), { depth: 2 });

    // Assess
    expect(root).toMatchObject({ id: "root", label: "The Water Cycle", level: 0 });
    expect(root.children.length).toBeGreaterThanOrEqual(4);
    const lower = WATER.toLowerCase();
    for (const label of labels(root).slice(1)) {
      expect(mindMapLabelProblem(label, 1), label).toBeUndefined();
      for (const word of label.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) expect(lower).toContain(word);
    }
    expect(new Set(labels(root)).size).toBe(labels(root).length);
  });

  it("builds exactly the requested depth, with ids that follow the path", () => {
    // Act
    const shallow = offlineMindMap(materialFromText(WATER), { depth: 1 }).root;
    const deep = offlineMindMap(materialFromText(WATER), { depth: 3 }).root;

    // Assess
    expect(shallow.children.every((child) => child.children.length === 0)).toBe(true);
    expect(deep.children.some((child) => child.children.some((leaf) => leaf.children.length > 0))).toBe(true);
    expect(deep.children[0]?.id).toBe("node-1");
    expect(deep.children[0]?.children[1]).toMatchObject({ id: "node-1-2", level: 2 });
    expect(countNodes(deep)).toBeGreaterThan(countNodes(shallow));
  });

  it("uses the topic as the root and cites stored sections only", () => {
    // Prepare
    const inline = materialFromText(WATER);
    const stored: Material = {
      ...inline,
      stored: true,
      sections: inline.sections.map((section) => ({ ...section, source_id: "src-water", filename: "water.md" })),
    };

    // Act
    const fromText = offlineMindMap(inline, { topic: "Water cycle", depth: 2 });
    const fromDocuments = offlineMindMap(stored, { topic: "Water cycle", depth: 2 });

    // Assess
    expect(fromText.root.label).toBe("Water cycle");
    expect(fromText.citations).toEqual([]);
    expect(fromDocuments.citations.length).toBeGreaterThan(0);
    for (const citation of fromDocuments.citations) {
      expect(citation).toMatchObject({ source_id: "src-water", filename: "water.md" });
      expect(WATER).toContain(citation.quote);
    }
  });

  it("without material keeps only the topic instead of inventing branches", () => {
    // Act
    const { root, citations } = offlineMindMap(undefined, { topic: "Plate tectonics", depth: 2 });

    // Assess
    expect(root).toEqual({ id: "root", label: "Plate tectonics", level: 0, children: [] });
    expect(citations).toEqual([]);
  });
});

describe("toChatMindMap", () => {
  it("gives the frontend a map it accepts: 10–20 nodes, levels 0–2, words from the material", () => {
    // Prepare
    const { root } = offlineMindMap(materialFromText(WATER), { depth: 2 });

    // Act
    const chat = toChatMindMap(root);

    // Assess
    expect(mindMapProblems(chat, WATER)).toEqual([]);
    expect(chat.nodes[0]).toEqual({ id: "root", label: "The Water Cycle", level: 0 });
    expect(chat.nodes[1]?.id).toBe("node-1");
    expect(chat.edges).toHaveLength(chat.nodes.length - 1);
  });

  it("caps a large tree at 20 nodes", () => {
    // Prepare
    const leaf = (id: string) => ({ id, label: `Leaf label ${id}`, level: 2, children: [] });
    const root: MindMapNode = {
      id: "root",
      label: "Big",
      level: 0,
      children: Array.from({ length: 8 }, (_, i) => ({
        id: `b${i}`,
        label: `Branch label ${i}`,
        level: 1,
        children: [leaf(`x${i}`), leaf(`y${i}`), leaf(`z${i}`)],
      })),
    };

    // Act
    const chat = toChatMindMap(root);

    // Assess
    expect(chat.nodes).toHaveLength(20);
    expect(chat.nodes.filter((node) => node.level === 1)).toHaveLength(7);
    expect(mindMapProblems(chat)).toEqual([]);
  });
});

describe("generateMindMap with a model", () => {
  const good = JSON.stringify({
    root: {
      label: "Water cycle",
      children: [
        { label: "Evaporation from oceans", children: [{ label: "Latent heat absorbed" }] },
        { label: "Condensation into clouds", children: [{ label: "Condensation nuclei" }] },
      ],
    },
  });

  it("returns the model's tree with the topic as root and ids by path", async () => {
    // Prepare
    const { model, calls } = fakeModel(() => good);

    // Act
    const map = await generateMindMap(depsWith(model), {
      userId: "u1",
      topic: "Water cycle",
      depth: 2,
      useDocuments: false,
    });

    // Assess
    expect(map.offline).toBe(false);
    expect(map.root.children.map((child) => child.label)).toEqual([
      "Evaporation from oceans",
      "Condensation into clouds",
    ]);
    expect(map.root.children[1]?.children[0]).toMatchObject({ id: "node-2-1", label: "Condensation nuclei" });
    expect(map.total_nodes).toBe(5);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.responseFormat).toBe("json");
  });

  it("asks again once when a label is a placeholder, and uses the repaired tree", async () => {
    // Prepare
    const placeholder = JSON.stringify({
      root: { label: "Water cycle", children: [{ label: "Subtopic 1" }, { label: "Condensation into clouds" }] },
    });
    const { model, calls } = fakeModel((call) => (call === 1 ? placeholder : good));

    // Act
    const map = await generateMindMap(depsWith(model), {
      userId: "u1",
      topic: "Water cycle",
      depth: 2,
      useDocuments: false,
    });

    // Assess
    expect(calls).toHaveLength(2);
    expect(calls[1]?.messages.at(-1)?.content).toContain("placeholder");
    expect(labels(map.root)).not.toContain("Subtopic 1");
  });

  it("refuses a tree that keeps placeholders after the repair", async () => {
    // Prepare
    const { model } = fakeModel(() =>
      JSON.stringify({
        root: { label: "Main Topic Name", children: [{ label: "Subtopic 1" }, { label: "Subtopic 2" }] },
      }),
    );

    // Act
    const attempt = generateMindMap(depsWith(model), { userId: "u1", topic: "Water", depth: 2, useDocuments: false });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(StructuredOutputError);
    await expect(attempt).rejects.toMatchObject({ statusCode: 502 });
  });
});
