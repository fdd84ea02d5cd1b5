// Ingestion throughput for a text PDF with the local embedder: the whole ingestDocument path
// (blob read, extraction, chunking, embedding, shard build, blob writes, publish), median of
// three runs on fresh records so each run does the full work.
import { ingestDocument } from "#shared/ingestion/ingest.ts";
import { makeTextPdf } from "#test/fixtures/documents/make-documents.ts";
import type { Corpus } from "./corpus.ts";
import { type BenchEnvironment, elapsedMs, median, peakRssMb, round } from "./harness.ts";

const USER_ID = "bench-ingestion";
const PAGES = 60;
const WORDS_PER_PAGE = 300;
// Helvetica at 12 pt fits about 80 characters between the page margins.
const LINE_CHARS = 75;
const RUNS = 3;

export interface IngestionReport {
  pages: number;
  words_per_page: number;
  pdf_bytes: number;
  chunks: number;
  runs_ms: number[];
  median_ms: number;
  pages_per_s: number;
  chunks_per_s: number;
  peak_rss_mb: number;
}

/** Deterministic page texts cut from the corpus, in the WinAnsi subset the standard PDF fonts can draw. */
export function corpusPages(corpus: Corpus, pages: number, wordsPerPage: number): string[] {
  const words = corpus.documents
    .map((document) => document.text)
    .join("\n")
    .normalize("NFKD")
    .replace(/[^\x20-\x7e\n]/g, "")
    .replace(/^#+\s*/gm, "")
    .split(/\s+/)
    .filter(Boolean);
  return Array.from({ length: pages }, (_, page) => {
    const lines: string[] = [];
    let line = "";
    for (let i = 0; i < wordsPerPage; i++) {
      const word = words[(page * wordsPerPage + i) % words.length] ?? "";
      if (line.length + word.length + 1 > LINE_CHARS) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    if (line) lines.push(line);
    return lines.join("\n");
  });
}

export async function measureIngestion(env: BenchEnvironment, corpus: Corpus): Promise<IngestionReport> {
  const pdf = await makeTextPdf(corpusPages(corpus, PAGES, WORDS_PER_PAGE), "Collabry ingestion benchmark");
  const runs: number[] = [];
  let chunks = 0;
  for (let run = 0; run < RUNS; run++) {
    const record = await env.records.create(USER_ID, {
      filename: `bench-${run}.pdf`,
      content_type: "application/pdf",
      origin: "bench",
    });
    await env.blobs.put(record.blob_key, pdf, { contentType: "application/pdf" });
    const start = process.hrtime.bigint();
    const outcome = await ingestDocument(
      { records: env.records, blobs: env.blobs, embedder: env.embedder, limits: env.limits, logger: env.logger },
      { userId: USER_ID, documentId: record._id },
    );
    runs.push(elapsedMs(start));
    const ready = await env.records.find(USER_ID, record._id);
    if (outcome !== "ready" || ready?.pages !== PAGES) {
      throw new Error(`PDF ingestion ended ${outcome} with ${ready?.pages ?? 0} pages: ${ready?.error ?? ""}`);
    }
    chunks = ready.chunk_count ?? 0;
  }
  const medianMs = median(runs);
  return {
    pages: PAGES,
    words_per_page: WORDS_PER_PAGE,
    pdf_bytes: pdf.byteLength,
    chunks,
    runs_ms: runs.map((ms) => round(ms, 1)),
    median_ms: round(medianMs, 1),
    pages_per_s: round(PAGES / (medianMs / 1000), 1),
    chunks_per_s: round(chunks / (medianMs / 1000), 1),
    peak_rss_mb: peakRssMb(),
  };
}
