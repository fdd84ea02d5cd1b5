// API Gateway TOKEN authorizer: the same JWT verification as the functions (and the local runtime).
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from "aws-lambda";
import { bearerToken, createTokenVerifier, type TokenVerifier } from "#shared/auth/jwt.ts";
import { loadConfig } from "#shared/config/config.ts";
import { resolveSecret } from "#shared/config/secrets.ts";
import { createLogger } from "#shared/observability/logger.ts";

const config = loadConfig();
const logger = createLogger({ service: "authorizer", level: config.LOG_LEVEL, stage: config.STAGE });
let verifier: Promise<TokenVerifier> | undefined;

async function getVerifier(): Promise<TokenVerifier> {
  verifier ??= resolveSecret("JWT_SECRET_KEY", config.JWT_SECRET_KEY, config.JWT_SECRET_ARN).then((secret) => {
    if (!secret) throw new Error("JWT secret is not configured");
    return createTokenVerifier({
      secret,
      clockToleranceSeconds: config.JWT_CLOCK_TOLERANCE_SECONDS,
      ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
      ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
    });
  });
  return verifier.catch((error: unknown) => {
    verifier = undefined;
    throw error;
  });
}

// Inside Lambda the secret is fetched during init (a burst of CPU, before the first request); a
// failure there is left to the first token, which retries it.
if (process.env.AWS_LAMBDA_FUNCTION_NAME) await getVerifier().catch(() => undefined);

/** Allows the whole API for a valid token (results are cached per token), denies with 401 otherwise. */
export async function handler(event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const token = bearerToken(event.authorizationToken);
  // API Gateway answers 401 when the authorizer throws exactly "Unauthorized".
  if (!token) throw new Error("Unauthorized");
  const verify = await getVerifier();
  let user: Awaited<ReturnType<TokenVerifier>>;
  try {
    user = await verify(token);
  } catch {
    throw new Error("Unauthorized");
  }
  // The policy covers every method of the stage so one cached result serves all routes.
  const [arnPrefix, stage] = event.methodArn.split("/");
  logger.debug("authorized", { user_id: user.userId });
  return {
    principalId: user.userId,
    policyDocument: {
      Version: "2012-10-17",
      Statement: [{ Action: "execute-api:Invoke", Effect: "Allow", Resource: `${arnPrefix}/${stage}/*` }],
    },
    context: { userId: user.userId, role: user.role ?? "", tier: user.tier },
  };
}
