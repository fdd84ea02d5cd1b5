// Lambda entry of the summarize feature: summaries of inline text or of the user's documents (retrieval over their shards).
// Only these parts are composed (and bundled); see functions/model-feature.ts and shared/engine/lambda.ts.
import { type Config, loadConfig } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { openCloudBlobs } from "#shared/engine/cloud-blobs.ts";
import { openCloudStore } from "#shared/engine/cloud-store.ts";
import { modelClientsAtStart } from "#shared/engine/model-clients.ts";
import type { App } from "#shared/http/app.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { composeModelFeature } from "../model-feature.ts";
import { registerSummarize } from "./api.ts";

export function composeSummarize(
  config: Config,
  adapters: Pick<PlatformAdapters, "openStore" | "openBlobs">,
): Promise<App> {
  return composeModelFeature(config, adapters, modelClientsAtStart, (app, { core, model, retrieval }) =>
    registerSummarize(app, { verifyToken: core.verifyToken, model, ...retrieval }),
  );
}

const entries = lambdaEntries(() =>
  composeSummarize(loadConfig(), { openStore: openCloudStore, openBlobs: openCloudBlobs }),
);

export const handler = entries.handler;
export const streamingHandler = entries.streamingHandler;
await entries.warm();
