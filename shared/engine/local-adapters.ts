// Adapters of the local runtime: the cloud services when the configuration names them, else the
// embedded store, filesystem blobs and the in-process queue. Imported on demand, so a local start
// loads only the adapters it uses.
import { join } from "node:path";
import type { PlatformAdapters } from "./adapters.ts";
import { openMongoStore } from "./mongo-uri.ts";

export const localAdapters: PlatformAdapters = {
  async openStore(config) {
    const mongo = await openMongoStore(config, async (options) =>
      (await import("../store/mongodb.ts")).createMongoStore(options),
    );
    if (mongo) return mongo;
    const { openEmbeddedStore } = await import("../store/embedded.ts");
    return openEmbeddedStore({ dir: config.DATA_DIR });
  },

  async openBlobs(config, signingSecret) {
    if (config.DATA_BUCKET) {
      const { createS3BlobStore } = await import("../blobs/s3.ts");
      return createS3BlobStore({
        bucket: config.DATA_BUCKET,
        ...(config.AWS_REGION ? { region: config.AWS_REGION } : {}),
        ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT, forcePathStyle: true } : {}),
      });
    }
    if (!signingSecret) throw new Error("local blob store needs an upload signing secret");
    const { createFilesystemBlobStore } = await import("../blobs/filesystem.ts");
    return createFilesystemBlobStore({
      root: join(config.DATA_DIR, "blobs"),
      publicBaseUrl: config.PUBLIC_BASE_URL ?? `http://localhost:${config.PORT}`,
      signingSecret,
    });
  },

  async openQueue(config, store, logger) {
    if (config.INGEST_QUEUE_URL) {
      const { createSqsQueue } = await import("../queue/sqs.ts");
      return {
        queue: createSqsQueue({
          queueUrl: config.INGEST_QUEUE_URL,
          ...(config.AWS_REGION ? { region: config.AWS_REGION } : {}),
        }),
      };
    }
    const { openInProcessIngestQueue } = await import("./in-process-queue.ts");
    return openInProcessIngestQueue(config, store, logger);
  },
};
