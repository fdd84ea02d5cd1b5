// The feature Lambdas and the authorizer answer API Gateway REST proxy events with the same
// behaviour as the local runtime (each function's own composition, over the embedded store here;
// MongoDB in AWS).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { APIGatewayProxyEvent } from "aws-lambda";
import type { LambdaEvent } from "hono/aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { featureRoutes } from "#functions/index.ts";
import { composeMeta } from "#functions/meta/handler.ts";
import { composeSessionRecords } from "#functions/sessions/compose.ts";
import { profileFor } from "#infra/lib/features.ts";
import { signDevToken } from "#infra/local/dev-secret.ts";
import { type Config, loadConfig } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { localAdapters } from "#shared/engine/local-adapters.ts";
import type { App } from "#shared/http/app.ts";
import { lambdaEntries } from "#shared/http/lambda.ts";
import { TEST_SECRET } from "#test/support/engine.ts";

let dir: string;
const saved = { ...process.env };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "collabry-lambda-"));
  Object.assign(process.env, { JWT_SECRET_KEY: TEST_SECRET, DATA_DIR: dir, LOG_LEVEL: "SILENT" });
});

afterAll(async () => {
  process.env = saved;
  await rm(dir, { recursive: true, force: true });
});

// The handlers' own composition, over the embedded adapters instead of MongoDB/S3/SQS (the deployed
// entries import only the cloud ones).
async function localEntries(compose: (config: Config, adapters: PlatformAdapters) => Promise<App>) {
  return lambdaEntries(() => compose(loadConfig(), localAdapters));
}

function restEvent(method: string, path: string, options: { token?: string; body?: unknown } = {}): LambdaEvent {
  const headers: Record<string, string> = {
    Host: "abc.execute-api.eu-west-1.amazonaws.com",
    Origin: "http://localhost:3000",
    ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
    ...(options.body !== undefined ? { "Content-Type": "application/json" } : {}),
  };
  // API Gateway REST proxy events carry every header in both shapes.
  return {
    httpMethod: method,
    path,
    resource: path,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: options.body === undefined ? null : JSON.stringify(options.body),
    isBase64Encoded: false,
    requestContext: {
      accountId: "123456789012",
      apiId: "abc",
      httpMethod: method,
      path: `/prod${path}`,
      protocol: "HTTP/1.1",
      requestId: "req-1",
      requestTimeEpoch: Date.now(),
      resourceId: "r1",
      resourcePath: path,
      stage: "prod",
      identity: { sourceIp: "127.0.0.1", userAgent: "vitest" } as APIGatewayProxyEvent["requestContext"]["identity"],
      authorizer: null,
    },
  } satisfies APIGatewayProxyEvent as unknown as LambdaEvent;
}

describe("feature Lambda handlers", () => {
  it("serve the sessions feature from a REST proxy event, with auth, CORS and the contract's shapes", async () => {
    // Prepare
    const { handler } = await localEntries(composeSessionRecords);
    const token = await signDevToken(TEST_SECRET, { userId: "lambda-user" });

    // Act
    const created = await handler(restEvent("POST", "/ai/sessions", { token, body: { title: "From Lambda" } }));
    const listed = await handler(restEvent("GET", "/ai/sessions", { token }));
    const anonymous = await handler(restEvent("GET", "/ai/sessions"));
    const otherFeature = await handler(restEvent("GET", "/health"));

    // Assess
    expect(created.statusCode).toBe(200);
    expect(JSON.parse(created.body)).toMatchObject({ title: "From Lambda", user_id: "lambda-user" });
    expect(JSON.parse(listed.body)).toMatchObject({ total: 1 });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.multiValueHeaders?.["access-control-allow-origin"]).toEqual(["http://localhost:3000"]);
    expect(otherFeature.statusCode).toBe(404);
  });

  it("export, from the module each function is bundled from, the handler the stack names", async () => {
    for (const { feature, routes } of featureRoutes) {
      // Act: the buffered function runs handler.ts's `handler`; the streaming one the
      // `streamingHandler` of the feature's streaming entry (handler.ts unless its profile names one).
      const buffered = routes.some((route) => !route.streaming)
        ? Object.keys(await import(`../../functions/${feature}/handler.ts`))
        : ["handler"];
      const streamingEntry = profileFor(feature).profile.streamingEntry ?? "handler.ts";
      const streaming = routes.some((route) => route.streaming)
        ? Object.keys(await import(`../../functions/${feature}/${streamingEntry}`))
        : ["streamingHandler"];

      // Assess
      expect(buffered, feature).toContain("handler");
      expect(streaming, `${feature} (${streamingEntry})`).toContain("streamingHandler");
    }
  });

  it("serve meta's health from the same code", async () => {
    // Prepare
    const { handler } = await localEntries(composeMeta);

    // Act
    const health = await handler(restEvent("GET", "/health"));

    // Assess
    expect(health.statusCode).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: "healthy" });
  });
});

