// Lambda entry of the ingestion worker: SQS events (our ingest jobs and S3 upload notifications)
// with partial batch failures (`reportBatchItemFailures`).
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { loadConfig } from "#shared/config/config.ts";
import { createEngine, type Engine } from "#shared/engine.ts";
import { createIngestWorker } from "#shared/ingestion/worker.ts";

let worker: Promise<(event: SQSEvent) => Promise<SQSBatchResponse>> | undefined;

/** The worker of an engine; the local runtime feeds it from the in-process queue. */
export function workerFor(engine: Engine): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return createIngestWorker({
    records: engine.records,
    blobs: engine.blobs,
    embedder: engine.embedder,
    limits: engine.extractionLimits,
    logger: engine.logger,
    metrics: engine.metrics,
    maxReceives: engine.config.INGEST_MAX_RECEIVES,
  });
}

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  worker ??= createEngine(loadConfig()).then(workerFor);
  const process = await worker.catch((error: unknown) => {
    worker = undefined;
    throw error;
  });
  return process(event);
}
