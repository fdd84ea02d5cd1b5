// Lambda entry of the mindmap feature: mind maps of a topic or of the user's documents.
// Only these parts are composed (and bundled); see functions/model-feature.ts and shared/engine/lambda.ts.
import { type Config, loadConfig } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { openCloudBlobs } from "#shared/engine/cloud-blobs.ts";
import { openCloudStore } from "#shared/engine/cloud-store.ts";
import { modelClientsAtStart } from "#shared/engine/model-clients.ts";
import type { App } from "#shared/http/app.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { composeModelFeature } from "../model-feature.ts";
import { registerMindMap } from "./api.ts";

export function composeMindMap(
  config: Config,
  adapters: Pick<PlatformAdapters, "openStore" | "openBlobs">,
): Promise<App> {
  return composeModelFeature(config, adapters, modelClientsAtStart, (app, { core, model, retrieval }) =>
    registerMindMap(app, { verifyToken: core.verifyToken, model, ...retrieval }),
  );
}

const entries = lambdaEntries(() =>
  composeMindMap(loadConfig(), { openStore: openCloudStore, openBlobs: openCloudBlobs }),
);

export const handler = entries.handler;
export const streamingHandler = entries.streamingHandler;
await entries.warm();
