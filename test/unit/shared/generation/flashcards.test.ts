// Flashcards: the offline engine's definition and cloze cards (deterministic, from the material's
// own sentences) and the chat artifact the frontend parses.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { offlineFlashcards, toChatFlashcards } from "#shared/generation/flashcards.ts";
import { type Material, materialFromText } from "#shared/generation/material.ts";
import { flashcardsProblems } from "#test/support/frontend-parsers.ts";

const WATER = readFileSync(new URL("../../../fixtures/corpus/water-cycle.md", import.meta.url), "utf8");
const GLOSSARY =
  "# Glossary\n\nAquifer: a layer of porous rock that holds and transmits groundwater.\n\n" +
  "Photosynthesis refers to the way plants turn light into chemical energy. " +
  "A watershed is the area of land that drains into one river.\n";

describe("offlineFlashcards", () => {
  it("is deterministic", () => {
    // Act
    const first = offlineFlashcards(materialFromText(WATER), 18);
    const second = offlineFlashcards(materialFromText(WATER), 18);

    // Assess
    expect(second).toEqual(first);
  });

  it("turns defining sentences into 'What is X?' cards whose back is the sentence", () => {
    // Act
    const cards = offlineFlashcards(materialFromText(WATER), 18);

    // Assess
    expect(cards[0]).toMatchObject({
      front: "What is evaporation?",
      back: "Evaporation is the change of liquid water into water vapour.",
      category: "Evaporation",
      difficulty: "easy",
    });
  });

  it("reads glossary lines, 'refers to' and 'is the' definitions", () => {
    // Act
    const fronts = offlineFlashcards(materialFromText(GLOSSARY), 10).map((card) => card.front);

    // Assess
    expect(fronts).toEqual(
      expect.arrayContaining(["What is Aquifer?", "What does Photosynthesis refer to?", "What is a watershed?"]),
    );
  });

  it("fills up with cloze cards whose blank hides a phrase of the very sentence", () => {
    // Act
    const cloze = offlineFlashcards(materialFromText(WATER), 18).filter((card) =>
      card.front.startsWith("Fill in the blank: "),
    );

    // Assess
    expect(cloze.length).toBeGreaterThan(3);
    for (const card of cloze) {
      const sentence = card.front.slice("Fill in the blank: ".length).replace("_____", card.back);
      expect(WATER.replace(/\s+/g, " ")).toContain(sentence);
    }
    expect(cloze.map((card) => card.back)).toContain("stomata");
  });

  it("cites the stored section and sentence each card comes from", () => {
    // Prepare
    const inline = materialFromText(WATER);
    const stored: Material = {
      ...inline,
      stored: true,
      sections: inline.sections.map((section) => ({ ...section, source_id: "src-water", filename: "water.md" })),
    };

    // Act
    const fromText = offlineFlashcards(inline, 15);
    const fromDocuments = offlineFlashcards(stored, 15);

    // Assess
    expect(fromText.every((card) => card.citations === undefined)).toBe(true);
    expect(fromDocuments[0]?.citations).toEqual([
      expect.objectContaining({
        source_id: "src-water",
        filename: "water.md",
        quote: "Evaporation is the change of liquid water into water vapour.",
      }),
    ]);
  });

  it("never makes more cards than asked", () => {
    // Act
    const cards = offlineFlashcards(materialFromText(WATER), 5);

    // Assess
    expect(cards).toHaveLength(5);
  });
});

describe("toChatFlashcards", () => {
  it("produces the artifact the frontend accepts, with ids card-1… and at most 20 cards", () => {
    // Prepare
    const cards = offlineFlashcards(materialFromText(WATER), 30);

    // Act
    const chat = toChatFlashcards("The Water Cycle", cards);

    // Assess
    expect(flashcardsProblems(chat)).toEqual([]);
    expect(chat.cards).toHaveLength(20);
    expect(chat.cards[0]).toEqual({
      id: "card-1",
      front: "What is evaporation?",
      back: "Evaporation is the change of liquid water into water vapour.",
      category: "Evaporation",
      difficulty: "easy",
    });
  });
});
