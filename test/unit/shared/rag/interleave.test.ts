import { describe, expect, it } from "vitest";
import { interleaveByRank } from "#shared/rag/answer.ts";

describe("interleaveByRank", () => {
  it("keeps one list's order as it is", () => {
    expect(interleaveByRank([["c", "a", "b"]], 5)).toEqual(["c", "a", "b"]);
  });

  it("takes the first of each list, then the second of each, up to k", () => {
    expect(interleaveByRank([["a1", "a2", "a3"], ["b1"], ["c1", "c2"]], 5)).toEqual(["a1", "b1", "c1", "a2", "c2"]);
    expect(interleaveByRank([], 3)).toEqual([]);
  });
});
