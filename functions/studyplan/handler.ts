// Lambda entry of the studyplan feature: study plans from the model (no documents).
// Only these parts are composed (and bundled); see shared/engine/lambda.ts.
import { type Config, loadConfig } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { openCloudStore } from "#shared/engine/cloud-store.ts";
import { lambdaCore, lambdaModel } from "#shared/engine/lambda.ts";
import { modelClientsAtStart } from "#shared/engine/model-clients.ts";
import type { App } from "#shared/http/app.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { createFeatureApp } from "../feature-app.ts";
import { registerStudyPlan } from "./api.ts";

export async function composeStudyPlan(config: Config, adapters: Pick<PlatformAdapters, "openStore">): Promise<App> {
  const core = await lambdaCore(config, adapters.openStore);
  const { model } = await lambdaModel(core, modelClientsAtStart);
  const app = createFeatureApp(core);
  registerStudyPlan(app, { verifyToken: core.verifyToken, model });
  return app;
}

const entries = lambdaEntries(() => composeStudyPlan(loadConfig(), { openStore: openCloudStore }));

export const handler = entries.handler;
export const streamingHandler = entries.streamingHandler;
await entries.warm();
