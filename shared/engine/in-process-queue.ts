// The ingestion queue of the local runtime (and of the cold-start bench's runnable bundles): the
// in-process queue on the document store, with the configured visibility timeout and receive limit.
import type { Config } from "../config/config.ts";
import type { Logger } from "../observability/logger.ts";
import { createInProcessQueue } from "../queue/in-process.ts";
import type { DocumentStore } from "../store/store.ts";
import type { OpenedQueue } from "./adapters.ts";

export async function openInProcessIngestQueue(
  config: Config,
  store: DocumentStore,
  logger: Logger,
): Promise<OpenedQueue> {
  const localQueue = createInProcessQueue({
    store,
    name: "ingest",
    visibilityTimeoutMs: config.INGEST_VISIBILITY_TIMEOUT_SECONDS * 1000,
    maxReceives: config.INGEST_MAX_RECEIVES,
    onError: (error) => logger.error("ingestion queue error", { error: error as Error }),
  });
  return { queue: localQueue, localQueue };
}
