// Ingestion throughput with the local embedder, through the whole ingestDocument path (blob read,
// extraction, chunking, embedding, shard build, blob writes, publish), median of three runs on
// fresh records so each run does the full work: a 60-page text PDF and a Markdown document of the
// same length in "pages" of 3,000 characters. Then the peak RSS of ingesting a 300-page text PDF,
// each sample in a fresh process (bench/rag/ingestion-rss.ts) against a process that loads the
// same modules and reads the same file but ingests nothing (the floor).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { StoredChunk } from "#shared/ingestion/ingest.ts";
import { ingestDocument } from "#shared/ingestion/ingest.ts";
import { makeTextPdf } from "#test/fixtures/documents/make-documents.ts";
import { runNodeChild } from "#test/support/node-child.ts";
import { type Figure, figure } from "../figures.ts";
import type { Corpus } from "./corpus.ts";
import { type BenchEnvironment, elapsedMs, median, round } from "./harness.ts";
import type { RssSample } from "./ingestion-rss.ts";

const USER_ID = "bench-ingestion";
const PAGES = 60;
const WORDS_PER_PAGE = 300;
// Helvetica at 12 pt fits about 80 characters between the page margins.
const LINE_CHARS = 75;
const RUNS = 3;
/** A Markdown "page": about what a printed page of prose holds (the PDF pages above average ~1,800). */
export const MARKDOWN_PAGE_CHARS = 3_000;
const LONG_PDF_PAGES = 300;
const RSS_SAMPLES = 3;
const EMBED_BATCH = 128;
const TARGET_PAGES_PER_S = 20;
const RSS_CHILD = fileURLToPath(new URL("./ingestion-rss.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface ThroughputReport {
  pages: number;
  bytes: number;
  chunks: number;
  runs_ms: number[];
  median_ms: number;
  pages_per_s: number;
  chunks_per_s: number;
  /** Baseline: the local embedder alone on the same chunk texts, batches of 128. */
  embed_only_chunks_per_s: number;
}

export interface PeakRssReport {
  pages: number;
  pdf_bytes: number;
  chunks: number;
  /** Median maxRSS of processes that load the modules and read the file, and ingest nothing. */
  floor_mb: number;
  /** Median maxRSS of processes that also ingest the file. */
  peak_mb: number;
  above_floor_mb: number;
  /** The same for the 60-page PDF: memory that grows with the document shows up as the difference. */
  short_pdf_peak_mb: number;
  short_pdf_above_floor_mb: number;
  samples: RssSample[];
}

export interface IngestionReport {
  pdf: ThroughputReport & {
    words_per_page: number;
    /** Baseline: pdf.js text extraction alone (openDocument, every page read), pages/s. */
    extract_only_pages_per_s: number;
  };
  markdown: ThroughputReport & { page_chars: number; characters: number };
  peak_rss: PeakRssReport;
  /** Single-threaded: every figure is per core. */
  threads: 1;
  load_average_1m: { start: number; end: number };
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

/** A Markdown document of about `pages` × 3,000 characters: the corpus documents, in order, repeated. */
export function corpusMarkdown(corpus: Corpus, pages: number): string {
  const target = pages * MARKDOWN_PAGE_CHARS;
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < target; i++) {
    const document = corpus.documents[i % corpus.documents.length];
    if (!document) throw new Error("the corpus is empty");
    parts.push(document.text.trim());
    length += document.text.length + 2;
  }
  return parts.join("\n\n").slice(0, target);
}

async function ingestOnce(
  env: BenchEnvironment,
  filename: string,
  contentType: string,
  bytes: Uint8Array,
): Promise<{ ms: number; pages: number; chunks: number; indexKey: string }> {
  const record = await env.records.create(USER_ID, { filename, content_type: contentType, origin: "bench" });
  await env.blobs.put(record.blob_key, bytes, { contentType });
  const start = process.hrtime.bigint();
  const outcome = await ingestDocument(
    { records: env.records, blobs: env.blobs, embedder: env.embedder, limits: env.limits, logger: env.logger },
    { userId: USER_ID, documentId: record._id },
  );
  const ms = elapsedMs(start);
  const ready = await env.records.find(USER_ID, record._id);
  if (outcome !== "ready" || ready?.index_key === undefined) {
    throw new Error(`${filename}: ingestion ended ${outcome}: ${ready?.error ?? ""}`);
  }
  return { ms, pages: ready.pages ?? 0, chunks: ready.chunk_count ?? 0, indexKey: ready.index_key };
}

/** Chunks/s of the embedder alone on the chunks an ingestion stored: what ingestion adds on top is the rest. */
async function embedOnlyChunksPerS(env: BenchEnvironment, indexKey: string): Promise<number> {
  const stored = await env.blobs.get(`${indexKey}chunks.json`);
  if (!stored) throw new Error(`no chunks under ${indexKey}`);
  const texts = (JSON.parse(new TextDecoder().decode(stored)) as StoredChunk[]).map((chunk) => chunk.text);
  const runs: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint();
    for (let from = 0; from < texts.length; from += EMBED_BATCH) {
      await env.embedder.embed(texts.slice(from, from + EMBED_BATCH));
    }
    runs.push(elapsedMs(start));
  }
  return round(texts.length / (median(runs) / 1000), 1);
}

