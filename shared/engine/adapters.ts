// The platform port of a composition root: which adapter serves the document store, the blobs and
// the ingestion queue. The local runtime picks from the configuration (embedded by default); a
// Lambda gets the cloud adapters only, so its bundle holds no embedded store, filesystem or
// in-process queue.
import type { BlobStore } from "../blobs/blobs.ts";
import type { Config } from "../config/config.ts";
import type { Logger } from "../observability/logger.ts";
import type { DeadLetterQueue, JobQueue, QueueConsumer } from "../queue/queue.ts";
import type { DocumentStore } from "../store/store.ts";

export interface OpenedQueue {
  queue: JobQueue;
  /** The in-process consumer and dead-letter queue (local runtime only; SQS has its own). */
  localQueue?: JobQueue & QueueConsumer & DeadLetterQueue;
}

export interface PlatformAdapters {
  openStore(config: Config): Promise<DocumentStore>;
  /** `signingSecret` signs local presigned-upload policies (filesystem blobs only; S3 signs its own). */
  openBlobs(config: Config, signingSecret: string | undefined): Promise<BlobStore>;
  openQueue(config: Config, store: DocumentStore, logger: Logger): Promise<OpenedQueue>;
}
