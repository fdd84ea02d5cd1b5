import { afterEach, describe, expect, it } from "vitest";
import { EmbeddingError } from "#shared/embeddings/embeddings.ts";
import { createOpenAICompatibleEmbedder } from "#shared/embeddings/openai-compatible.ts";
import {
  type EmbeddingsStub,
  fitLsaModel,
  paragraphsOf,
  startEmbeddingsStub,
} from "../../../bench/rag/embeddings-stub.ts";
import { type QualityReport, qualityFigures } from "../../../bench/rag/quality.ts";

// Two topics; within each, paragraphs link words that never meet in one sentence of the queries.
const DOCUMENTS = [
  [
    "# Plants",
    "Chloroplasts capture sunlight and make glucose from carbon dioxide and water.",
    "Leaves hold many chloroplasts, and sunlight reaching the leaves powers photosynthesis.",
    "Photosynthesis releases oxygen, made from the water the roots draw up.",
    "Stomata on leaves open to let carbon dioxide in and water vapour out.",
  ].join("\n\n"),
  [
    "# Markets",
    "When demand rises and supply stays fixed, the market price rises.",
    "Buyers want less of a good as its price rises, which is the law of demand.",
    "Sellers supply more when the price is high, so supply curves slope upward.",
    "A shortage pushes the price up until supply and demand meet at equilibrium.",
  ].join("\n\n"),
];

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] ?? 0) * (b[i] ?? 0);
    na += (a[i] ?? 0) ** 2;
    nb += (b[i] ?? 0) ** 2;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

let stub: EmbeddingsStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

describe("fitLsaModel", () => {
  it("places a text near paragraphs of its topic through words it shares only by co-occurrence", () => {
    // Prepare
    const paragraphs = paragraphsOf(DOCUMENTS);
    const model = fitLsaModel(paragraphs, 4);

    // Act
    const query = model.embed("What do leaves do with sunlight?");
    const plants = model.embed("Photosynthesis releases oxygen");
    const markets = model.embed("the market price rises");

    // Assess
    expect(paragraphs).toHaveLength(8);
    expect(model.dimensions).toBe(4);
    expect(cosine(query, plants)).toBeGreaterThan(cosine(query, markets));
    expect(model.embed("What do leaves do with sunlight?")).toEqual(query);
  });
});

describe("startEmbeddingsStub", () => {
  it("serves the OpenAI-compatible adapter in batches, with the dimensions it asks for", async () => {
    // Prepare
    stub = await startEmbeddingsStub(fitLsaModel(paragraphsOf(DOCUMENTS), 6), "corpus-lsa");
    const embedder = createOpenAICompatibleEmbedder({
      baseUrl: stub.baseUrl,
      model: stub.model,
      dimensions: 3,
      batchSize: 2,
    });
    const texts = ["sunlight on leaves", "price and demand", "oxygen from water", "supply curves", "stomata"];

    // Act
    const vectors = await embedder.embed(texts);

    // Assess
    expect(vectors).toHaveLength(5);
    for (const vector of vectors) expect(vector).toHaveLength(3);
    expect(stub.stats).toMatchObject({ requests: 3, texts: 5, largestBatch: 2, dimensionsRequested: [3] });
  });

  it("answers 400 with a detail when more dimensions are asked for than were fitted", async () => {
    // Prepare
    stub = await startEmbeddingsStub(fitLsaModel(paragraphsOf(DOCUMENTS), 4));
    const embedder = createOpenAICompatibleEmbedder({
      baseUrl: stub.baseUrl,
      model: stub.model,
      dimensions: 64,
      maxRetries: 0,
    });

    // Act
    const response = await fetch(`${stub.baseUrl}/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: ["leaves"], dimensions: 64 }),
    });

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ detail: "dimensions must be at most 4" });
    await expect(embedder.embed(["leaves"])).rejects.toBeInstanceOf(EmbeddingError);
  });
});

describe("qualityFigures", () => {
  const report = (model: string, recallAt5: number, vectorRecallAt5: number): QualityReport => ({
    embedder: { model, dimensions: 384, fusion_weight: 0.5 },
    documents: 15,
    chunks: 145,
    questions: 105,
    recall_at_1: 0.6,
    recall_at_5: recallAt5,
    recall_at_10: 0.95,
    mrr_at_10: 0.78,
    ndcg_at_10: 0.82,
    recall_at_5_by_source: {},
    vector_only: { recall_at_1: 0.4, recall_at_5: vectorRecallAt5, recall_at_10: 0.7, mrr_at_10: 0.5, ndcg_at_10: 0.6 },
    query_latency_ms: { p50: 1, p95: 2 },
    missed: [],
    missed_total: 0,
  });

  it("holds the offline recall@5 to the 0.85 target against the embedder alone, and the stub's without a target", () => {
    // Act
    const figures = qualityFigures(report("collabry-local-hash-v1", 0.84, 0.6), report("corpus-lsa", 0.9, 0.9));

    // Assess
    const byId = new Map(figures.map((item) => [item.id, item]));
    expect(byId.get("quality.offline.recall_at_5")).toMatchObject({
      value: 0.84,
      baseline: { value: 0.6 },
      ratio: 1.4,
      pass: false,
    });
    expect(byId.get("quality.offline.mrr_at_10")).toMatchObject({ value: 0.78, baseline: { value: 0.5 } });
    expect(byId.get("quality.openai_stub.recall_at_5")).toMatchObject({ value: 0.9, pass: null });
    expect(figures).toHaveLength(6);
  });
});
