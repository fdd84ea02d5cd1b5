import { describe, expect, it } from "vitest";
import { buildLexicalIndex, mergeLexicalIndexes, searchLexical, searchMergedLexical } from "#shared/rag/lexical.ts";

describe("BM25 lexical search", () => {
  it("ranks the chunk holding the rare query term first, across several shards", () => {
    // Prepare
    const biology = buildLexicalIndex([
      "Cells use energy in many ways.",
      "Mitochondria produce ATP through oxidative phosphorylation.",
    ]);
    const physics = buildLexicalIndex(["Energy is conserved in a closed system.", "Work is force times distance."]);

    // Act
    const hits = searchLexical(
      [
        { key: "biology", index: biology },
        { key: "physics", index: physics },
      ],
      "How is ATP made from energy?",
      3,
    );

    // Assess
    expect(hits[0]).toMatchObject({ key: "biology", index: 1 });
    expect(hits.map((hit) => hit.score)).toEqual([...hits.map((hit) => hit.score)].sort((a, b) => b - a));
  });

  it("matches inflected forms through the shared stemmer and ignores stop words", () => {
    // Prepare
    const index = buildLexicalIndex(["Water evaporates from the oceans.", "The the the of and."]);

    // Act
    const hits = searchLexical([{ key: 0, index }], "what is evaporation", 5);

    // Assess
    expect(hits).toHaveLength(1);
    expect(hits[0]?.index).toBe(0);
  });

  it("returns nothing for a query of stop words or an empty scope", () => {
    // Prepare
    const index = buildLexicalIndex(["Photosynthesis makes glucose."]);

    // Act / Assess
    expect(searchLexical([{ key: 0, index }], "what is the", 5)).toEqual([]);
    expect(searchLexical([], "glucose", 5)).toEqual([]);
  });
});

describe("merged lexical index", () => {
  it("ranks exactly like searching the shards one by one", () => {
    // Prepare
    const shards = [
      ["Mitochondria produce ATP.", "Cells divide by mitosis.", "ATP powers muscle contraction."],
      ["Glycolysis splits glucose in the cytoplasm.", "The Krebs cycle runs in the mitochondria."],
      ["Plants store energy as starch.", "ATP synthase turns like a turbine to make ATP."],
    ].map((texts) => buildLexicalIndex(texts));
    const query = "where is ATP made in mitochondria";

    // Act
    const separate = searchLexical(
      shards.map((index, key) => ({ key, index })),
      query,
      5,
    );
    const merged = mergeLexicalIndexes(shards);
    const together = searchMergedLexical(merged, query, 5);

    // Assess
    const toPosition = (hit: { key: number; index: number }) => (merged.offsets[hit.key] ?? 0) + hit.index;
    expect(together.map((hit) => hit.position)).toEqual(separate.map(toPosition));
    for (const [i, hit] of together.entries()) expect(hit.score).toBeCloseTo(separate[i]?.score ?? 0, 4);
  });
});
