// Adapters of the deployed functions, one module per port: MongoDB, S3 and SQS. A module is all a
// function imports for its port, because esbuild keeps an external import (the AWS SDK clients,
// loaded when the bundle is) of any module the bundle reaches, used or not.
import { createS3BlobStore } from "../blobs/s3.ts";
import type { PlatformAdapters } from "./adapters.ts";

/** S3; fails naming the variable when no bucket is configured (no filesystem blobs in a function). */
export const openCloudBlobs: PlatformAdapters["openBlobs"] = async (config) => {
  if (!config.DATA_BUCKET) throw new Error("DATA_BUCKET is not configured");
  return createS3BlobStore({
    bucket: config.DATA_BUCKET,
    ...(config.AWS_REGION ? { region: config.AWS_REGION } : {}),
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT, forcePathStyle: true } : {}),
  });
};
