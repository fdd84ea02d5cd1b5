// Adapters of the deployed functions, one module per port: MongoDB, S3 and SQS. A module is all a
// function imports for its port, because esbuild keeps an external import (the AWS SDK clients,
// loaded when the bundle is) of any module the bundle reaches, used or not.
import { createMongoStore } from "../store/mongodb.ts";
import type { PlatformAdapters } from "./adapters.ts";
import { openMongoStore } from "./mongo-uri.ts";

/** MongoDB; fails naming the variable when no URI is configured (no embedded store in a function). */
export const openCloudStore: PlatformAdapters["openStore"] = async (config) => {
  const store = await openMongoStore(config, createMongoStore);
  if (!store) throw new Error("MONGO_URI_SECRET_ARN (or MONGO_URI) is not configured");
  return store;
};
