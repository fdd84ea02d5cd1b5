// Secrets by value locally, by reference (Secrets Manager ARN or name) in AWS. Fetched through
// Powertools parameters, which caches them for the life of the execution environment. The provider
// and the Secrets Manager client are imported with the first secret fetched by reference: a
// function given its values directly (or not yet needing one) does not evaluate them at start.
import type { LazySecretsProvider } from "./secrets-provider.ts";

const SECRET_CACHE_SECONDS = 300;

let provider: Promise<LazySecretsProvider> | undefined;

/** One provider per process, so its cache lives as long as the execution environment. */
function secretsProvider(): Promise<LazySecretsProvider> {
  provider ??= import("./secrets-provider.ts").then(
    ({ LazySecretsProvider }) => new LazySecretsProvider(),
    (error: unknown) => {
      provider = undefined;
      throw error;
    },
  );
  return provider;
}

/** Returns the secret's value: the direct value when set, else the referenced secret (JSON `{value}` or plain string). */
export async function resolveSecret(name: string, value: string | undefined, reference: string | undefined) {
  if (value) return value;
  if (!reference) return undefined;
  const secret = await (await secretsProvider()).get(reference, { maxAge: SECRET_CACHE_SECONDS });
  if (typeof secret !== "string" || secret.trim() === "") {
    throw new Error(`Secret ${name} (${reference}) is empty`);
  }
  const trimmed = secret.trim();
  // Secrets created by the CDK app hold a JSON object with a "value" field; imported ones may be plain.
  if (trimmed.startsWith("{")) {
    const parsed: unknown = JSON.parse(trimmed);
    if (typeof parsed === "object" && parsed !== null && "value" in parsed && typeof parsed.value === "string") {
      return parsed.value;
    }
  }
  return trimmed;
}
