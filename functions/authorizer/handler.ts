// API Gateway TOKEN authorizer: the same JWT verification as the functions (and the local runtime).
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from "aws-lambda";
import { bearerToken, type TokenVerifier } from "#shared/auth/jwt.ts";
import { lazyTokenVerifier } from "#shared/auth/verifier.ts";
import { loadConfig } from "#shared/config/config.ts";
import { createLogger } from "#shared/observability/logger.ts";

const config = loadConfig();
const logger = createLogger({ service: "authorizer", level: config.LOG_LEVEL, stage: config.STAGE });
const tokens = lazyTokenVerifier(config);

// Inside Lambda the secret is fetched during init (a burst of CPU, before the first request); a
// failure there is left to the first token, which retries it.
if (process.env.AWS_LAMBDA_FUNCTION_NAME) await tokens.prefetch();

/** Allows the whole API for a valid token (results are cached per token), denies with 401 otherwise. */
export async function handler(event: APIGatewayTokenAuthorizerEvent): Promise<APIGatewayAuthorizerResult> {
  const token = bearerToken(event.authorizationToken);
  // API Gateway answers 401 when the authorizer throws exactly "Unauthorized".
  if (!token) throw new Error("Unauthorized");
  // A secret that cannot be fetched fails the call (API Gateway answers 500), not the token (401).
  const verify = await tokens.verifier();
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
