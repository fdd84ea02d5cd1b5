// `npm run redrive [-- --dry-run]`: lists the ingestion messages that went to the dead-letter queue
// and moves them back to the ingestion queue, so that the worker tries them again (typically after
// an outage of the embedding model, S3 or the store is over).
//
// A message dead-letters after its last allowed delivery, and the worker then marks its document
// `failed` ("processing was abandoned", see markIngestionAbandoned). The worker skips failed
// documents, so redriving the message alone would change nothing: those documents are first put
// back to `pending`. Documents that failed for a reason of their own (unreadable file, too many
// pages…) are left alone; redriving their message is harmless, the worker skips them again.
//
// Where the queue lives follows the engine's configuration (and `.env`): the SQS dead-letter queue
// when INGEST_QUEUE_URL and INGEST_DLQ_URL are set, otherwise the in-process queue in DATA_DIR
// (stop or keep `npm start` running: the embedded store is safe to share between processes).
import { pathToFileURL } from "node:url";
import { loadDotEnv } from "#infra/local/env-file.ts";
import { type Config, loadConfig } from "#shared/config/config.ts";
import { resolveSecret } from "#shared/config/secrets.ts";
import { DOCUMENTS, type DocumentRecord } from "#shared/documents/records.ts";
import type { IngestJob } from "#shared/ingestion/ingest.ts";
import { jobsFromMessage } from "#shared/ingestion/worker.ts";
import type { DeadLetterQueue } from "#shared/queue/queue.ts";
import type { DocumentStore } from "#shared/store/store.ts";

// The start of the reason markIngestionAbandoned stores (shared/ingestion/ingest.ts); a document
// whose error starts otherwise failed on its own and must stay failed.
const ABANDONED_REASON_PREFIX = "Processing failed repeatedly";

/** What a redrive found and did. */
export interface RedriveReport {
  deadMessages: number;
  /** Documents put back from `failed` to `pending` (or that would be, in a dry run). */
  documentsReset: string[];
  /** Documents of dead messages left as they are, with why. */
  documentsLeft: Array<{ documentId: string; why: string }>;
  /** Messages moved back to the ingestion queue (0 in a dry run). */
  moved: number;
}

