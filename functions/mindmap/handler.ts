// Lambda entry of the mindmap feature: mind maps of a topic or of the user's documents.
// Only these parts are composed (and bundled); see shared/engine/lambda.ts.
import { type Config, loadConfig } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { openCloudBlobs } from "#shared/engine/cloud-blobs.ts";
import { openCloudStore } from "#shared/engine/cloud-store.ts";
import { lambdaCore, lambdaModel, lambdaRetrieval } from "#shared/engine/lambda.ts";
import type { App } from "#shared/http/app.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { createFeatureApp } from "../feature-app.ts";
import { registerMindMap } from "./api.ts";

export async function composeMindMap(
  config: Config,
  adapters: Pick<PlatformAdapters, "openStore" | "openBlobs">,
): Promise<App> {
  const core = await lambdaCore(config, adapters.openStore);
  const [{ model }, retrieval] = await Promise.all([lambdaModel(core), lambdaRetrieval(core, adapters.openBlobs)]);
  const app = createFeatureApp(core);
  registerMindMap(app, { verifyToken: core.verifyToken, model, ...retrieval });
  return app;
}

const entries = lambdaEntries(() =>
  composeMindMap(loadConfig(), { openStore: openCloudStore, openBlobs: openCloudBlobs }),
);

export const handler = entries.handler;
export const streamingHandler = entries.streamingHandler;
