import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BlobStore } from "#shared/blobs/blobs.ts";
import type { DocumentRecords } from "#shared/documents/records.ts";
import type { Embedder } from "#shared/embeddings/embeddings.ts";
import { createLogger } from "#shared/observability/logger.ts";
import { coversQueryTerms, createRetriever } from "#shared/rag/retrieve.ts";
import { type DocumentsTestEnv, openDocumentsTestEnv, publishSource } from "#test/support/published-sources.ts";

// The chunk naming the rare term comes last, so the tied vector list ranks it lowest.
const CHUNKS = [
  "Enzymes in the leaf speed up reactions; an enzyme is a protein catalyst found in every leaf cell.",
  "A leaf is thin and flat so that light reaches the cells where enzymes work.",
  "Enzymes lower the activation energy of a reaction without being used up.",
  "Guard cells on the leaf surface open and close the stomata.",
  "Veins carry water into the leaf and sugar out of it.",
  "Rubisco fixes carbon dioxide in the Calvin cycle; it is the most abundant enzyme on Earth.",
];

// An embedder that barely tells the chunks apart: their cosines to any query differ in the fourth
// decimal, in chunk order, so its ranking is near-ties that put the rare-term chunk last. Fusion
// must not let such near-ties outvote a decisive BM25 match.
function nearTieVector(text: string): Float32Array {
  const position = CHUNKS.indexOf(text);
  const tilt = position < 0 ? 0 : 0.01 * (position + 1);
  return Float32Array.from([1 / Math.hypot(1, tilt), tilt / Math.hypot(1, tilt), 0, 0]);
}
const nearTies: Embedder = {
  model: "near-ties-test",
  dimensions: 4,
  embed: async (texts) => texts.map(nearTieVector),
};
const logger = createLogger({ service: "test", level: "SILENT" });

let env: DocumentsTestEnv;
let records: DocumentRecords;
let blobs: BlobStore;

beforeEach(async () => {
  env = await openDocumentsTestEnv("fusion");
  ({ records, blobs } = env);
});

afterEach(async () => {
  await env.close();
});

function publish(userId: string, sourceId: string, texts: string[], embedder = nearTies): Promise<string> {
  return publishSource({ records, blobs }, embedder, userId, sourceId, texts);
}

describe("hybrid fusion", () => {
  it("keeps BM25's decisive match first when the vector ranking is near-ties against it", async () => {
    // Prepare
    await publish("student-1", "leaf-notes", CHUNKS);
    const retriever = createRetriever({ records, blobs, embedder: nearTies, logger });

    // Act
    const { passages } = await retriever.retrieve({ userId: "student-1" }, "Which leaf enzyme is rubisco?", 3);

    // Assess
    expect(passages[0]?.chunk_id).toBe("leaf-notes:5");
    // `score` stays the plain cosine, whatever the fusion did.
    const last = nearTieVector(CHUNKS[5] ?? "");
    expect(passages[0]?.score).toBeCloseTo(last[0] ?? 0, 4);
  });
});

describe("lexical-only hits", () => {
  it("score by the vector their shard stores, without embedding their text again", async () => {
    // Prepare: more chunks than the vector list holds (20 at k = 3), with the rare term in the
    // last one, which the vector ranking puts last: only BM25 finds it.
    const texts = [
      ...Array.from({ length: 29 }, (_, i) => `Leaf note ${i + 1}: cells, water and light in the leaf.`),
      "Rubisco fixes carbon dioxide in the Calvin cycle.",
    ];
    const tilted = (text: string) => {
      const position = texts.indexOf(text);
      const tilt = position < 0 ? 0 : 0.01 * (position + 1);
      return Float32Array.from([1 / Math.hypot(1, tilt), tilt / Math.hypot(1, tilt), 0, 0]);
    };
    const published: Embedder = { model: "tilted-test", dimensions: 4, embed: async (batch) => batch.map(tilted) };
    await publish("student-1", "leaf-notes", texts, published);
    const embedded: string[][] = [];
    const counting: Embedder = {
      ...published,
      embed: async (batch) => {
        embedded.push([...batch]);
        return batch.map(tilted);
      },
    };
    const retriever = createRetriever({ records, blobs, embedder: counting, logger });

    // Act
    const { passages } = await retriever.retrieve({ userId: "student-1" }, "What does rubisco fix?", 3);

    // Assess: found, scored with its stored vector's cosine, and only the question was embedded.
    const rubisco = passages.find((passage) => passage.chunk_id === "leaf-notes:29");
    expect(rubisco?.score).toBeCloseTo(tilted(texts[29] ?? "")[0] ?? 0, 4);
    expect(embedded).toEqual([["What does rubisco fix?"]]);
  });
});

// Every chunk on one axis and every query on another: cosine 0 for all, as the local hash
// embedder gives for a paraphrase, so only shared terms can show that a passage is related.
const blind: Embedder = {
  model: "blind-test",
  dimensions: 2,
  embed: async (texts) => texts.map((text) => Float32Array.from(CHUNKS.includes(text) ? [1, 0] : [0, 1])),
};

describe("relevance filter (relevantOnly)", () => {
  it("keeps low-cosine passages that hold the question's key terms and drops the rest", async () => {
    // Prepare
    await publish("student-1", "leaf-notes", CHUNKS, blind);
    const retriever = createRetriever({ records, blobs, embedder: blind, logger });
    const question = "Which leaf enzyme is rubisco?";

    // Act
    const unfiltered = await retriever.retrieve({ userId: "student-1" }, question, 6);
    const related = await retriever.retrieve({ userId: "student-1" }, question, 6, {
      relevantOnly: { minCosine: 0.15 },
    });
    const greeting = await retriever.retrieve({ userId: "student-1" }, "tell me a joke about the leaf", 6, {
      relevantOnly: { minCosine: 0.15 },
    });

    // Assess
    expect(unfiltered.passages).toHaveLength(6);
    // Two or more of {leaf, enzyme, rubisco}: chunks 0, 1 and 5; chunks with one of them are chance.
    expect(related.passages.map((passage) => passage.chunk_id).sort()).toEqual([
      "leaf-notes:0",
      "leaf-notes:1",
      "leaf-notes:5",
    ]);
    expect(greeting.passages).toEqual([]);
  });

  it("needs two shared terms and half of the query's terms", () => {
    const terms = new Set(["leaf", "enzym", "rubisco", "calvin"]);
    expect(coversQueryTerms(terms, "Rubisco is an enzyme of the Calvin cycle")).toBe(true);
    expect(coversQueryTerms(terms, "Rubisco is abundant")).toBe(false);
    expect(coversQueryTerms(new Set(["jok", "tell"]), "They tell the story")).toBe(false);
    expect(coversQueryTerms(new Set(), "anything")).toBe(false);
  });
});
