// Lambda entry of the sessions feature's buffered routes: listing, creating, reading and deleting
// sessions and their messages, and the buffered session chat. Few of these call the model, so the
// model clients are imported and built on the first call that does (normally never); the chat
// stream has its own entry, streaming.ts, which links them in.
import { loadConfig } from "#shared/config/config.ts";
import { cloudAdapters } from "#shared/engine/cloud-adapters.ts";
import { modelClientsOnFirstUse } from "#shared/engine/model-clients-on-demand.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { composeSessions } from "./compose.ts";

const entries = lambdaEntries(() => composeSessions(loadConfig(), cloudAdapters, modelClientsOnFirstUse));

export const handler = entries.handler;
await entries.warm();
