// Lambda entry of the quiz feature: quizzes from text, documents or an attached file (the file routes read attachments, so this bundle holds the document parsers).
// Only these parts are composed (and bundled); see functions/model-feature.ts and shared/engine/lambda.ts.
import { type Config, loadConfig } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { openCloudBlobs } from "#shared/engine/cloud-blobs.ts";
import { openCloudStore } from "#shared/engine/cloud-store.ts";
import { modelClientsAtStart } from "#shared/engine/model-clients.ts";
import { extractionLimitsFor } from "#shared/engine/parts.ts";
import type { App } from "#shared/http/app.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { composeModelFeature } from "../model-feature.ts";
import { registerQuiz } from "./api.ts";

export function composeQuiz(config: Config, adapters: Pick<PlatformAdapters, "openStore" | "openBlobs">): Promise<App> {
  return composeModelFeature(config, adapters, modelClientsAtStart, (app, { core, model, retrieval }) =>
    registerQuiz(app, {
      verifyToken: core.verifyToken,
      model,
      ...retrieval,
      extractionLimits: extractionLimitsFor(config),
    }),
  );
}

const entries = lambdaEntries(() =>
  composeQuiz(loadConfig(), { openStore: openCloudStore, openBlobs: openCloudBlobs }),
);

export const handler = entries.handler;
export const streamingHandler = entries.streamingHandler;
await entries.warm();