describe("Lambda init phase", () => {
  it("builds the app before the first request, and leaves a failed build to the first request to retry", async () => {
    // Prepare
    let builds = 0;
    const entries = lambdaEntries(async () => {
      builds += 1;
      if (builds === 1) throw new Error("store unreachable");
      return composeMeta(loadConfig(), localAdapters);
    });
    // Inside Lambda, with the embedded adapters (RUNTIME=local) as in the rest of this file.
    Object.assign(process.env, { AWS_LAMBDA_FUNCTION_NAME: "collabry-meta", RUNTIME: "local" });

    // Act
    try {
      await entries.warm();
      const buildsAtInit = builds;
      const health = await entries.handler(restEvent("GET", "/health"));
      await entries.warm();

      // Assess
      expect(buildsAtInit).toBe(1);
      expect(health.statusCode).toBe(200);
      expect(builds).toBe(2);
    } finally {
      delete process.env.AWS_LAMBDA_FUNCTION_NAME;
      delete process.env.RUNTIME;
    }
  });

  it("builds nothing at import outside Lambda", async () => {
    // Prepare
    let builds = 0;
    const entries = lambdaEntries(async () => {
      builds += 1;
      return composeMeta(loadConfig(), localAdapters);
    });

    // Act
    await entries.warm();

    // Assess
    expect(builds).toBe(0);
  });
});

describe("API Gateway authorizer", () => {
  it("allows a valid token with the user in the context and refuses others with Unauthorized", async () => {
    // Prepare
    const { handler } = await import("#functions/authorizer/handler.ts");
    const token = await signDevToken(TEST_SECRET, { userId: "u-42", role: "admin" });
    const methodArn = "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/GET/ai/sessions";

    // Act
    const allowed = await handler({ type: "TOKEN", authorizationToken: `Bearer ${token}`, methodArn });
    const forged = handler({ type: "TOKEN", authorizationToken: "Bearer abc.def.ghi", methodArn });
    const missing = handler({ type: "TOKEN", authorizationToken: "", methodArn });

    // Assess
    expect(allowed.principalId).toBe("u-42");
    expect(allowed.context).toMatchObject({ userId: "u-42", role: "admin" });
    expect(allowed.policyDocument.Statement[0]).toMatchObject({
      Effect: "Allow",
      Resource: "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/*",
    });
    await expect(forged).rejects.toThrow("Unauthorized");
    await expect(missing).rejects.toThrow("Unauthorized");
  });

  it("fails the call with the configuration error, not the token with Unauthorized, when there is no JWT secret", async () => {
    // Prepare: a fresh instance of the module, loaded without a secret.
    vi.resetModules();
    delete process.env.JWT_SECRET_KEY;
    const { handler } = await import("#functions/authorizer/handler.ts");
    const token = await signDevToken(TEST_SECRET, { userId: "u-7" });
    const event = {
      type: "TOKEN" as const,
      authorizationToken: `Bearer ${token}`,
      methodArn: "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/GET/ai/sessions",
    };

    // Act
    const withoutSecret = await handler(event).then(
      () => "allowed",
      (error: unknown) => (error as Error).message,
    );
    process.env.JWT_SECRET_KEY = TEST_SECRET;

    // Assess
    expect(withoutSecret).toBe("JWT_SECRET_KEY is not configured");
  });
});
