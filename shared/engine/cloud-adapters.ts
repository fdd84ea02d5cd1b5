// Every cloud adapter, for the functions that use all three ports (documents, sessions).
import type { PlatformAdapters } from "./adapters.ts";
import { openCloudBlobs } from "./cloud-blobs.ts";
import { openCloudQueue } from "./cloud-queue.ts";
import { openCloudStore } from "./cloud-store.ts";

export const cloudAdapters: PlatformAdapters = {
  openStore: openCloudStore,
  openBlobs: openCloudBlobs,
  openQueue: openCloudQueue,
};
