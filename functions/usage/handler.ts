// Lambda entry of the usage feature: usage logs, statistics and quota resets over the store.
// Only these parts are composed (and bundled); see shared/engine/lambda.ts.
import { type Config, loadConfig } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { openCloudStore } from "#shared/engine/cloud-store.ts";
import { lambdaCore } from "#shared/engine/lambda.ts";
import type { App } from "#shared/http/app.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { createFeatureApp } from "../feature-app.ts";
import { registerUsage } from "./api.ts";

export async function composeUsage(config: Config, adapters: Pick<PlatformAdapters, "openStore">): Promise<App> {
  const core = await lambdaCore(config, adapters.openStore);
  const app = createFeatureApp(core);
  registerUsage(app, { verifyToken: core.verifyToken, config, usage: core.usage });
  return app;
}

const entries = lambdaEntries(() => composeUsage(loadConfig(), { openStore: openCloudStore }));

export const handler = entries.handler;
export const streamingHandler = entries.streamingHandler;
await entries.warm();
