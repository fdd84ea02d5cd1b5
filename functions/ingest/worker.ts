// Lambda entry of the ingestion worker: SQS events (our ingest jobs and S3 upload notifications)
// with partial batch failures (`reportBatchItemFailures`). The only function that bundles the
// document parsers; it composes the store, blobs and embedder, nothing of the HTTP side.
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { type Config, loadConfig } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { openCloudBlobs } from "#shared/engine/cloud-blobs.ts";
import { openCloudStore } from "#shared/engine/cloud-store.ts";
import { linkedEmbedderClient } from "#shared/engine/embedder-client.ts";
import { openLambdaBlobs } from "#shared/engine/lambda.ts";
import { buildDuringInit } from "#shared/engine/lambda-init.ts";
import { createEmbedder } from "#shared/engine/model.ts";
import { documentRecordsFor, extractionLimitsFor, retrieverFor } from "#shared/engine/parts.ts";
import type { Engine } from "#shared/engine.ts";
import { createIngestWorker } from "#shared/ingestion/worker.ts";
import { createLogger } from "#shared/observability/logger.ts";
import { createMetrics } from "#shared/observability/metrics.ts";
import { onDemand } from "#shared/on-demand.ts";

type Worker = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** What the worker uses of an engine. */
export type WorkerDeps = Pick<
  Engine,
  "config" | "records" | "blobs" | "embedder" | "extractionLimits" | "logger" | "metrics"
>;

/** The worker of an engine; the local runtime feeds it from the in-process queue. */
export function workerFor(engine: WorkerDeps): Worker {
  // Big libraries get their library index rebuilt here, where the bucket is writable and memory ample.
  const libraries = retrieverFor(engine.config, engine);
  return createIngestWorker({
    afterPublish: (userId) => libraries.refreshLibrary(userId),
    records: engine.records,
    blobs: engine.blobs,
    embedder: engine.embedder,
    limits: engine.extractionLimits,
    logger: engine.logger,
    metrics: engine.metrics,
    maxReceives: engine.config.INGEST_MAX_RECEIVES,
  });
}

export async function composeWorker(
  config: Config,
  adapters: Pick<PlatformAdapters, "openStore" | "openBlobs">,
): Promise<Worker> {
  const logger = createLogger({ service: "collabry-ai", level: config.LOG_LEVEL, stage: config.STAGE });
  const metrics = createMetrics({
    service: process.env.POWERTOOLS_SERVICE_NAME ?? "collabry-ai",
    enabled: config.RUNTIME === "aws",
  });
  const store = await adapters.openStore(config);
  const [records, blobs, embedder] = await Promise.all([
    documentRecordsFor(store),
    openLambdaBlobs(config, adapters.openBlobs),
    createEmbedder(config, linkedEmbedderClient),
  ]);
  return workerFor({
    config,
    records,
    blobs,
    embedder,
    extractionLimits: extractionLimitsFor(config),
    logger,
    metrics,
  });
}

/** The worker, composed once per cold start; a failed composition is retried by the next event. */
const composedWorker = onDemand(() =>
  composeWorker(loadConfig(), { openStore: openCloudStore, openBlobs: openCloudBlobs }),
);

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  return (await composedWorker())(event);
}

await buildDuringInit(composedWorker);
