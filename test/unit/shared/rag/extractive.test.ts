import { describe, expect, it } from "vitest";
import { extractiveAnswer } from "#shared/rag/extractive.ts";
import type { RetrievedPassage } from "#shared/rag/retrieve.ts";

function passage(quote: string, score: number, id: string): RetrievedPassage {
  return { source_id: "s", chunk_id: id, page: 1, quote, filename: "notes.md", score, heading_path: [] };
}

describe("offline extractive answers", () => {
  it("quotes sentences verbatim with the number of the passage they come from", () => {
    // Prepare
    const passages = [
      passage(
        "## Mitochondria\nThe mitochondrion produces ATP through oxidative phosphorylation. It has two membranes.",
        0.4,
        "s:1",
      ),
      passage("Chloroplasts capture light energy and make glucose for the plant.", 0.3, "s:2"),
    ];

    // Act
    const answer = extractiveAnswer("Which organelle produces ATP?", passages);

    // Assess
    const lines = answer.split("\n").filter((line) => line.startsWith("- "));
    expect(lines[0]).toBe("- The mitochondrion produces ATP through oxidative phosphorylation. [1]");
    expect(answer).not.toContain("## Mitochondria");
    expect(answer).toMatch(/no language model is configured/);
    for (const line of lines) {
      const [, sentence, number] = /^- (.*) \[(\d)\]$/.exec(line) ?? [];
      expect(passages[Number(number) - 1]?.quote).toContain(sentence);
    }
  });

  it("says so honestly when nothing in the material matched", () => {
    // Act
    const answer = extractiveAnswer("What is a black hole?", []);

    // Assess
    expect(answer).toMatch(/couldn't find anything about this in your uploaded material/);
  });

  it("is deterministic", () => {
    // Prepare
    const passages = [passage("Rivers carry water to the sea. Rain falls on mountains and flows down.", 0.5, "s:3")];

    // Act / Assess
    expect(extractiveAnswer("Where does rain go?", passages)).toBe(extractiveAnswer("Where does rain go?", passages));
  });
});
