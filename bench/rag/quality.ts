// Retrieval quality: the corpus goes through the real ingestion path (record → blob →
// ingestDocument), then each paraphrased question is asked through `retrieve` (hybrid: vectors
// fused with BM25). A hit is a passage from the question's source whose text holds the answer
// phrase, so the score depends on where chunk boundaries fall, exactly as a user's citation would.
// The same run ranks the stored chunks by the embedder alone (exact cosine, no BM25): the baseline
// the hybrid figures are compared with. It runs once with the offline default (local hash
// embedder) and once with the OpenAI-compatible adapter against a loopback LSA server
// (embeddings-stub.ts).

import { dot, type Embedder } from "#shared/embeddings/embeddings.ts";
import { ingestDocument, type StoredChunk, shardFiles } from "#shared/ingestion/ingest.ts";
import { createRetriever } from "#shared/rag/retrieve.ts";
import { type Figure, figure } from "../figures.ts";
import { type Corpus, containsAnswer } from "./corpus.ts";
import { type BenchEnvironment, elapsedMs, percentile, round } from "./harness.ts";

/** The issue's bar for the offline default. */
export const OFFLINE_RECALL_AT_5_TARGET = 0.85;

const USER_ID = "bench-student";
const DEPTH = 10;

export interface MissedQuestion {
  question: string;
  source: string;
  answer_contains: string;
  /** 1-based rank of the first relevant passage within the top 10, null when absent. */
  rank: number | null;
  top_sources: string[];
}

/** Rank-based scores of one way of ranking the corpus's chunks. */
export interface RankingScores {
  recall_at_1: number;
  recall_at_5: number;
  recall_at_10: number;
  mrr_at_10: number;
  ndcg_at_10: number;
}

export interface QualityReport {
  embedder: { model: string; dimensions: number; fusion_weight: number };
  documents: number;
  chunks: number;
  questions: number;
  recall_at_1: number;
  recall_at_5: number;
  recall_at_10: number;
  mrr_at_10: number;
  ndcg_at_10: number;
  recall_at_5_by_source: Record<string, number>;
  /** The embedder alone, exact cosine over the same chunks: what hybrid retrieval adds to. */
  vector_only: RankingScores;
  query_latency_ms: { p50: number; p95: number };
  /** Questions without a relevant passage in the top 5 (first 10). */
  missed: MissedQuestion[];
  missed_total: number;
}

function sourceIdOf(filename: string): string {
  return filename.replace(/\.md$/, "");
}

/** Recall@1/5/10, MRR@10 and nDCG@10 from per-question hit flags of the top 10 (`ideal`: relevant chunks). */
function scoreRankings(hits: boolean[][], ideal: number[]): { scores: RankingScores; ranks: Array<number | null> } {
  const ranks = hits.map((relevant) => {
    const first = relevant.indexOf(true);
    return first < 0 ? null : first + 1;
  });
  const ndcgs = hits.map((relevant, i) => {
    const dcg = relevant.reduce((sum, hit, position) => sum + (hit ? 1 / Math.log2(position + 2) : 0), 0);
    const best = Array.from({ length: Math.min(ideal[i] ?? 1, DEPTH) }, (_, position) => 1 / Math.log2(position + 2));
    const idealDcg = best.reduce((sum, gain) => sum + gain, 0);
    return idealDcg > 0 ? dcg / idealDcg : 0;
  });
  const total = hits.length;
  const recallAt = (k: number) => round(ranks.filter((rank) => rank !== null && rank <= k).length / total, 4);
  return {
    ranks,
    scores: {
      recall_at_1: recallAt(1),
      recall_at_5: recallAt(5),
      recall_at_10: recallAt(10),
      mrr_at_10: round(ranks.reduce<number>((sum, rank) => sum + (rank === null ? 0 : 1 / rank), 0) / total, 4),
      ndcg_at_10: round(ndcgs.reduce((sum, value) => sum + value, 0) / total, 4),
    },
  };
}

/**
 * Ingests the corpus for one user and scores every question; throws if an answer phrase straddles
 * chunks. `embedder` replaces the environment's (the local one) for ingestion and retrieval. Also
 * returns the stored chunk texts, which the latency libraries reuse.
 */
