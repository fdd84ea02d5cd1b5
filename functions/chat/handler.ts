// Lambda entry of the chat feature: session-optional chat over the copilot (model, the user's
// documents, study artifacts). Only these parts are composed (and bundled); see shared/engine/lambda.ts.
import { type Config, loadConfig } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { openCloudBlobs } from "#shared/engine/cloud-blobs.ts";
import { openCloudStore } from "#shared/engine/cloud-store.ts";
import { lambdaCopilot, lambdaCore } from "#shared/engine/lambda.ts";
import { modelClientsAtStart } from "#shared/engine/model-clients.ts";
import type { App } from "#shared/http/app.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { createFeatureApp } from "../feature-app.ts";
import { registerChat } from "./api.ts";

export async function composeChat(
  config: Config,
  adapters: Pick<PlatformAdapters, "openStore" | "openBlobs">,
): Promise<App> {
  const core = await lambdaCore(config, adapters.openStore);
  const { sessions, copilot } = await lambdaCopilot(core, adapters.openBlobs, modelClientsAtStart);
  const app = createFeatureApp(core);
  registerChat(app, { verifyToken: core.verifyToken, sessions, copilot });
  return app;
}

const entries = lambdaEntries(() =>
  composeChat(loadConfig(), { openStore: openCloudStore, openBlobs: openCloudBlobs }),
);

export const handler = entries.handler;
export const streamingHandler = entries.streamingHandler;
await entries.warm();
