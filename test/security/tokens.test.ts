// Token attacks against one protected route of every feature of `featureRoutes`: every refused
// token answers 401 `{detail}` with `WWW-Authenticate: Bearer` and the CORS headers of an allowed
// origin, and never echoes the token; admin routes refuse a student's valid token with 403.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signDevToken } from "#infra/local/dev-secret.ts";
import { startTestEngine, TEST_SECRET, type TestEngine } from "#test/support/engine.ts";
import {
  allRoutes,
  backendClaims,
  fillPath,
  leaksIn,
  signClaims,
  type TableRoute,
  tamperedToken,
  unsignedToken,
} from "#test/support/security.ts";

const ORIGIN = "http://localhost:3000";
const ISSUER = "collabry-backend";
const AUDIENCE = "collabry-ai";
const ANY_ID = "64b7f0c2a1b2c3d4e5f60718";

/** How an attack presents (or fails to present) its token. */
interface Presented {
  authorization?: string;
  query?: string;
}

interface TokenCase {
  label: string;
  present: () => Promise<Presented>;
}

const bearer = async (token: Promise<string> | string): Promise<Presented> => ({
  authorization: `Bearer ${await token}`,
});
const now = () => Math.floor(Date.now() / 1000);
const valid = () => signDevToken(TEST_SECRET, { userId: "mallory" });

const CASES: TokenCase[] = [
  { label: "no token", present: async () => ({}) },
  { label: "a Bearer header without token", present: async () => ({ authorization: "Bearer " }) },
  { label: "another scheme (Basic)", present: async () => ({ authorization: "Basic bWFsbG9yeTpodW50ZXIy" }) },
  { label: "a valid token under another scheme", present: async () => ({ authorization: `Token ${await valid()}` }) },
  { label: "a token that is not a JWT", present: () => bearer("not-a.jwt") },
  {
    label: "two tokens in one header",
    present: async () => ({ authorization: `Bearer ${await valid()} ${await valid()}` }),
  },
  {
    label: "a forged payload (admin role, original signature)",
    present: async () => bearer(tamperedToken(await valid(), backendClaims("mallory", { role: "admin" }))),
  },
  {
    label: "a token signed with another secret",
    present: () => bearer(signClaims(backendClaims("mallory"), "x".repeat(48))),
  },
  {
    label: "a token expired beyond the 30 s leeway",
    present: () => bearer(signClaims(backendClaims("mallory", { iat: now() - 600, exp: now() - 120 }), TEST_SECRET)),
  },
  {
    label: "an unsigned alg:none token",
    present: () => bearer(unsignedToken(backendClaims("mallory", { role: "admin" }))),
  },
  {
    label: "HS512 with the right secret",
    present: () => bearer(signClaims(backendClaims("mallory"), TEST_SECRET, "HS512")),
  },
  {
    label: "HS384 with the right secret",
    present: () => bearer(signClaims(backendClaims("mallory"), TEST_SECRET, "HS384")),
  },
  {
    label: "a token without exp",
    present: () => bearer(signClaims(backendClaims("mallory", { exp: undefined }), TEST_SECRET)),
  },
  {
    label: "a token without sub or id",
    present: () => bearer(signClaims(backendClaims("mallory", { sub: undefined, id: undefined }), TEST_SECRET)),
  },
  { label: "a valid token in the query string (token=)", present: async () => ({ query: `token=${await valid()}` }) },
  {
    label: "a valid token in the query string (access_token=)",
    present: async () => ({ query: `access_token=${await valid()}` }),
  },
];

/** One protected route per feature, the first of its table. */
function representatives(): TableRoute[] {
  const chosen = new Map<string, TableRoute>();
  for (const route of allRoutes()) {
    if (route.access !== "public" && !chosen.has(route.feature)) chosen.set(route.feature, route);
  }
  return [...chosen.values()];
}

function call(baseUrl: string, route: TableRoute, presented: Presented): Promise<Response> {
  const path = fillPath(route.path, {
    id: ANY_ID,
    deck: ANY_ID,
    task_id: ANY_ID,
    source_id: "src-x",
    session_id: ANY_ID,
  });
  const headers: Record<string, string> = { Origin: ORIGIN };
  if (presented.authorization !== undefined) headers.Authorization = presented.authorization;
  const withBody = route.method === "POST" || route.method === "PATCH" || route.method === "PUT";
  if (withBody) headers["Content-Type"] = "application/json";
  return fetch(`${baseUrl}${path}${presented.query ? `?${presented.query}` : ""}`, {
    method: route.method,
    headers,
    ...(withBody ? { body: "{}" } : {}),
  });
}

