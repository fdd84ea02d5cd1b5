import { describe, expect, it } from "vitest";
import { dot } from "#shared/embeddings/embeddings.ts";
import { createLocalEmbedder, stem } from "#shared/embeddings/local.ts";

const PASSAGES = [
  "Photosynthesis takes place in the chloroplasts of plant cells. Using energy from sunlight, plants convert carbon dioxide and water into glucose and release oxygen as a by-product.",
  "Mitochondria are often called the powerhouse of the cell because they generate most of the cell's supply of ATP through cellular respiration.",
  "The French Revolution began in 1789, when financial crisis and food shortages led the Third Estate to challenge the absolute monarchy of Louis XVI.",
  "Newton's second law states that the acceleration of an object is directly proportional to the net force acting on it and inversely proportional to its mass.",
  "Supply and demand determine market prices: when demand for a good rises while supply stays fixed, its price tends to increase.",
  "The water cycle describes how water evaporates from oceans, condenses into clouds, and returns to the surface as precipitation such as rain or snow.",
  "In object-oriented programming, inheritance lets a subclass reuse and extend the fields and methods of its parent class.",
  "The Pythagorean theorem relates the sides of a right triangle: the square of the hypotenuse equals the sum of the squares of the other two sides.",
  "Plate tectonics explains earthquakes and volcanoes: the lithosphere is broken into plates that move slowly over the mantle and collide at their boundaries.",
  "DNA replication is semi-conservative: each new double helix contains one original strand and one newly synthesised strand copied by DNA polymerase.",
];

// Each question paraphrases the passage at the same index, sharing only some of its terms.
const QUESTIONS = [
  "How do plants turn sunlight into sugar?",
  "Which organelle produces the energy a cell needs?",
  "What caused the revolution in France in 1789?",
  "How does force relate to an object's acceleration?",
  "Why do prices go up when more people want a product?",
  "How does evaporated water come back down as rain?",
  "What does it mean for a class to inherit from a parent?",
  "How are the sides of a right-angled triangle related?",
  "Why do tectonic plates cause earthquakes?",
  "How is DNA copied when a cell replicates its genome?",
];

// A harder set: one topic (cell biology), so passages share vocabulary and questions use synonyms.
const CELL_PASSAGES = [
  "Mitochondria generate ATP through oxidative phosphorylation in their inner membrane.",
  "Chloroplasts capture light energy and convert it into chemical energy during photosynthesis.",
  "Ribosomes read messenger RNA and assemble amino acids into polypeptide chains.",
  "The Golgi apparatus modifies, sorts and packages proteins for secretion.",
  "Lysosomes contain digestive enzymes that break down worn-out organelles and debris.",
  "The nucleus stores the cell's genetic material and controls gene expression.",
  "The cell membrane is a phospholipid bilayer that regulates what enters and leaves the cell.",
  "Osmosis is the movement of water across a semipermeable membrane from low to high solute concentration.",
  "Enzymes lower the activation energy of reactions and are specific to their substrates.",
  "Meiosis produces four genetically different haploid gametes from one diploid cell.",
];

const CELL_QUESTIONS = [
  "Where is most of the cell's ATP made?",
  "Which organelle turns sunlight into chemical energy?",
  "What builds proteins from an mRNA template?",
  "Which organelle packages proteins to be secreted?",
  "What breaks down old organelles inside the cell?",
  "Where is DNA kept in a eukaryotic cell?",
  "What controls which substances get into a cell?",
  "Why does water move into a cell with more dissolved solutes?",
  "How do enzymes speed up chemical reactions?",
  "How are sex cells produced?",
];

async function recallAt(k: number, passagesText: string[], questionsText: string[]): Promise<number> {
  const embedder = createLocalEmbedder();
  const passages = await embedder.embed(passagesText);
  const questions = await embedder.embed(questionsText);
  const hits = questions.filter((question, expected) =>
    passages
      .map((passage, index) => ({ index, score: dot(question, passage) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, k)
      .some((entry) => entry.index === expected),
  ).length;
  return hits / questionsText.length;
}

describe("createLocalEmbedder", () => {
  it("finds the right passage in the top 3 for at least 80% of paraphrased questions", async () => {
    // Prepare
    const embedder = createLocalEmbedder();
    const passages = await embedder.embed(PASSAGES);

    // Act
    const questions = await embedder.embed(QUESTIONS);
    const ranks = questions.map((question, expected) =>
      passages
        .map((passage, index) => ({ index, score: dot(question, passage) }))
        .sort((a, b) => b.score - a.score)
        .findIndex((entry) => entry.index === expected),
    );

    // Assess
    const recallAt3 = ranks.filter((rank) => rank < 3).length / QUESTIONS.length;
    const recallAt1 = ranks.filter((rank) => rank === 0).length / QUESTIONS.length;
    console.info(
      `local embedder on ${QUESTIONS.length} paraphrased questions: recall@1 ${recallAt1}, recall@3 ${recallAt3}`,
    );
    expect(recallAt3).toBeGreaterThanOrEqual(0.8);
  });

  it("keeps recall@3 at 0.8 or more when all passages share one topic", async () => {
    // Prepare
    const passages = CELL_PASSAGES;

    // Act
    const recallAt1 = await recallAt(1, passages, CELL_QUESTIONS);
    const recallAt3 = await recallAt(3, passages, CELL_QUESTIONS);

    // Assess
    console.info(`local embedder, one-topic set: recall@1 ${recallAt1}, recall@3 ${recallAt3}`);
    expect(recallAt3).toBeGreaterThanOrEqual(0.8);
  });

  it("returns deterministic unit vectors of 384 dimensions", async () => {
    // Prepare
    const embedder = createLocalEmbedder();

    // Act
    const [first] = await embedder.embed(["Osmosis moves water across a membrane."]);
    const [again] = await createLocalEmbedder().embed(["Osmosis moves water across a membrane."]);

    // Assess
    expect(embedder.model).toBe("collabry-local-hash-v1");
    expect(embedder.dimensions).toBe(384);
    expect(first).toHaveLength(384);
    expect(dot(first ?? new Float32Array(), first ?? new Float32Array())).toBeCloseTo(1, 5);
    expect(again).toEqual(first);
  });

  it("scores a related text above an unrelated one", async () => {
    // Prepare
    const embedder = createLocalEmbedder();

    // Act
    const [query, related, unrelated] = await embedder.embed([
      "enzymes speed up reactions",
      "An enzyme is a protein that speeds up chemical reactions.",
      "The Treaty of Versailles ended the First World War.",
    ]);

    // Assess
    const empty = new Float32Array(384);
    expect(dot(query ?? empty, related ?? empty)).toBeGreaterThan(dot(query ?? empty, unrelated ?? empty) + 0.2);
  });

  it("stems inflections of a word to the same stem", () => {
    // Prepare
    const words = ["evaporates", "evaporation", "evaporated", "running", "runs", "cells", "cell"];

    // Act
    const stems = words.map(stem);

    // Assess
    expect(stems).toEqual(["evapor", "evapor", "evapor", "run", "run", "cell", "cell"]);
  });
});
