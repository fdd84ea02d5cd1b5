// The JWT verifier of every entry point (the authorizer, each feature function, the local runtime):
// the secret by value or by reference, and a verifier that fetches it on demand.
import type { Config } from "../config/config.ts";
import { resolveSecret } from "../config/secrets.ts";
import { onDemand } from "../on-demand.ts";
import { createTokenVerifier, type TokenVerifier } from "./jwt.ts";

/** The JWT secret: the configured value, else the referenced secret; throws when neither is set. */
export async function jwtSecretFor(config: Config): Promise<string> {
  const secret = await resolveSecret("JWT_SECRET_KEY", config.JWT_SECRET_KEY, config.JWT_SECRET_ARN);
  if (!secret) throw new Error("JWT_SECRET_KEY is not configured");
  return secret;
}

export function tokenVerifierFor(config: Config, secret: string): TokenVerifier {
  return createTokenVerifier({
    secret,
    clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
  });
}

/** A token verifier whose secret is fetched by `prefetch` or, at the latest, by the first token. */
export interface LazyTokenVerifier {
  verifyToken: TokenVerifier;
  /** The verifier once the secret is fetched; rejects (and is retried next time) when the fetch fails. */
  verifier(): Promise<TokenVerifier>;
  /** Fetches the secret now; settles either way (a failure is retried by the next token). */
  prefetch(): Promise<void>;
}

/**
 * A verifier that fetches the secret on its first token (or when prefetched), so that building an
 * app needs no network call (public routes such as /health answer even when Secrets Manager does
 * not). A failed fetch is retried by the next token.
 */
export function lazyTokenVerifier(config: Config): LazyTokenVerifier {
  const load = onDemand(async () => tokenVerifierFor(config, await jwtSecretFor(config)));
  return {
    verifyToken: async (token) => (await load())(token),
    verifier: load,
    prefetch: () =>
      load().then(
        () => undefined,
        () => undefined,
      ),
  };
}
