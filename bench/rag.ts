// `npm run bench:rag`: ingestion throughput, retrieval latency at 1k/10k/100k chunks and offline
// retrieval quality on the study corpus, printed as one JSON object and written to
// bench/results-rag.json (git-ignored). Everything runs offline on the embedded adapters in temp
// directories, with fixed seeds. `retrieve` is measured as it stands, so the figures before and
// after a change to shared/rag/retrieve.ts can be compared directly.
//
// Options: BENCH_RAG_LIBRARIES=1000,10000 limits the latency libraries (default: all three).
import { writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import type { Figure } from "./figures.ts";
import { loadCorpus } from "./rag/corpus.ts";
import { openBenchEnvironment, peakRssMb, round } from "./rag/harness.ts";
import { type IngestionReport, ingestionFigures, measureIngestion } from "./rag/ingestion.ts";
import { LIBRARIES, type LibraryReport, latencyFigures, measureLibrary, measureSearchLeak } from "./rag/latency.ts";
import {
  measureQuality,
  measureStubQuality,
  OFFLINE_RECALL_AT_5_TARGET,
  type QualityReport,
  qualityFigures,
  type StubRun,
} from "./rag/quality.ts";

const RESULTS = new URL("./results-rag.json", import.meta.url);

const TARGETS = {
  p95_retrieval_ms_at_100k_cached: 30,
  offline_recall_at_5: OFFLINE_RECALL_AT_5_TARGET,
};

function log(message: string): void {
  // Progress goes to stderr so stdout stays one parseable JSON object.
  process.stderr.write(`[bench:rag] ${message}\n`);
}

function selectedLibraries() {
  const wanted = process.env.BENCH_RAG_LIBRARIES;
  if (wanted === undefined || wanted.trim() === "") return LIBRARIES;
  const sizes = new Set(wanted.split(",").map((size) => Number(size.trim())));
  return LIBRARIES.filter((library) => sizes.has(library.chunks));
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadAverageAtStart = loadavg()[0] ?? 0;
  // First, before other phases free memory that malloc would reuse and hide the growth.
  const searchLeakBytes = measureSearchLeak(384);
  const corpus = await loadCorpus();
  log(`corpus: ${corpus.documents.length} documents, ${corpus.questions.length} questions (validated)`);

  const qualityEnv = await openBenchEnvironment("quality");
  let quality: QualityReport;
  // The synthetic libraries reuse the corpus's real chunk texts, so their chunk files have realistic sizes.
  let chunkTexts: string[];
  try {
    ({ report: quality, chunkTexts } = await measureQuality(qualityEnv, corpus));
    log(`quality: recall@5 ${quality.recall_at_5}, MRR@10 ${quality.mrr_at_10}`);
  } finally {
    await qualityEnv.close();
  }
  // The OpenAI-compatible adapter end to end, against a loopback LSA embeddings server.
  const stubEnv = await openBenchEnvironment("quality-openai-stub");
  let stubbed: StubRun;
  try {
    stubbed = await measureStubQuality(stubEnv, corpus);
    log(
      `quality, OpenAI-compatible (LSA stub): recall@5 ${stubbed.report.recall_at_5}, MRR@10 ${stubbed.report.mrr_at_10}`,
    );
  } finally {
    await stubEnv.close();
  }

  const ingestionEnv = await openBenchEnvironment("ingestion");
  let ingestion: IngestionReport;
  try {
    ingestion = await measureIngestion(ingestionEnv, corpus);
    log(
      `ingestion: PDF ${ingestion.pdf.pages_per_s} pages/s, Markdown ${ingestion.markdown.pages_per_s} pages/s, ` +
        `300-page PDF peak RSS ${ingestion.peak_rss.peak_mb} MB (floor ${ingestion.peak_rss.floor_mb} MB)`,
    );
  } finally {
    await ingestionEnv.close();
  }
  const figures: Figure[] = [...ingestionFigures(ingestion)];
  figures.push(...qualityFigures(quality, stubbed.report));

  const libraries: LibraryReport[] = [];
  const questions = corpus.questions.map((question) => question.question);
  for (const spec of selectedLibraries()) {
    const env = await openBenchEnvironment(`latency-${spec.chunks}`);
    try {
      log(`latency: building ${spec.chunks} chunks in ${spec.sources} sources…`);
      const report = await measureLibrary(env, spec, chunkTexts, questions);
      libraries.push(report);
      log(`latency: ${spec.chunks} chunks p50 ${report.retrieve_ms.p50} ms, p95 ${report.retrieve_ms.p95} ms`);
    } finally {
      await env.close();
    }
  }

  figures.push(...latencyFigures(libraries));
  const at100k = libraries.find((library) => library.chunks === 100_000);
  const results = {
    benchmark: "rag",
    generated_at: new Date().toISOString(),
    environment: {
      node: process.version,
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model ?? "unknown",
      embedder: "collabry-local-hash-v1 (384-d)",
      // Other work on the machine skews latency; a load above the core count means contention.
      load_average_1m_at_start: round(loadAverageAtStart, 2),
      load_average_1m_at_end: round(loadavg()[0] ?? 0, 2),
    },
    targets: TARGETS,
    pass: {
      p95_retrieval_at_100k_cached: at100k ? at100k.retrieve_ms.p95 <= TARGETS.p95_retrieval_ms_at_100k_cached : null,
      offline_recall_at_5: quality.recall_at_5 >= TARGETS.offline_recall_at_5,
    },
    figures,
    ingestion,
    retrieval_latency: libraries,
    /** Native bytes kept per shard search (faiss-node 0.5.1 never frees its copy of the query). */
    faiss_search_leak_bytes_per_call: searchLeakBytes,
    quality,
    quality_openai_stub: stubbed,
    peak_rss_mb: peakRssMb(),
    total_s: round((Date.now() - started) / 1000, 1),
  };
  const json = JSON.stringify(results, null, 2);
  await writeFile(RESULTS, `${json}\n`);
  process.stdout.write(`${json}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench:rag] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
