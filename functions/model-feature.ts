// Composition of the features that call the model over the user's documents (summaries, quizzes,
// question answering, mind maps, flashcards): one place that builds a Lambda's core, then its
// model and retrieval in parallel, then mounts the feature's routes.
import type { Config } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import {
  type LambdaCore,
  type LambdaRetrieval,
  lambdaCore,
  lambdaModel,
  lambdaRetrieval,
  type ModelClients,
} from "#shared/engine/lambda.ts";
import type { App } from "#shared/http/app.ts";
import type { ChatModel } from "#shared/llm/chat-model.ts";
import { createFeatureApp } from "./feature-app.ts";

export interface ModelFeatureParts {
  core: LambdaCore;
  model: ChatModel;
  retrieval: LambdaRetrieval;
}

/** Builds the app of one model-and-documents feature with its model clients; `register` mounts its routes. */
export async function composeModelFeature(
  config: Config,
  adapters: Pick<PlatformAdapters, "openStore" | "openBlobs">,
  clients: ModelClients,
  register: (app: App, parts: ModelFeatureParts) => void,
): Promise<App> {
  const core = await lambdaCore(config, adapters.openStore);
  const [{ model }, retrieval] = await Promise.all([
    lambdaModel(core, clients),
    lambdaRetrieval(core, adapters.openBlobs, clients),
  ]);
  const app = createFeatureApp(core);
  register(app, { core, model, retrieval });
  return app;
}
