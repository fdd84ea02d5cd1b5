// Adapters of the deployed functions, one module per port: MongoDB, S3 and SQS. A module is all a
// function imports for its port, because esbuild keeps an external import (the AWS SDK clients,
// loaded when the bundle is) of any module the bundle reaches, used or not.
import { createSqsQueue } from "../queue/sqs.ts";
import type { PlatformAdapters } from "./adapters.ts";

/** SQS; fails naming the variable when no queue is configured (no in-process queue in a function). */
export const openCloudQueue: PlatformAdapters["openQueue"] = async (config) => {
  if (!config.INGEST_QUEUE_URL) throw new Error("INGEST_QUEUE_URL is not configured");
  return {
    queue: createSqsQueue({
      queueUrl: config.INGEST_QUEUE_URL,
      ...(config.AWS_REGION ? { region: config.AWS_REGION } : {}),
    }),
  };
};