/** Resets abandoned documents to `pending`, then moves the dead letters back to the ingestion queue. */
export async function redriveDeadLetters(deps: {
  deadLetters: DeadLetterQueue;
  store: DocumentStore;
  dryRun: boolean;
  say?: (line: string) => void;
}): Promise<RedriveReport> {
  const say = deps.say ?? (() => {});
  const documents = deps.store.collection<DocumentRecord>(DOCUMENTS);
  const dead = await deps.deadLetters.list();
  const report: RedriveReport = { deadMessages: dead.length, documentsReset: [], documentsLeft: [], moved: 0 };
  const seen = new Set<string>();
  for (const message of dead) {
    const jobs = jobsFromMessage(message.body);
    say(
      `- message ${message.id}: ${message.receiveCount} receive(s)${message.lastError ? `, last error: ${message.lastError}` : ""}; ` +
        (jobs.length > 0 ? `documents ${jobs.map((job) => job.documentId).join(", ")}` : "no document"),
    );
    for (const job of jobs) {
      const key = `${job.userId}/${job.documentId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      await resetIfAbandoned(documents, job, deps.dryRun, report);
    }
  }
  // Documents first: a message redriven before its document is pending would be skipped by the worker.
  if (!deps.dryRun && dead.length > 0) report.moved = await deps.deadLetters.redrive();
  return report;
}

async function resetIfAbandoned(
  documents: ReturnType<DocumentStore["collection"]>,
  job: IngestJob,
  dryRun: boolean,
  report: RedriveReport,
): Promise<void> {
  const record = await documents.findOne({ _id: job.documentId, user_id: job.userId });
  if (record === null) {
    report.documentsLeft.push({ documentId: job.documentId, why: "deleted" });
    return;
  }
  const error = typeof record.error === "string" ? record.error : "";
  if (record.status !== "failed" || !error.startsWith(ABANDONED_REASON_PREFIX)) {
    const why = record.status === "failed" ? `failed on its own: ${error}` : `status ${String(record.status)}`;
    report.documentsLeft.push({ documentId: job.documentId, why });
    return;
  }
  if (!dryRun) {
    // Conditional on the same state, so a document the user re-uploaded meanwhile is not touched.
    const result = await documents.updateOne(
      { _id: job.documentId, user_id: job.userId, status: "failed", error },
      { $set: { status: "pending", updated_at: new Date() }, $unset: { error: "", completed_at: "" } },
    );
    if (result.modifiedCount === 0) {
      report.documentsLeft.push({ documentId: job.documentId, why: "changed meanwhile" });
      return;
    }
  }
  report.documentsReset.push(job.documentId);
}

async function openStore(config: Config): Promise<DocumentStore> {
  const uri = await resolveSecret("MONGO_URI", config.MONGO_URI, config.MONGO_URI_SECRET_ARN);
  if (uri) {
    const { createMongoStore } = await import("#shared/store/mongodb.ts");
    return createMongoStore({ uri, dbName: config.MONGO_DB });
  }
  const { openEmbeddedStore } = await import("#shared/store/embedded.ts");
  return openEmbeddedStore({ dir: config.DATA_DIR });
}

async function openDeadLetters(
  config: Config,
  store: DocumentStore,
): Promise<{ queue: DeadLetterQueue; where: string }> {
  if (config.INGEST_QUEUE_URL || config.INGEST_DLQ_URL) {
    if (!config.INGEST_QUEUE_URL || !config.INGEST_DLQ_URL) {
      throw new Error("set both INGEST_QUEUE_URL and INGEST_DLQ_URL to redrive an SQS dead-letter queue");
    }
    const { createSqsDeadLetterQueue } = await import("#shared/queue/sqs.ts");
    return {
      queue: createSqsDeadLetterQueue({
        dlqUrl: config.INGEST_DLQ_URL,
        queueUrl: config.INGEST_QUEUE_URL,
        ...(config.AWS_REGION ? { region: config.AWS_REGION } : {}),
      }),
      where: `SQS ${config.INGEST_DLQ_URL}`,
    };
  }
  const { createInProcessQueue } = await import("#shared/queue/in-process.ts");
  // Only list and redrive are used: no consumer is started here.
  const queue = createInProcessQueue({
    store,
    name: "ingest",
    visibilityTimeoutMs: config.INGEST_VISIBILITY_TIMEOUT_SECONDS * 1000,
    maxReceives: config.INGEST_MAX_RECEIVES,
  });
  return { queue, where: `the in-process queue in ${config.DATA_DIR}` };
}

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((arg) => arg !== "--dry-run");
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument(s): ${unknown.join(" ")}\nusage: npm run redrive [-- --dry-run]\n`);
    return 2;
  }
  const dryRun = argv.includes("--dry-run");
  loadDotEnv();
  const config = loadConfig();
  const store = await openStore(config);
  try {
    const { queue, where } = await openDeadLetters(config, store);
    const say = (line: string) => process.stdout.write(`${line}\n`);
    say(`Dead ingestion messages in ${where}${dryRun ? " (dry run: nothing is changed)" : ""}:`);
    const report = await redriveDeadLetters({ deadLetters: queue, store, dryRun, say });
    if (report.deadMessages === 0) say("  none");
    say(`${dryRun ? "Would reset" : "Reset"} ${report.documentsReset.length} document(s) from failed to pending.`);
    for (const left of report.documentsLeft) say(`  left ${left.documentId}: ${left.why}`);
    if (!dryRun) say(`Moved ${report.moved} message(s) back to the ingestion queue.`);
    return 0;
  } finally {
    await store.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`redrive failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
