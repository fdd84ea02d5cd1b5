// Lambda entry of the sessions feature's streaming routes, the notebook's chat stream: every request
// calls the model, so the model clients are linked into this bundle and built while the function
// starts (see shared/engine/model-clients.ts). The buffered routes (handler.ts) never call the
// model, and their bundle holds none of it.
import { loadConfig } from "#shared/config/config.ts";
import { openCloudBlobs } from "#shared/engine/cloud-blobs.ts";
import { openCloudStore } from "#shared/engine/cloud-store.ts";
import { modelClientsAtStart } from "#shared/engine/model-clients.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { composeSessionChat } from "./compose.ts";

const entries = lambdaEntries(() =>
  composeSessionChat(loadConfig(), { openStore: openCloudStore, openBlobs: openCloudBlobs }, modelClientsAtStart),
);

export const streamingHandler = entries.streamingHandler;
await entries.warm();
