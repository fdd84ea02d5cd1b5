// `npm start`: the engine on http://localhost:8000 with embedded defaults.
import { ConfigError, loadConfig } from "#shared/config/config.ts";
import { signDevToken } from "./dev-secret.ts";
import { loadDotEnv } from "./env-file.ts";
import { startLocalRuntime } from "./runtime.ts";

async function main(): Promise<void> {
  const usedDotEnv = loadDotEnv();
  const config = loadConfig();
  const runtime = await startLocalRuntime(config);
  const { engine } = runtime;
  const say = (line = "") => process.stdout.write(`${line}\n`);

  say();
  say(
    `Collabry AI Engine listening on ${runtime.url}  (ready ${Math.round(performance.now())} ms after process start)`,
  );
  say(`  docs:    ${runtime.url}/docs`);
  say(`  health:  ${runtime.url}/health`);
  say(`  store:   ${engine.store.kind}${engine.store.kind === "embedded" ? ` (${config.DATA_DIR})` : ""}`);
  say(
    `  model:   ${
      engine.model.info.kind === "offline"
        ? "none configured: the offline engine answers (set LLM_BASE_URL + LLM_MODEL or OLLAMA_BASE_URL)"
        : `${engine.model.info.model} at ${engine.model.info.baseUrl ?? "?"}`
    }`,
  );
  if (usedDotEnv) say("  config:  .env loaded");
  if (runtime.devSecret) {
    say();
    say(
      runtime.devSecret.created
        ? `JWT_SECRET_KEY is not set: created a local development secret in ${runtime.devSecret.path}`
        : `JWT_SECRET_KEY is not set: using the local development secret in ${runtime.devSecret.path}`,
    );
    if (config.PRINT_DEV_TOKEN) {
      const token = await signDevToken(runtime.devSecret.secret, {
        userId: "dev-student",
        ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
        ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
      });
      say("A development token for user dev-student (valid 24 h):");
      say(`  ${token}`);
      say(`Try: curl -H "Authorization: Bearer <token>" ${runtime.url}/ai/sessions`);
    }
  }
  say("More tokens: npm run token -- --user <id> [--role admin]");
  say();

  const shutdown = (signal: string) => {
    engine.logger.info("shutting down", { signal });
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    runtime.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\nSee .env.example for every variable.\n`);
  } else {
    process.stderr.write(`The engine could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});
