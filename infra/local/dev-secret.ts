// Local development secret: when JWT_SECRET_KEY is not set, the local runtime keeps a random
// secret in DATA_DIR so tokens stay valid across restarts. Never used in AWS.
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SignJWT } from "jose";

export const DEV_SECRET_FILE = "jwt-secret";

/** Reads the local secret, creating it (mode 0600) when missing; `created` tells which. */
export async function ensureDevSecret(dataDir: string): Promise<{ secret: string; path: string; created: boolean }> {
  const path = join(dataDir, DEV_SECRET_FILE);
  try {
    const secret = (await readFile(path, "utf8")).trim();
    if (secret.length >= 32) return { secret, path, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(48).toString("base64url");
  await writeFile(path, `${secret}\n`, { mode: 0o600, flag: "w" });
  await chmod(path, 0o600);
  return { secret, path, created: true };
}

export interface DevTokenOptions {
  userId: string;
  role?: string;
  tier?: string;
  email?: string;
  ttlSeconds?: number;
  issuer?: string;
  audience?: string;
}

/** Signs a token shaped like the Collabry backend's (`id`, `sub`, `role`, `exp`). */
export async function signDevToken(secret: string, options: DevTokenOptions): Promise<string> {
  const jwt = new SignJWT({
    id: options.userId,
    role: options.role ?? "student",
    ...(options.tier ? { tier: options.tier } : {}),
    ...(options.email ? { email: options.email } : {}),
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(options.userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.ttlSeconds ?? 24 * 3600));
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
