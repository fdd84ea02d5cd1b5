// Lambda entry of the sessions feature's buffered routes: listing, creating, reading, renaming and
// deleting sessions and their messages. None of them calls the model, so this bundle holds no model
// client, copilot or index search; the chat stream has its own entry, streaming.ts.
import { loadConfig } from "#shared/config/config.ts";
import { cloudAdapters } from "#shared/engine/cloud-adapters.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { composeSessionRecords } from "./compose.ts";

const entries = lambdaEntries(() => composeSessionRecords(loadConfig(), cloudAdapters));

export const handler = entries.handler;
await entries.warm();
