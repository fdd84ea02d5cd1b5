// Bench-only stand-in for the cloud adapter modules (shared/engine/cloud-*.ts) in the runnable
// bundles: there is no MongoDB, S3 or SQS on this machine, so the functions run over the embedded
// store, filesystem blobs and the in-process queue. Sizes are reported from the exact CDK bundles;
// the deployed bundles' own import time is measured separately (see `deployed_import_ms`).
import { join } from "node:path";
import { createFilesystemBlobStore } from "#shared/blobs/filesystem.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { openInProcessIngestQueue } from "#shared/engine/in-process-queue.ts";
import { openEmbeddedStore } from "#shared/store/embedded.ts";

export const openCloudStore: PlatformAdapters["openStore"] = (config) => openEmbeddedStore({ dir: config.DATA_DIR });

export const openCloudBlobs: PlatformAdapters["openBlobs"] = async (config, signingSecret) => {
  if (!signingSecret) throw new Error("filesystem blobs need an upload signing secret");
  return createFilesystemBlobStore({
    root: join(config.DATA_DIR, "blobs"),
    publicBaseUrl: `http://localhost:${config.PORT}`,
    signingSecret,
  });
};

export const openCloudQueue: PlatformAdapters["openQueue"] = openInProcessIngestQueue;

export const cloudAdapters: PlatformAdapters = {
  openStore: openCloudStore,
  openBlobs: openCloudBlobs,
  openQueue: openCloudQueue,
};
