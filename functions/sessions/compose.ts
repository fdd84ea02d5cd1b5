// Composition of the sessions feature: sessions, their messages and the session chat over the
// copilot; deleting a session also removes its documents. Shared by the feature's two entries:
// handler.ts (buffered routes) and streaming.ts (the chat stream), which differ only in their
// model clients. Only these parts are composed (and bundled); see shared/engine/lambda.ts.
import type { Config } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { lambdaCopilot, lambdaCore, type ModelClients } from "#shared/engine/lambda.ts";
import { documentServiceFor } from "#shared/engine/parts.ts";
import type { App } from "#shared/http/app.ts";
import { createFeatureApp } from "../feature-app.ts";
import { registerSessions } from "./api.ts";

export async function composeSessions(config: Config, adapters: PlatformAdapters, clients: ModelClients): Promise<App> {
  const core = await lambdaCore(config, adapters.openStore);
  const [{ sessions, copilot, retrieval }, { queue }] = await Promise.all([
    lambdaCopilot(core, adapters.openBlobs, clients),
    adapters.openQueue(config, core.store, core.logger),
  ]);
  const documents = documentServiceFor(config, { ...retrieval, queue, logger: core.logger });
  const app = createFeatureApp(core);
  registerSessions(app, { verifyToken: core.verifyToken, sessions, copilot, documents });
  return app;
}
