// Entries bundled only to be compared with: the floor (a handler that does nothing, so its init is
// Node's own module loading and one call) and the shape every function had before composition per
// feature (one whole engine and every feature's routes in each bundle).
export const EMPTY_HANDLER_SOURCE = "export const handler = async () => ({ statusCode: 200, body: '' });\n";

/** The whole local engine and every route: what each function bundled before per-feature composition. */
export const ALL_FEATURES_ENTRY_SOURCE = `import { buildApp } from "#functions/app.ts";
import { loadConfig } from "#shared/config/config.ts";
import { createEngine } from "#shared/engine.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";

const entries = lambdaEntries(async () => buildApp(await createEngine(loadConfig())));
export const handler = entries.handler;
`;
