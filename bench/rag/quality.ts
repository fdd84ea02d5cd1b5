// Retrieval quality of the offline default: the corpus goes through the real ingestion path
// (record → blob → ingestDocument), then each paraphrased question is asked through `retrieve`.
// A hit is a passage from the question's source whose text holds the answer phrase, so the score
// depends on where chunk boundaries fall, exactly as a user's citation would.
import { ingestDocument, type StoredChunk, shardFiles } from "#shared/ingestion/ingest.ts";
import { createRetriever } from "#shared/rag/retrieve.ts";
import { type Corpus, containsAnswer } from "./corpus.ts";
import { type BenchEnvironment, elapsedMs, percentile, round } from "./harness.ts";

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

export interface QualityReport {
  documents: number;
  chunks: number;
  questions: number;
  recall_at_1: number;
  recall_at_5: number;
  recall_at_10: number;
  mrr_at_10: number;
  ndcg_at_10: number;
  recall_at_5_by_source: Record<string, number>;
  query_latency_ms: { p50: number; p95: number };
  /** Questions without a relevant passage in the top 5 (first 10). */
  missed: MissedQuestion[];
  missed_total: number;
}

function sourceIdOf(filename: string): string {
  return filename.replace(/\.md$/, "");
}

/**
 * Ingests the corpus for one user and scores every question; throws if an answer phrase straddles
 * chunks. Also returns the stored chunk texts, which the latency libraries reuse.
 */
export async function measureQuality(
  env: BenchEnvironment,
  corpus: Corpus,
): Promise<{ report: QualityReport; chunkTexts: string[] }> {
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
  const ranks: Array<number | null> = [];
  const ndcgs: number[] = [];
  const latencies: number[] = [];
  const missed: MissedQuestion[] = [];
  for (const [i, question] of corpus.questions.entries()) {
    const start = process.hrtime.bigint();
    const { passages } = await retriever.retrieve({ userId: USER_ID }, question.question, DEPTH);
    latencies.push(elapsedMs(start));
    const relevant = passages.map(
      (passage) =>
        passage.source_id === sourceIdOf(question.source) && containsAnswer(passage.quote, question.answer_contains),
    );
    const firstHit = relevant.indexOf(true);
    const rank = firstHit < 0 ? null : firstHit + 1;
    ranks.push(rank);
    const dcg = relevant.reduce((sum, hit, position) => sum + (hit ? 1 / Math.log2(position + 2) : 0), 0);
    const ideal = Array.from(
      { length: Math.min(relevantCounts[i] ?? 1, DEPTH) },
      (_, position) => 1 / Math.log2(position + 2),
    ).reduce((sum, gain) => sum + gain, 0);
    ndcgs.push(ideal > 0 ? dcg / ideal : 0);
    if (rank === null || rank > 5) {
      missed.push({
        question: question.question,
        source: question.source,
        answer_contains: question.answer_contains,
        rank,
        top_sources: passages.slice(0, 3).map((passage) => passage.filename),
      });
    }
  }

  const total = corpus.questions.length;
  const recallAt = (k: number) => round(ranks.filter((rank) => rank !== null && rank <= k).length / total, 4);
  const bySource: Record<string, number> = {};
  for (const document of corpus.documents) {
    const own = corpus.questions.flatMap((question, i) => (question.source === document.filename ? [ranks[i]] : []));
    bySource[document.filename] = round(own.filter((rank) => rank != null && rank <= 5).length / own.length, 2);
  }
  const report: QualityReport = {
    documents: corpus.documents.length,
    chunks: [...chunksBySource.values()].reduce((sum, chunks) => sum + chunks.length, 0),
    questions: total,
    recall_at_1: recallAt(1),
    recall_at_5: recallAt(5),
    recall_at_10: recallAt(10),
    mrr_at_10: round(ranks.reduce<number>((sum, rank) => sum + (rank === null ? 0 : 1 / rank), 0) / total, 4),
    ndcg_at_10: round(ndcgs.reduce((sum, value) => sum + value, 0) / total, 4),
    recall_at_5_by_source: bySource,
    query_latency_ms: { p50: round(percentile(latencies, 50)), p95: round(percentile(latencies, 95)) },
    missed: missed.slice(0, 10),
    missed_total: missed.length,
  };
  const chunkTexts = [...chunksBySource.values()].flatMap((chunks) => chunks.map((chunk) => chunk.text));
  return { report, chunkTexts };
}
