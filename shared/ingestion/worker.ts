// The ingestion worker: one handler with the SQS event shape (Powertools batch processing with
// partial batch failures). In AWS it is fed by the SQS event source; locally by the durable
// in-process queue. Messages are either our own `ingest` jobs or S3 "object created" notifications
// for presigned uploads.
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { type IngestMessage, parseUploadKey } from "../documents/service.ts";
import type { EngineMetrics } from "../observability/metrics.ts";
import { type IngestionDeps, type IngestJob, ingestDocument, markIngestionAbandoned } from "./ingest.ts";

export interface WorkerDeps extends IngestionDeps {
  metrics: EngineMetrics;
  /** Deliveries after which a failing job is marked failed for the user (the message then dead-letters). */
  maxReceives: number;
  /** Called once a document is published (the user's library index may need a rebuild). */
  afterPublish?: (userId: string) => Promise<unknown>;
}

interface S3Notification {
  Records?: Array<{ eventName?: string; s3?: { object?: { key?: string } } }>;
  Event?: string;
}

/** Jobs carried by one queue message (an S3 notification may hold several objects). */
export function jobsFromMessage(body: string): IngestJob[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  if (typeof parsed !== "object" || parsed === null) return [];
  const message = parsed as Partial<IngestMessage> & S3Notification;
  if (message.type === "ingest" && typeof message.user_id === "string" && typeof message.document_id === "string") {
    return [{ userId: message.user_id, documentId: message.document_id }];
  }
  const jobs: IngestJob[] = [];
  for (const record of message.Records ?? []) {
    if (!record.eventName?.startsWith("ObjectCreated")) continue;
    // S3 URL-encodes keys in notifications (spaces as "+").
    const key = decodeURIComponent((record.s3?.object?.key ?? "").replace(/\+/g, " "));
    const job = parseUploadKey(key);
    if (job) jobs.push(job);
  }
  return jobs;
}

/** Builds the batch handler; a record fails (and is retried) only on transient errors. */
export function createIngestWorker(deps: WorkerDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const processor = new BatchProcessor(EventType.SQS);
  const handleRecord = async (record: SQSRecord) => {
    const receives = Number(record.attributes.ApproximateReceiveCount ?? "1");
    for (const job of jobsFromMessage(record.body)) {
      const started = performance.now();
      try {
        const outcome = await ingestDocument(deps, job);
        if (outcome === "ready") deps.metrics.record("IngestionDuration", performance.now() - started);
        // The document is searchable already; a failed library rebuild must not redeliver it.
        if (outcome === "ready" && deps.afterPublish) {
          await deps.afterPublish(job.userId).catch((error: unknown) => {
            deps.logger.warn("library index rebuild failed", {
              error: error instanceof Error ? error.message : String(error),
            });
          });
        }
        if (outcome === "failed") deps.metrics.record("IngestionFailures", 1);
      } catch (error) {
        deps.logger.warn("ingestion attempt failed", {
          document_id: job.documentId,
          receive_count: receives,
          error: error instanceof Error ? error.message : String(error),
        });
        // The user must never see a document stuck in "processing": the last attempt marks it failed.
        if (receives >= deps.maxReceives) {
          await markIngestionAbandoned(deps, job);
          deps.metrics.record("IngestionFailures", 1);
        }
        throw error;
      }
    }
  };
  return (event) => processPartialResponse(event, handleRecord, processor, { throwOnFullBatchFailure: false });
}
