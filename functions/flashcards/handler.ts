// Lambda entry of the flashcards feature: flashcard decks (FSRS reviews in the store) from the user's documents.
// Only these parts are composed (and bundled); see functions/model-feature.ts and shared/engine/lambda.ts.
import { type Config, loadConfig } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { openCloudBlobs } from "#shared/engine/cloud-blobs.ts";
import { openCloudStore } from "#shared/engine/cloud-store.ts";
import { modelClientsOnFirstUse } from "#shared/engine/model-clients-on-demand.ts";
import type { App } from "#shared/http/app.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { composeModelFeature } from "../model-feature.ts";
import { registerFlashcards } from "./api.ts";

export function composeFlashcards(
  config: Config,
  adapters: Pick<PlatformAdapters, "openStore" | "openBlobs">,
): Promise<App> {
  // Only generating a deck calls the model; listing, reading and reviewing decks do not.
  return composeModelFeature(config, adapters, modelClientsOnFirstUse, (app, { core, model, retrieval }) =>
    registerFlashcards(app, { verifyToken: core.verifyToken, model, ...retrieval, store: core.store }),
  );
}

const entries = lambdaEntries(() =>
  composeFlashcards(loadConfig(), { openStore: openCloudStore, openBlobs: openCloudBlobs }),
);

export const handler = entries.handler;
export const streamingHandler = entries.streamingHandler;
await entries.warm();