export async function measureQuality(
  benchEnv: BenchEnvironment,
  corpus: Corpus,
  embedder: Embedder = benchEnv.embedder,
): Promise<{ report: QualityReport; chunkTexts: string[] }> {
  const env = { ...benchEnv, embedder };
  const chunksBySource = new Map<string, StoredChunk[]>();
  for (const document of corpus.documents) {
    const record = await env.records.create(USER_ID, {
      filename: document.filename,
      source_id: sourceIdOf(document.filename),
      content_type: "text/markdown",
      origin: "bench",
    });
    await env.blobs.put(record.blob_key, new TextEncoder().encode(document.text), { contentType: "text/markdown" });
    const outcome = await ingestDocument(
      { records: env.records, blobs: env.blobs, embedder: env.embedder, limits: env.limits, logger: env.logger },
      { userId: USER_ID, documentId: record._id },
    );
    const ready = await env.records.find(USER_ID, record._id);
    if (outcome !== "ready" || !ready?.index_key) {
      throw new Error(`ingestion of ${document.filename} ended ${outcome}: ${ready?.error ?? "no index"}`);
    }
    const bytes = await env.blobs.get(shardFiles(ready.index_key).chunks);
    if (!bytes) throw new Error(`chunks of ${document.filename} are missing`);
    chunksBySource.set(ready.source_id, JSON.parse(new TextDecoder().decode(bytes)) as StoredChunk[]);
  }

  // Relevant chunks per question; a phrase cut by a chunk boundary can never be found, so it is
  // reported as a corpus error (shorten the phrase) rather than as a retrieval miss.
  const relevantCounts = corpus.questions.map(
    (question) =>
      (chunksBySource.get(sourceIdOf(question.source)) ?? []).filter((chunk) =>
        containsAnswer(chunk.text, question.answer_contains),
      ).length,
  );
  const straddling = corpus.questions.filter((_, i) => relevantCounts[i] === 0);
  if (straddling.length > 0) {
    throw new Error(
      `answer phrases split across chunks (shorten them):\n  - ${straddling
        .map((question) => `${question.source}: ${JSON.stringify(question.answer_contains)}`)
        .join("\n  - ")}`,
    );
  }

  const retriever = createRetriever({
    records: env.records,
    blobs: env.blobs,
    embedder: env.embedder,
    logger: env.logger,
  });
  const latencies: number[] = [];
  const hybridHits: boolean[][] = [];
  const topSources: string[][] = [];
  for (const question of corpus.questions) {
    const start = process.hrtime.bigint();
    const { passages } = await retriever.retrieve({ userId: USER_ID }, question.question, DEPTH);
    latencies.push(elapsedMs(start));
    hybridHits.push(
      passages.map(
        (passage) =>
          passage.source_id === sourceIdOf(question.source) && containsAnswer(passage.quote, question.answer_contains),
      ),
    );
    topSources.push(passages.slice(0, 3).map((passage) => passage.filename));
  }
  const { scores, ranks } = scoreRankings(hybridHits, relevantCounts);
  const missed: MissedQuestion[] = corpus.questions.flatMap((question, i) => {
    const rank = ranks[i] ?? null;
    if (rank !== null && rank <= 5) return [];
    const { source, answer_contains } = question;
    return [{ question: question.question, source, answer_contains, rank, top_sources: topSources[i] ?? [] }];
  });

  // Baseline: the embedder alone over the very same chunks (exact inner product, as a flat index).
  const allChunks = [...chunksBySource].flatMap(([sourceId, chunks]) => chunks.map((chunk) => ({ sourceId, chunk })));
  const chunkVectors = await embedder.embed(allChunks.map(({ chunk }) => chunk.text));
  const questionVectors = await embedder.embed(corpus.questions.map((question) => question.question));
  const vectorHits = corpus.questions.map((question, i) => {
    const query = questionVectors[i] ?? new Float32Array();
    return allChunks
      .map((entry, c) => ({ ...entry, score: dot(query, chunkVectors[c] ?? new Float32Array()) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, DEPTH)
      .map(
        ({ sourceId, chunk }) =>
          sourceId === sourceIdOf(question.source) && containsAnswer(chunk.text, question.answer_contains),
      );
  });

  const bySource: Record<string, number> = {};
  for (const document of corpus.documents) {
    const own = corpus.questions.flatMap((question, i) => (question.source === document.filename ? [ranks[i]] : []));
    bySource[document.filename] = round(own.filter((rank) => rank != null && rank <= 5).length / own.length, 2);
  }
  const report: QualityReport = {
    embedder: { model: embedder.model, dimensions: embedder.dimensions, fusion_weight: embedder.fusionWeight ?? 1 },
    documents: corpus.documents.length,
    chunks: allChunks.length,
    questions: corpus.questions.length,
    ...scores,
    recall_at_5_by_source: bySource,
    vector_only: scoreRankings(vectorHits, relevantCounts).scores,
    query_latency_ms: { p50: round(percentile(latencies, 50)), p95: round(percentile(latencies, 95)) },
    missed: missed.slice(0, 10),
    missed_total: missed.length,
  };
  const chunkTexts = [...chunksBySource.values()].flatMap((chunks) => chunks.map((chunk) => chunk.text));
  return { report, chunkTexts };
}

/**
 * The quality figures: recall@5 (the offline default against the issue's target), MRR@10 and
 * nDCG@10, each against the same embedder without BM25 measured in the same run; `stubbed` are the
 * OpenAI-compatible adapter's against the loopback LSA server, when it ran.
 */
export function qualityFigures(offline: QualityReport, stubbed?: QualityReport): Figure[] {
  const series: Array<{ id: string; name: string; report: QualityReport; target: boolean; note: string }> = [
    {
      id: "quality.offline",
      name: "offline default",
      report: offline,
      target: true,
      note: `${offline.embedder.model} (${offline.embedder.dimensions}-d) fused with BM25; ${offline.questions} paraphrased questions over ${offline.documents} documents`,
    },
  ];
  if (stubbed) {
    series.push({
      id: "quality.openai_stub",
      name: "OpenAI-compatible, LSA stub",
      report: stubbed,
      target: false,
      note: `OpenAI-compatible adapter against a loopback ${stubbed.embedder.model} server (LSA fitted on the corpus, ${stubbed.embedder.dimensions}-d) fused with BM25`,
    });
  }
  return series.flatMap(({ id, name, report, target, note }) => {
    const baseline = (value: number) => ({ label: `${report.embedder.model} alone, no BM25`, value });
    return [
      figure({
        id: `${id}.recall_at_5`,
        label: `recall@5, ${name}`,
        unit: "",
        value: report.recall_at_5,
        better: "higher",
        baseline: baseline(report.vector_only.recall_at_5),
        ...(target ? { target: { op: ">=" as const, value: OFFLINE_RECALL_AT_5_TARGET } } : {}),
        note,
      }),
      figure({
        id: `${id}.mrr_at_10`,
        label: `MRR@10, ${name}`,
        unit: "",
        value: report.mrr_at_10,
        better: "higher",
        baseline: baseline(report.vector_only.mrr_at_10),
      }),
      figure({
        id: `${id}.ndcg_at_10`,
        label: `nDCG@10, ${name}`,
        unit: "",
        value: report.ndcg_at_10,
        better: "higher",
        baseline: baseline(report.vector_only.ndcg_at_10),
      }),
    ];
  });
}

/** What the OpenAI-compatible run used: the stub's model and the requests the adapter made. */
export interface StubRun {
  report: QualityReport;
  model: { name: string; fitted_on_paragraphs: number; vocabulary: number; axes: number; requested_dimensions: number };
  requests: { count: number; texts: number; largest_batch: number; batch_size: number };
}

/**
 * Quality of the OpenAI-compatible adapter: an LSA model is fitted on the corpus paragraphs and
 * served on loopback, and the adapter (batched, asking for `dimensions`) embeds through it.
 */
export async function measureStubQuality(
  env: BenchEnvironment,
  corpus: Corpus,
  options: { axes?: number; dimensions?: number; batchSize?: number } = {},
): Promise<StubRun> {
  const { createOpenAICompatibleEmbedder } = await import("#shared/embeddings/openai-compatible.ts");
  const { fitLsaModel, paragraphsOf, startEmbeddingsStub } = await import("./embeddings-stub.ts");
  const paragraphs = paragraphsOf(corpus.documents.map((document) => document.text));
  const lsa = fitLsaModel(paragraphs, options.axes ?? 128);
  const dimensions = Math.min(options.dimensions ?? 96, lsa.dimensions);
  const batchSize = options.batchSize ?? 16;
  const stub = await startEmbeddingsStub(lsa);
  try {
    const embedder = createOpenAICompatibleEmbedder({
      baseUrl: stub.baseUrl,
      model: stub.model,
      dimensions,
      batchSize,
    });
    const { report } = await measureQuality(env, corpus, embedder);
    return {
      report,
      model: {
        name: stub.model,
        fitted_on_paragraphs: paragraphs.length,
        vocabulary: lsa.terms,
        axes: lsa.dimensions,
        requested_dimensions: dimensions,
      },
      requests: {
        count: stub.stats.requests,
        texts: stub.stats.texts,
        largest_batch: stub.stats.largestBatch,
        batch_size: batchSize,
      },
    };
  } finally {
    await stub.close();
  }
}
