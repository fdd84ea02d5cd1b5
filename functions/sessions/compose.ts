// Compositions of the sessions feature, one per function: the buffered routes (sessions and their
// messages; deleting a session also removes its documents), which never call the model, and the
// chat stream, the copilot over the user's documents. Only these parts are composed (and bundled);
// see shared/engine/lambda.ts.
import type { Config } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { lambdaCopilot, lambdaCore, lambdaDocuments, type ModelClients } from "#shared/engine/lambda.ts";
import { sessionStoreFor } from "#shared/engine/parts.ts";
import type { App } from "#shared/http/app.ts";
import { createFeatureApp } from "../feature-app.ts";
import { registerSessionChat, registerSessionRecords } from "./api.ts";

/** The buffered function (handler.ts): no model, no copilot, no index search. */
export async function composeSessionRecords(config: Config, adapters: PlatformAdapters): Promise<App> {
  const core = await lambdaCore(config, adapters.openStore);
  const [sessions, { documents }] = await Promise.all([
    sessionStoreFor(core.store, config),
    lambdaDocuments(core, adapters),
  ]);
  const app = createFeatureApp(core);
  registerSessionRecords(app, { verifyToken: core.verifyToken, sessions, documents });
  return app;
}

/** The chat stream's function (streaming.ts): the copilot, with the model clients it is given. */
export async function composeSessionChat(
  config: Config,
  adapters: Pick<PlatformAdapters, "openStore" | "openBlobs">,
  clients: ModelClients,
): Promise<App> {
  const core = await lambdaCore(config, adapters.openStore);
  const { copilot } = await lambdaCopilot(core, adapters.openBlobs, clients);
  const app = createFeatureApp(core);
  registerSessionChat(app, { verifyToken: core.verifyToken, copilot });
  return app;
}