async function measureThroughput(
  env: BenchEnvironment,
  filename: string,
  contentType: string,
  bytes: Uint8Array,
  pages: (ingestedPages: number) => number,
): Promise<ThroughputReport> {
  const runs: number[] = [];
  let last: Awaited<ReturnType<typeof ingestOnce>> | undefined;
  for (let run = 0; run < RUNS; run++) {
    last = await ingestOnce(env, `${run}-${filename}`, contentType, bytes);
    runs.push(last.ms);
  }
  if (!last) throw new Error("no run");
  const medianMs = median(runs);
  const pageCount = pages(last.pages);
  return {
    pages: round(pageCount, 1),
    bytes: bytes.byteLength,
    chunks: last.chunks,
    runs_ms: runs.map((ms) => round(ms, 1)),
    median_ms: round(medianMs, 1),
    pages_per_s: round(pageCount / (medianMs / 1000), 1),
    chunks_per_s: round(last.chunks / (medianMs / 1000), 1),
    embed_only_chunks_per_s: await embedOnlyChunksPerS(env, last.indexKey),
  };
}

async function extractOnlyPagesPerS(env: BenchEnvironment, pdf: Uint8Array): Promise<number> {
  const { openDocument } = await import("#shared/extraction/extract.ts");
  const runs: number[] = [];
  let pages = 0;
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint();
    const document = await openDocument(pdf, { filenameHint: "bench.pdf", limits: env.limits });
    pages = 0;
    for await (const _page of document.pages) pages++;
    runs.push(elapsedMs(start));
  }
  return round(pages / (median(runs) / 1000), 1);
}

async function runRssChild(mode: RssSample["mode"], file: string): Promise<RssSample> {
  const stdout = await runNodeChild(["--import", "tsx", RSS_CHILD, mode, file], {
    cwd: ROOT,
    label: `ingestion-rss ${mode}`,
  });
  try {
    return JSON.parse(stdout.trim().split("\n").pop() ?? "") as RssSample;
  } catch (error) {
    throw new Error(`ingestion-rss ${mode} printed no sample: ${stdout}`, { cause: error });
  }
}

