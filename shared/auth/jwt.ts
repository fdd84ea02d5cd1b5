// Verification of the Collabry backend's access tokens (HS256, shared secret). The same function
// backs the API Gateway authorizer and the in-function check, so both accept exactly the same tokens.
import { errors as joseErrors, jwtVerify } from "jose";

export interface AuthenticatedUser {
  /** `sub`, else the backend's `id` claim, as a string. */
  userId: string;
  role?: string;
  isAdmin: boolean;
  /** Subscription tier claim when present (`free` when absent). */
  tier: string;
  email?: string;
}

export interface TokenVerifierOptions {
  secret: string;
  issuer?: string;
  audience?: string;
  clockToleranceSeconds: number;
}

/** Why a token was refused; messages are safe to return (they never contain the token). */
export class InvalidTokenError extends Error {
  override readonly name = "InvalidTokenError";
}

export type TokenVerifier = (token: string) => Promise<AuthenticatedUser>;

const MAX_TOKEN_LENGTH = 8_192;
/** Verified tokens remembered per process (a chat request is checked by the usage gate and the route). */
const VERIFIED_CACHE_ENTRIES = 5_000;

function claimAsId(value: unknown): string | undefined {
  if (typeof value === "string" && value.trim() !== "") return value.trim();
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Builds a verifier that pins HS256, requires `exp`, and checks issuer/audience when configured. */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const key = new TextEncoder().encode(options.secret);
  // Only successful verifications are remembered, each until its own `exp` (+ leeway): the same
  // answer the signature check would give, without redoing the HMAC and claim checks per request.
  const verified = new Map<string, { user: AuthenticatedUser; validUntil: number }>();
  const verify = async (token: string): Promise<AuthenticatedUser> => {
    const hit = verified.get(token);
    if (hit && Date.now() <= hit.validUntil) return hit.user;
    if (hit) verified.delete(token);
    const { user, exp } = await verifySignature(token);
    if (verified.size >= VERIFIED_CACHE_ENTRIES) {
      const oldest = verified.keys().next().value;
      if (oldest !== undefined) verified.delete(oldest);
    }
    verified.set(token, { user, validUntil: exp * 1000 + options.clockToleranceSeconds * 1000 });
    return user;
  };
  const verifySignature = async (token: string): Promise<{ user: AuthenticatedUser; exp: number }> => {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError("Invalid token");
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ["HS256"],
        requiredClaims: ["exp"],
        clockTolerance: options.clockToleranceSeconds,
        ...(options.issuer ? { issuer: options.issuer } : {}),
        ...(options.audience ? { audience: options.audience } : {}),
      });
      const userId = claimAsId(payload.sub) ?? claimAsId(payload.id);
      if (!userId) throw new InvalidTokenError("Token has no user id (sub or id)");
      const role = typeof payload.role === "string" ? payload.role : undefined;
      const tier = typeof payload.tier === "string" && payload.tier !== "" ? payload.tier : "free";
      const user: AuthenticatedUser = {
        userId,
        ...(role ? { role } : {}),
        isAdmin: role === "admin",
        tier,
        ...(typeof payload.email === "string" ? { email: payload.email } : {}),
      };
      // `exp` is a required claim, so jose has checked that it is a number.
      return { user, exp: typeof payload.exp === "number" ? payload.exp : 0 };
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new InvalidTokenError("Token has expired");
      if (error instanceof joseErrors.JWTClaimValidationFailed) {
        throw new InvalidTokenError(`Token claim "${error.claim}" is invalid or missing`);
      }
      throw new InvalidTokenError("Invalid token");
    }
  };
  return verify;
}

/** Extracts the token from an `Authorization: Bearer <token>` header value. */
export function bearerToken(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
