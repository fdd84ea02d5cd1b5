// Lambda entry of the summarize feature (thin: the app is built once per cold start).
import { loadConfig } from "#shared/config/config.ts";
import { createEngine } from "#shared/engine.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { buildApp } from "../app.ts";

const entries = lambdaEntries(async () => buildApp(await createEngine(loadConfig()), ["summarize"]));

export const handler = entries.handler;
export const streamingHandler = entries.streamingHandler;