async function measurePeakRss(corpus: Corpus, shortPdf: Uint8Array): Promise<PeakRssReport> {
  const longPdf = await makeTextPdf(corpusPages(corpus, LONG_PDF_PAGES, WORDS_PER_PAGE), "Collabry long PDF");
  const dir = await mkdtemp(join(tmpdir(), "collabry-bench-rss-"));
  try {
    const longFile = join(dir, "long.pdf");
    const shortFile = join(dir, "short.pdf");
    await writeFile(longFile, longPdf);
    await writeFile(shortFile, shortPdf);
    const floor: RssSample[] = [];
    const long: RssSample[] = [];
    const short: RssSample[] = [];
    // Interleaved, so a burst of load elsewhere on the machine does not land on one kind only.
    for (let sample = 0; sample < RSS_SAMPLES; sample++) {
      floor.push(await runRssChild("floor", longFile));
      long.push(await runRssChild("ingest", longFile));
      short.push(await runRssChild("ingest", shortFile));
    }
    for (const sample of long) {
      if (sample.pages !== LONG_PDF_PAGES) throw new Error(`the long PDF ingested ${sample.pages} pages`);
    }
    const floorMb = median(floor.map((sample) => sample.peak_rss_mb));
    const peakMb = median(long.map((sample) => sample.peak_rss_mb));
    const shortMb = median(short.map((sample) => sample.peak_rss_mb));
    return {
      pages: LONG_PDF_PAGES,
      pdf_bytes: longPdf.byteLength,
      chunks: long[0]?.chunks ?? 0,
      floor_mb: floorMb,
      peak_mb: peakMb,
      above_floor_mb: round(peakMb - floorMb, 1),
      short_pdf_peak_mb: shortMb,
      short_pdf_above_floor_mb: round(shortMb - floorMb, 1),
      samples: [...floor, ...long, ...short],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function measureIngestion(env: BenchEnvironment, corpus: Corpus): Promise<IngestionReport> {
  const loadAtStart = loadavg()[0] ?? 0;
  const pdf = await makeTextPdf(corpusPages(corpus, PAGES, WORDS_PER_PAGE), "Collabry ingestion benchmark");
  const pdfReport = await measureThroughput(env, "bench.pdf", "application/pdf", pdf, (pages) => {
    if (pages !== PAGES) throw new Error(`the PDF ingested ${pages} pages, expected ${PAGES}`);
    return pages;
  });
  const extractOnly = await extractOnlyPagesPerS(env, pdf);
  const markdown = corpusMarkdown(corpus, PAGES);
  const markdownReport = await measureThroughput(
    env,
    "bench.md",
    "text/markdown",
    new TextEncoder().encode(markdown),
    () => markdown.length / MARKDOWN_PAGE_CHARS,
  );
  const peakRss = await measurePeakRss(corpus, pdf);
  return {
    pdf: { ...pdfReport, words_per_page: WORDS_PER_PAGE, extract_only_pages_per_s: extractOnly },
    markdown: { ...markdownReport, page_chars: MARKDOWN_PAGE_CHARS, characters: markdown.length },
    peak_rss: peakRss,
    threads: 1,
    load_average_1m: { start: round(loadAtStart, 2), end: round(loadavg()[0] ?? 0, 2) },
  };
}

/** The ingestion figures for bench/results-rag.json. */
export function ingestionFigures(report: IngestionReport): Figure[] {
  const load = `load avg 1m ${report.load_average_1m.start}→${report.load_average_1m.end} on this 2-core machine`;
  const { pdf, markdown, peak_rss: rss } = report;
  return [
    figure({
      id: "ingestion.pdf.pages_per_s",
      label: `ingestion, ${pdf.pages}-page text PDF, pages/s per core`,
      unit: "pages/s",
      value: pdf.pages_per_s,
      better: "higher",
      baseline: { label: "pdf.js text extraction alone", value: pdf.extract_only_pages_per_s },
      target: { op: ">=", value: TARGET_PAGES_PER_S },
      note: `Whole ingestDocument path with the local embedder, median of ${RUNS}; single-threaded, so pages/s = pages/s per core; ${load}.`,
    }),
    figure({
      id: "ingestion.pdf.chunks_per_s",
      label: `ingestion, ${pdf.pages}-page text PDF, chunks/s`,
      unit: "chunks/s",
      value: pdf.chunks_per_s,
      better: "higher",
      baseline: { label: "local embedder alone, same chunks", value: pdf.embed_only_chunks_per_s },
      note: `${pdf.chunks} chunks; single-threaded.`,
    }),
    figure({
      id: "ingestion.markdown.pages_per_s",
      label: `ingestion, Markdown (${markdown.pages} pages of ${markdown.page_chars} chars), pages/s per core`,
      unit: "pages/s",
      value: markdown.pages_per_s,
      better: "higher",
      baseline: { label: "text PDF, same run", value: pdf.pages_per_s },
      target: { op: ">=", value: TARGET_PAGES_PER_S },
      note: `A Markdown "page" is ${markdown.page_chars} characters (${markdown.characters} in all, the study corpus repeated); median of ${RUNS}; ${load}.`,
    }),
    figure({
      id: "ingestion.markdown.chunks_per_s",
      label: "ingestion, Markdown, chunks/s",
      unit: "chunks/s",
      value: markdown.chunks_per_s,
      better: "higher",
      baseline: { label: "local embedder alone, same chunks", value: markdown.embed_only_chunks_per_s },
      note: `${markdown.chunks} chunks; single-threaded.`,
    }),
    figure({
      id: "ingestion.pdf300.peak_rss_mb",
      label: `ingestion peak RSS, ${rss.pages}-page text PDF`,
      unit: "MB",
      value: rss.peak_mb,
      better: "lower",
      baseline: { label: "module-load floor (same modules and file, nothing ingested)", value: rss.floor_mb },
      note: `maxRSS of a fresh process per sample, median of ${RSS_SAMPLES}; ${rss.above_floor_mb} MB above the floor (${rss.pdf_bytes} bytes of PDF, ${rss.chunks} chunks).`,
    }),
    figure({
      id: "ingestion.pdf300.rss_above_floor_mb",
      label: `ingestion memory above the floor, ${rss.pages}-page vs ${pdf.pages}-page PDF`,
      unit: "MB",
      value: rss.above_floor_mb,
      better: "lower",
      baseline: { label: `${pdf.pages}-page PDF`, value: rss.short_pdf_above_floor_mb },
      note: "Pages stream through extraction, chunking, embedding and the shard, so a 5x longer PDF should need about as much; a ratio near 1 means memory does not grow with length.",
    }),
  ];
}
