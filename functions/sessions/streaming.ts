// Lambda entry of the sessions feature's streaming route, the notebook's chat stream: every request
// calls the model, so the model clients are linked into this bundle and built while the function
// starts (see shared/engine/model-clients.ts). A bundle of its own: linked into handler.ts, they
// would be evaluated at every cold start of the buffered routes too.
import { loadConfig } from "#shared/config/config.ts";
import { cloudAdapters } from "#shared/engine/cloud-adapters.ts";
import { modelClientsAtStart } from "#shared/engine/model-clients.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { composeSessions } from "./compose.ts";

const entries = lambdaEntries(() => composeSessions(loadConfig(), cloudAdapters, modelClientsAtStart));

export const streamingHandler = entries.streamingHandler;
await entries.warm();