async function expectRefused(response: Response, presented: Presented): Promise<void> {
  const text = await response.text();
  expect(response.status).toBe(401);
  expect(response.headers.get("www-authenticate")).toBe("Bearer");
  expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  expect(response.headers.get("access-control-allow-credentials")).toBe("true");
  expect(response.headers.get("content-type")).toContain("application/json");
  const body = JSON.parse(text) as { detail: unknown };
  expect(Object.keys(body)).toEqual(["detail"]);
  expect(typeof body.detail).toBe("string");
  const token = presented.authorization?.split(" ").at(-1) ?? presented.query?.split("=").at(-1) ?? "";
  for (const part of token.split(".")) if (part.length > 8) expect(text).not.toContain(part);
  expect(leaksIn(text, [TEST_SECRET])).toEqual([]);
}

let engine: TestEngine;
let scoped: TestEngine;

beforeAll(async () => {
  [engine, scoped] = await Promise.all([
    startTestEngine({ CORS_ORIGINS: `${ORIGIN},http://127.0.0.1:3000` }),
    startTestEngine({ CORS_ORIGINS: ORIGIN, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE }),
  ]);
});

afterAll(async () => {
  await Promise.all([engine.cleanup(), scoped.cleanup()]);
});

const matrix = representatives().flatMap((route) =>
  CASES.map((tokenCase) => ({ name: `${route.feature}: ${route.key} with ${tokenCase.label}`, route, tokenCase })),
);

describe("refused tokens", () => {
  it("pick one route of every feature that has protected routes", () => {
    // Act
    const features = new Set(representatives().map((route) => route.feature));

    // Assess
    const protectedFeatures = new Set(
      allRoutes()
        .filter((r) => r.access !== "public")
        .map((r) => r.feature),
    );
    expect(features).toEqual(protectedFeatures);
    expect(features.size).toBeGreaterThanOrEqual(10);
  });

  it.each(representatives())("let a valid token through on $key (the route is real)", async (route) => {
    // Act
    const response = await call(engine.url, route, await bearer(valid()));

    // Assess
    expect([401, 403, 500]).not.toContain(response.status);
    expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  });

  it.each(matrix)("$name → 401", async ({ route, tokenCase }) => {
    // Prepare
    const presented = await tokenCase.present();

    // Act
    const response = await call(engine.url, route, presented);

    // Assess
    await expectRefused(response, presented);
  });
});

describe("issuer and audience checks", () => {
  const tokens = {
    good: () => signDevToken(TEST_SECRET, { userId: "mallory", issuer: ISSUER, audience: AUDIENCE }),
    "another issuer": () =>
      signDevToken(TEST_SECRET, { userId: "mallory", issuer: "evil-backend", audience: AUDIENCE }),
    "another audience": () => signDevToken(TEST_SECRET, { userId: "mallory", issuer: ISSUER, audience: "other-api" }),
    "neither issuer nor audience": () => signDevToken(TEST_SECRET, { userId: "mallory" }),
  };

  it.each(representatives())("refuse foreign issuers and audiences on $key", async (route) => {
    // Prepare
    const refused = ["another issuer", "another audience", "neither issuer nor audience"] as const;

    // Act
    const accepted = await call(scoped.url, route, await bearer(tokens.good()));
    const answers = await Promise.all(
      refused.map(async (label) => {
        const presented = await bearer(tokens[label]());
        return { presented, response: await call(scoped.url, route, presented) };
      }),
    );

    // Assess
    expect([401, 403, 500]).not.toContain(accepted.status);
    for (const { presented, response } of answers) await expectRefused(response, presented);
  });
});

describe("admin routes", () => {
  const adminRoutes = allRoutes().filter((route) => route.access === "admin");

  it.each(adminRoutes)("refuse a student's valid token on $key with 403", async (route) => {
    // Prepare
    const student = await bearer(engine.token("student-1", { role: "student" }));
    const mentor = await bearer(engine.token("mentor-1", { role: "mentor" }));
    const admin = await bearer(engine.token("admin-1", { role: "admin" }));

    // Act
    const responses = [await call(engine.url, route, student), await call(engine.url, route, mentor)];
    const allowed = await call(engine.url, route, admin);

    // Assess
    for (const response of responses) {
      expect(response.status).toBe(403);
      expect(response.headers.get("access-control-allow-origin")).toBe(ORIGIN);
      expect(await response.json()).toEqual({ detail: "Admin access required" });
    }
    expect(allowed.status).toBe(200);
  });

  it("has at least the usage administration routes", () => {
    // Assess
    expect(adminRoutes.map((route) => route.key)).toEqual(
      expect.arrayContaining(["GET /ai/usage/user/{id}", "POST /ai/usage/reset/{id}", "GET /ai/usage/stats"]),
    );
  });
});
