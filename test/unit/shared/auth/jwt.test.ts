import { type JWTPayload, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { bearerToken, createTokenVerifier, InvalidTokenError } from "#shared/auth/jwt.ts";

const SECRET = "test-secret-of-the-collabry-backend";
const key = new TextEncoder().encode(SECRET);
const nowSeconds = () => Math.floor(Date.now() / 1000);

interface SignOptions {
  secret?: string;
  alg?: string;
  exp?: number | null;
  issuer?: string;
  audience?: string;
}

/** Signs a token the way the Collabry backend does (HS256, `exp` one hour ahead) unless told otherwise. */
async function sign(claims: JWTPayload, options: SignOptions = {}): Promise<string> {
  const alg = options.alg ?? "HS256";
  let jwt = new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" }).setIssuedAt();
  const exp = options.exp === undefined ? nowSeconds() + 3600 : options.exp;
  if (exp !== null) jwt = jwt.setExpirationTime(exp);
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(options.secret ? new TextEncoder().encode(options.secret) : key);
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

const verify = createTokenVerifier({ secret: SECRET, clockToleranceSeconds: 30 });

async function refusal(verifier: (token: string) => Promise<unknown>, token: string): Promise<InvalidTokenError> {
  try {
    await verifier(token);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTokenError);
    return error as InvalidTokenError;
  }
  throw new Error("expected the token to be refused");
}

describe("createTokenVerifier: who the user is", () => {
  it("accepts a valid backend token and takes the user id from sub", async () => {
    // Prepare
    const token = await sign({ sub: "65f0c0ffee0000000000beef", email: "ada@example.com", role: "student" });

    // Act
    const user = await verify(token);

    // Assess
    expect(user).toEqual({
      userId: "65f0c0ffee0000000000beef",
      role: "student",
      isAdmin: false,
      tier: "free",
      email: "ada@example.com",
    });
  });

  it("takes the user id from the backend's id claim when there is no sub", async () => {
    // Prepare
    const token = await sign({ id: "65f0c0ffee0000000000cafe", role: "mentor" });

    // Act
    const user = await verify(token);

    // Assess
    expect(user.userId).toBe("65f0c0ffee0000000000cafe");
    expect(user.role).toBe("mentor");
  });

  it("turns a numeric id claim into a string user id", async () => {
    // Prepare
    const token = await sign({ id: 42 });

    // Act
    const user = await verify(token);

    // Assess
    expect(user.userId).toBe("42");
  });

  it("prefers sub over id when both are present", async () => {
    // Prepare
    const token = await sign({ sub: "from-sub", id: "from-id" });

    // Act
    const user = await verify(token);

    // Assess
    expect(user.userId).toBe("from-sub");
  });

  it("treats role admin as admin and any other role as not admin", async () => {
    // Prepare
    const adminToken = await sign({ id: "a1", role: "admin" });
    const studentToken = await sign({ id: "s1", role: "student" });
    const noRoleToken = await sign({ id: "n1" });

    // Act
    const admin = await verify(adminToken);
    const student = await verify(studentToken);
    const noRole = await verify(noRoleToken);

    // Assess
    expect(admin.isAdmin).toBe(true);
    expect(student.isAdmin).toBe(false);
    expect(noRole.isAdmin).toBe(false);
    expect(noRole.role).toBeUndefined();
  });

  it("reads the subscription tier claim and defaults to free", async () => {
    // Prepare
    const proToken = await sign({ sub: "u1", tier: "pro" });
    const plainToken = await sign({ sub: "u2" });

    // Act
    const pro = await verify(proToken);
    const plain = await verify(plainToken);

    // Assess
    expect(pro.tier).toBe("pro");
    expect(plain.tier).toBe("free");
  });

  it("refuses a token that names no user", async () => {
    // Prepare
    const token = await sign({ email: "nobody@example.com", role: "student" });

    // Act
    const error = await refusal(verify, token);

    // Assess
    expect(error.message).toBe("Token has no user id (sub or id)");
  });

  it("refuses a token whose sub and id are blank", async () => {
    // Prepare
    const token = await sign({ sub: "  ", id: "" });

    // Act
    const error = await refusal(verify, token);

    // Assess
    expect(error.message).toBe("Token has no user id (sub or id)");
  });
});

describe("createTokenVerifier: expiry", () => {
  it("refuses an expired token with 'Token has expired'", async () => {
    // Prepare
    const token = await sign({ sub: "u1" }, { exp: nowSeconds() - 3600 });

    // Act
    const error = await refusal(verify, token);

    // Assess
    expect(error.message).toBe("Token has expired");
  });

  it("accepts a token that expired within the clock tolerance", async () => {
    // Prepare
    const token = await sign({ sub: "u1" }, { exp: nowSeconds() - 10 });

    // Act
    const user = await verify(token);

    // Assess
    expect(user.userId).toBe("u1");
  });

  it("refuses a token that expired just beyond the clock tolerance", async () => {
    // Prepare
    const token = await sign({ sub: "u1" }, { exp: nowSeconds() - 45 });

    // Act
    const error = await refusal(verify, token);

    // Assess
    expect(error.message).toBe("Token has expired");
  });

  it("refuses a token without exp, which would otherwise be valid forever", async () => {
    // Prepare
    const token = await sign({ sub: "u1" }, { exp: null });

    // Act
    const error = await refusal(verify, token);

    // Assess
    expect(error.message).toMatch(/exp/);
  });
});

describe("createTokenVerifier: signature and algorithm", () => {
  it("refuses a token signed with another secret", async () => {
    // Prepare
    const token = await sign({ sub: "u1" }, { secret: "another-secret-entirely-different" });

    // Act
    const error = await refusal(verify, token);

    // Assess
    expect(error.message).toBe("Invalid token");
  });

  it("refuses an unsigned alg:none token", async () => {
    // Prepare
    const header = base64url({ alg: "none", typ: "JWT" });
    const payload = base64url({ sub: "u1", role: "admin", exp: nowSeconds() + 3600 });
    const token = `${header}.${payload}.`;

    // Act
    const error = await refusal(verify, token);

    // Assess
    expect(error.message).toBe("Invalid token");
  });

  it("refuses an HS512 token signed with the right secret, because HS256 is pinned", async () => {
    // Prepare
    const token = await sign({ sub: "u1" }, { alg: "HS512" });

    // Act
    const error = await refusal(verify, token);

    // Assess
    expect(error.message).toBe("Invalid token");
  });

  it("refuses a token whose payload was changed after signing", async () => {
    // Prepare
    const [header, , signature] = (await sign({ sub: "u1", role: "student" })).split(".");
    const forged = `${header}.${base64url({ sub: "u1", role: "admin", exp: nowSeconds() + 3600 })}.${signature}`;

    // Act
    const error = await refusal(verify, forged);

    // Assess
    expect(error.message).toBe("Invalid token");
  });

  it("refuses garbage, empty and over-long tokens", async () => {
    // Prepare
    const valid = await sign({ sub: "u1" });
    const overLong = `${valid}${"A".repeat(9_000)}`;

    // Act
    const errors = [
      await refusal(verify, "not-a-jwt"),
      await refusal(verify, "a.b.c"),
      await refusal(verify, ""),
      await refusal(verify, overLong),
    ];

    // Assess
    for (const error of errors) expect(error.message).toBe("Invalid token");
  });

  it("never puts the token text in its error messages", async () => {
    // Prepare
    const tokens = [
      await sign({ sub: "u1" }, { exp: nowSeconds() - 3600 }),
      await sign({ sub: "u1" }, { exp: null }),
      await sign({ sub: "u1" }, { secret: "another-secret-entirely-different" }),
      await sign({ email: "x@example.com" }),
      "eyJhbGciOiJIUzI1NiJ9.garbage-token-text.sig",
    ];

    // Act
    const messages = await Promise.all(tokens.map(async (token) => (await refusal(verify, token)).message));

    // Assess
    messages.forEach((message, index) => {
      const token = tokens[index] ?? "";
      for (const part of token.split(".")) expect(message).not.toContain(part);
    });
  });
});

describe("createTokenVerifier: issuer and audience", () => {
  const strict = createTokenVerifier({
    secret: SECRET,
    issuer: "collabry-backend",
    audience: "collabry-ai-engine",
    clockToleranceSeconds: 30,
  });

  it("accepts a token with the configured issuer and audience", async () => {
    // Prepare
    const token = await sign({ sub: "u1" }, { issuer: "collabry-backend", audience: "collabry-ai-engine" });

    // Act
    const user = await strict(token);

    // Assess
    expect(user.userId).toBe("u1");
  });

  it("refuses a token from another issuer", async () => {
    // Prepare
    const token = await sign({ sub: "u1" }, { issuer: "someone-else", audience: "collabry-ai-engine" });

    // Act
    const error = await refusal(strict, token);

    // Assess
    expect(error.message).toMatch(/iss/);
  });

  it("refuses a token meant for another audience", async () => {
    // Prepare
    const token = await sign({ sub: "u1" }, { issuer: "collabry-backend", audience: "another-service" });

    // Act
    const error = await refusal(strict, token);

    // Assess
    expect(error.message).toMatch(/aud/);
  });

  it("refuses a token without issuer and audience when they are configured", async () => {
    // Prepare
    const token = await sign({ sub: "u1" });

    // Act
    const error = await refusal(strict, token);

    // Assess
    expect(error).toBeInstanceOf(InvalidTokenError);
  });

  it("does not check issuer or audience when none is configured", async () => {
    // Prepare
    const token = await sign({ sub: "u1" }, { issuer: "anyone", audience: "anything" });

    // Act
    const user = await verify(token);

    // Assess
    expect(user.userId).toBe("u1");
  });
});

describe("bearerToken", () => {
  it("extracts the token from a Bearer header, whatever the scheme's case", () => {
    // Prepare
    const headers = ["Bearer abc.def.ghi", "bearer abc.def.ghi", "BEARER   abc.def.ghi  "];

    // Act
    const tokens = headers.map((header) => bearerToken(header));

    // Assess
    expect(tokens).toEqual(["abc.def.ghi", "abc.def.ghi", "abc.def.ghi"]);
  });

  it("finds no token in other schemes, empty or missing headers", () => {
    // Prepare
    const headers = ["Basic dXNlcjpwYXNz", "", "Bearer", "Bearer ", "Bearer a b", undefined, null];

    // Act
    const tokens = headers.map((header) => bearerToken(header));

    // Assess
    for (const token of tokens) expect(token).toBeUndefined();
  });
});

describe("verified-token memory", () => {
  it("remembers a valid token only until it expires", async () => {
    // Prepare
    const strict = createTokenVerifier({ secret: SECRET, clockToleranceSeconds: 0 });
    const token = await sign({ sub: "short-lived" }, { exp: nowSeconds() + 2 });

    // Act
    const first = await strict(token);
    const again = await strict(token);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const afterExpiry = await refusal(strict, token);

    // Assess
    expect(again).toEqual(first);
    expect(afterExpiry.message).toBe("Token has expired");
  });

  it("never remembers a refused token", async () => {
    // Prepare
    const token = await sign({ sub: "u1" });
    const wrongSecret = createTokenVerifier({ secret: "another-secret-of-16+chars", clockToleranceSeconds: 30 });

    // Act
    const refused = await refusal(wrongSecret, token);
    const refusedAgain = await refusal(wrongSecret, token);

    // Assess
    expect(refused.message).toBe("Invalid token");
    expect(refusedAgain.message).toBe("Invalid token");
  });
});
