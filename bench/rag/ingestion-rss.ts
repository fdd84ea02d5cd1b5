// One fresh process per peak-RSS sample of ingestion (spawned by bench/rag/ingestion.ts), so the
// other phases of the benchmark cannot raise maxRSS. Usage: ingestion-rss.ts <floor|ingest> <pdf>
//
// Both modes load the same modules (the engine's ingestion path, pdf.js, faiss-node), open the
// embedded store and store the file; only "ingest" then ingests it. The "floor" process is the
// baseline: what a worker holds before it has read a single page. Prints one JSON line.
import { readFile } from "node:fs/promises";
import { getResolvedPDFJS } from "unpdf";
import { ingestDocument } from "#shared/ingestion/ingest.ts";
import { createShardBuilder } from "#shared/vector-index/shard.ts";
import { elapsedMs, openBenchEnvironment, peakRssMb, round } from "./harness.ts";

const USER_ID = "bench-ingestion-rss";

export interface RssSample {
  mode: "floor" | "ingest";
  peak_rss_mb: number;
  pages: number;
  chunks: number;
  ms: number;
}

async function main(): Promise<void> {
  const [mode, file] = process.argv.slice(2);
  if ((mode !== "floor" && mode !== "ingest") || file === undefined) {
    throw new Error("usage: ingestion-rss.ts <floor|ingest> <pdf file>");
  }
  const bytes = await readFile(file);
  // Everything ingestion loads lazily is loaded here in both modes: the parsers, pdf.js, faiss.
  await import("#shared/extraction/extract.ts");
  await getResolvedPDFJS();
  const env = await openBenchEnvironment("ingestion-rss");
  try {
    createShardBuilder(env.embedder.dimensions).toBuffer();
    const record = await env.records.create(USER_ID, {
      filename: "long.pdf",
      content_type: "application/pdf",
      origin: "bench",
    });
    await env.blobs.put(record.blob_key, bytes, { contentType: "application/pdf" });
    const sample: RssSample = { mode, peak_rss_mb: 0, pages: 0, chunks: 0, ms: 0 };
    if (mode === "ingest") {
      const start = process.hrtime.bigint();
      const outcome = await ingestDocument(
        { records: env.records, blobs: env.blobs, embedder: env.embedder, limits: env.limits, logger: env.logger },
        { userId: USER_ID, documentId: record._id },
      );
      sample.ms = round(elapsedMs(start), 1);
      const ready = await env.records.find(USER_ID, record._id);
      if (outcome !== "ready") throw new Error(`ingestion ended ${outcome}: ${ready?.error ?? ""}`);
      sample.pages = ready?.pages ?? 0;
      sample.chunks = ready?.chunk_count ?? 0;
    }
    sample.peak_rss_mb = peakRssMb();
    process.stdout.write(`${JSON.stringify(sample)}\n`);
  } finally {
    await env.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
