// Lambda entry of the meta feature: service info, /health, API docs and the auth probe, over the store and the model's
// endpoint (probed, never called). The app is built without waiting on the network, so /health
// answers and reports a component that is down instead of failing with it.
// Only these parts are composed (and bundled); see shared/engine/lambda.ts.
import { type Config, loadConfig } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { openCloudStore } from "#shared/engine/cloud-store.ts";
import { lambdaCore, modelStatus } from "#shared/engine/lambda.ts";
import type { App } from "#shared/http/app.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { createFeatureApp } from "../feature-app.ts";
import { registerMeta } from "./api.ts";

export async function composeMeta(config: Config, adapters: Pick<PlatformAdapters, "openStore">): Promise<App> {
  const core = await lambdaCore(config, adapters.openStore, { backgroundIndexes: true });
  const app = createFeatureApp(core);
  registerMeta(app, {
    verifyToken: core.verifyToken,
    store: core.store,
    model: modelStatus(config),
    // This function never calls the model, so it has no circuit of its own to report.
    modelCircuit: () => undefined,
    startedAt: core.startedAt,
  });
  return app;
}

const entries = lambdaEntries(() => composeMeta(loadConfig(), { openStore: openCloudStore }));

export const handler = entries.handler;
export const streamingHandler = entries.streamingHandler;
await entries.warm();
