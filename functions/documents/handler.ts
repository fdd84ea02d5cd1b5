// Lambda entry of the documents feature: uploads (inline, presigned, multipart, URL), listing and
// deletion; ingestion itself runs in the worker. Only these parts are composed (and bundled): no
// model, no embedder, no index (see shared/engine/lambda.ts).
import { type Config, loadConfig } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { cloudAdapters } from "#shared/engine/cloud-adapters.ts";
import { lambdaCore, lambdaDocuments } from "#shared/engine/lambda.ts";
import type { App } from "#shared/http/app.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { createFeatureApp } from "../feature-app.ts";
import { registerDocuments } from "./api.ts";

export async function composeDocuments(config: Config, adapters: PlatformAdapters): Promise<App> {
  const core = await lambdaCore(config, adapters.openStore);
  const { records, documents } = await lambdaDocuments(core, adapters);
  const app = createFeatureApp(core);
  registerDocuments(app, { verifyToken: core.verifyToken, config, documents, records });
  return app;
}

const entries = lambdaEntries(() => composeDocuments(loadConfig(), cloudAdapters));

export const handler = entries.handler;
export const streamingHandler = entries.streamingHandler;
await entries.warm();
