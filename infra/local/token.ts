// `npm run token -- --user <id> [--role admin] [--tier pro] [--ttl 3600]`: prints a token the local
// engine accepts, signed with JWT_SECRET_KEY (or the local development secret).
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "#shared/config/config.ts";
import { ensureDevSecret, signDevToken } from "./dev-secret.ts";
import { loadDotEnv } from "./env-file.ts";

const USAGE =
  "usage: npm run token -- --user <id> [--role student|mentor|admin] [--tier free|basic|pro|enterprise] [--ttl seconds]";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      user: { type: "string" },
      role: { type: "string", default: "student" },
      tier: { type: "string" },
      ttl: { type: "string", default: "86400" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help || !values.user) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(values.help ? 0 : 2);
  }
  const ttlSeconds = Number(values.ttl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    process.stderr.write(`--ttl must be a positive number of seconds\n${USAGE}\n`);
    process.exit(2);
  }
  loadDotEnv();
  const config = loadConfig();
  const secret = config.JWT_SECRET_KEY ?? (await ensureDevSecret(config.DATA_DIR)).secret;
  const token = await signDevToken(secret, {
    userId: values.user,
    role: values.role,
    ttlSeconds,
    ...(values.tier ? { tier: values.tier } : {}),
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
  });
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
