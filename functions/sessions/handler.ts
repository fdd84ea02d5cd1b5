// Lambda entry of the sessions feature: sessions, their messages and the session chat over the
// copilot; deleting a session also removes its documents. Only these parts are composed (and
// bundled); see shared/engine/lambda.ts.
import { type Config, loadConfig } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { cloudAdapters } from "#shared/engine/cloud-adapters.ts";
import { lambdaCopilot, lambdaCore, type ModelClients } from "#shared/engine/lambda.ts";
import { onDemandModelClients } from "#shared/engine/model-clients-on-demand.ts";
import { documentServiceFor } from "#shared/engine/parts.ts";
import type { App } from "#shared/http/app.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { createFeatureApp } from "../feature-app.ts";
import { registerSessions } from "./api.ts";

/**
 * Of the sessions routes only the chat stream calls the model. Its function (the bundle's
 * `streamingHandler`, as Lambda's `_HANDLER` names it) builds the model clients while it starts;
 * the buffered one (listing, creating, reading sessions) on the first model call, i.e. normally never.
 * Both share this bundle, so the clients' code is imported, not linked in: linked, the buffered
 * function would evaluate it at every cold start.
 */
export function modelClientsFor(lambdaHandler: string | undefined): ModelClients {
  return {
    build: lambdaHandler?.endsWith(".streamingHandler") ? "at-start" : "on-first-use",
    factories: onDemandModelClients,
  };
}

export async function composeSessions(config: Config, adapters: PlatformAdapters): Promise<App> {
  const core = await lambdaCore(config, adapters.openStore);
  const [{ sessions, copilot, retrieval }, { queue }] = await Promise.all([
    lambdaCopilot(core, adapters.openBlobs, modelClientsFor(process.env._HANDLER)),
    adapters.openQueue(config, core.store, core.logger),
  ]);
  const documents = documentServiceFor(config, { ...retrieval, queue, logger: core.logger });
  const app = createFeatureApp(core);
  registerSessions(app, { verifyToken: core.verifyToken, sessions, copilot, documents });
  return app;
}

const entries = lambdaEntries(() => composeSessions(loadConfig(), cloudAdapters));

export const handler = entries.handler;
export const streamingHandler = entries.streamingHandler;
await entries.warm();
