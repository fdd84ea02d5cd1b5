// Secrets by reference: fetched through the Powertools provider from a loopback Secrets Manager that
// checks every request's SigV4 signature with the AWS SDK's own signer, unwrapped and cached. With
// the credentials Lambda puts in the environment the provider signs its own requests (aws4fetch);
// otherwise it goes through the SDK's client, which the same endpoint accepts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveSecret } from "#shared/config/secrets.ts";
import {
  SecretsManagerError,
  SecretsManagerHttp,
  secretsManagerEndpoint,
  secretsManagerHttpOptionsFrom,
} from "#shared/config/secrets-manager-http.ts";
import { LazySecretsProvider } from "#shared/config/secrets-provider.ts";
import { type StubSecretsManager, startStubSecretsManager } from "#test/support/stub-secrets-manager.ts";

const CREDENTIALS = {
  accessKeyId: "ASIATESTKEY",
  secretAccessKey: "test-secret-access-key",
  sessionToken: "test-session-token",
};

const ENV_KEYS = [
  "AWS_ENDPOINT_URL_SECRETS_MANAGER",
  "AWS_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
] as const;

let stub: StubSecretsManager;
const savedEnv = new Map<string, string | undefined>();

function httpClient(overrides: Partial<ConstructorParameters<typeof SecretsManagerHttp>[0]> = {}) {
  return new SecretsManagerHttp({ ...CREDENTIALS, region: stub.region, endpoint: stub.url, ...overrides });
}

function requestsFor(secretId: string) {
  return stub.requests.filter((request) => request.secretId === secretId);
}

beforeAll(async () => {
  stub = await startStubSecretsManager({
    credentials: CREDENTIALS,
    secrets: {
      "collabry/jwt": JSON.stringify({ value: "jwt-secret-from-manager" }),
      "collabry/plain": "  plain-secret  ",
      "collabry/empty": " ",
      "collabry/binary": new Uint8Array([0, 1, 254, 255]),
      "collabry/sdk": "fetched-through-the-sdk",
      "collabry/retried": "after-a-failure",
      "collabry/throttled": "after-throttling",
    },
  });
  for (const key of ENV_KEYS) savedEnv.set(key, process.env[key]);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: stub.url,
    AWS_REGION: stub.region,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
  });
});

afterAll(async () => {
  for (const [key, value] of savedEnv) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await stub.close();
});

describe("resolveSecret", () => {
  it("prefers the direct value and fetches nothing", async () => {
    // Act
    const direct = await resolveSecret("JWT_SECRET_KEY", "direct", "collabry/jwt");
    const unset = await resolveSecret("JWT_SECRET_KEY", undefined, undefined);

    // Assess
    expect(direct).toBe("direct");
    expect(unset).toBeUndefined();
    expect(stub.requests).toEqual([]);
  });

  it("fetches a referenced secret once, unwrapping the CDK's {value} object", async () => {
    // Act
    const first = await resolveSecret("JWT_SECRET_KEY", undefined, "collabry/jwt");
    const second = await resolveSecret("JWT_SECRET_KEY", undefined, "collabry/jwt");

    // Assess
    expect([first, second]).toEqual(["jwt-secret-from-manager", "jwt-secret-from-manager"]);
    expect(requestsFor("collabry/jwt")).toEqual([{ secretId: "collabry/jwt", status: 200 }]);
  });

  it("trims a plain secret and refuses an empty one", async () => {
    await expect(resolveSecret("LLM_API_KEY", undefined, "collabry/plain")).resolves.toBe("plain-secret");
    await expect(resolveSecret("LLM_API_KEY", undefined, "collabry/empty")).rejects.toThrow(/empty/);
  });

  it("fails when the secret does not exist", async () => {
    await expect(resolveSecret("LLM_API_KEY", undefined, "collabry/missing")).rejects.toThrow(
      /ResourceNotFoundException/,
    );
  });
});

describe("the Secrets Manager provider", () => {
  it("signs its own requests with the environment's credentials, and the SDK's signer agrees", async () => {
    // Arrange
    const provider = new LazySecretsProvider();

    // Act
    const value = await provider.get("collabry/plain", { forceFetch: true });

    // Assess
    expect(provider.transport).toBe("http");
    expect(value).toBe("  plain-secret  ");
    expect(requestsFor("collabry/plain").at(-1)).toEqual({ secretId: "collabry/plain", status: 200 });
    expect(stub.askedBySdk.has("collabry/plain")).toBe(false);
  });

  it("uses the SDK's client where the environment gives no credentials of its own", async () => {
    // Arrange: the provider sees no credentials; the SDK reads them (and the endpoint) from process.env.
    const provider = new LazySecretsProvider({});

    // Act
    const value = await provider.get("collabry/sdk");

    // Assess
    expect(provider.transport).toBe("sdk");
    expect(value).toBe("fetched-through-the-sdk");
    expect(requestsFor("collabry/sdk")).toEqual([{ secretId: "collabry/sdk", status: 200 }]);
    expect(stub.askedBySdk.has("collabry/sdk")).toBe(true);
  });
});

describe("SecretsManagerHttp", () => {
  it("is refused by a service that checks signatures when its secret key is wrong", async () => {
    // Act
    const refused = await httpClient({ secretAccessKey: "not-the-key" })
      .getSecretValue("collabry/plain")
      .catch((error: unknown) => error);

    // Assess
    expect(refused).toBeInstanceOf(SecretsManagerError);
    expect(refused).toMatchObject({ name: "InvalidSignatureException", status: 403 });
    expect((refused as Error).message).toMatch(/signature does not match/);
  });

  it("returns a binary secret's bytes", async () => {
    await expect(httpClient().getSecretValue("collabry/binary")).resolves.toEqual(new Uint8Array([0, 1, 254, 255]));
  });

  it("tries again after a server error or throttling, and not after a refusal", async () => {
    // Arrange
    const client = httpClient({ retries: 2 });

    // Act
    stub.failNext(1, 500);
    const afterFailure = await client.getSecretValue("collabry/retried");
    stub.failNext(2, 400);
    const afterThrottling = await client.getSecretValue("collabry/throttled");
    const missing = await client.getSecretValue("collabry/absent").catch((error: unknown) => error);

    // Assess
    expect(afterFailure).toBe("after-a-failure");
    expect(requestsFor("collabry/retried").map((request) => request.status)).toEqual([500, 200]);
    expect(afterThrottling).toBe("after-throttling");
    expect(requestsFor("collabry/throttled").map((request) => request.status)).toEqual([400, 400, 200]);
    expect(missing).toMatchObject({ name: "ResourceNotFoundException", status: 400 });
    expect(requestsFor("collabry/absent")).toHaveLength(1);
  });

  it("gives up after its retries, with the service's error", async () => {
    // Arrange
    stub.failNext(3, 503);

    // Act
    const failed = await httpClient({ retries: 1 })
      .getSecretValue("collabry/plain")
      .catch((error: unknown) => error);
    stub.failNext(0, 500);

    // Assess
    expect(failed).toMatchObject({ name: "InternalServiceError", status: 503 });
  });

  it("times an attempt out and reports an unreachable endpoint", async () => {
    // Arrange: a port nothing listens on.
    const client = httpClient({ endpoint: "http://127.0.0.1:9", retries: 1, timeoutMs: 500 });

    // Act
    const failed = await client.getSecretValue("collabry/plain").catch((error: unknown) => error);

    // Assess
    expect(failed).toBeInstanceOf(Error);
    expect(failed).not.toBeInstanceOf(SecretsManagerError);
  });
});

describe("secretsManagerHttpOptionsFrom", () => {
  const lambdaEnv = {
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "ASIA1",
    AWS_SECRET_ACCESS_KEY: "secret",
    AWS_SESSION_TOKEN: "token",
  };

  it("reads the credentials and region Lambda sets, and the SDK's endpoint variables", () => {
    expect(secretsManagerHttpOptionsFrom(lambdaEnv)).toEqual({
      region: "eu-west-1",
      accessKeyId: "ASIA1",
      secretAccessKey: "secret",
      sessionToken: "token",
    });
    expect(secretsManagerHttpOptionsFrom({ ...lambdaEnv, AWS_ENDPOINT_URL: "http://a" })?.endpoint).toBe("http://a");
    expect(
      secretsManagerHttpOptionsFrom({
        ...lambdaEnv,
        AWS_ENDPOINT_URL: "http://a",
        AWS_ENDPOINT_URL_SECRETS_MANAGER: "http://b",
      })?.endpoint,
    ).toBe("http://b");
  });

  it("leaves to the SDK an environment without credentials or region, or asking for FIPS or dual-stack", () => {
    expect(secretsManagerHttpOptionsFrom({})).toBeUndefined();
    expect(secretsManagerHttpOptionsFrom({ ...lambdaEnv, AWS_REGION: undefined })).toBeUndefined();
    expect(secretsManagerHttpOptionsFrom({ ...lambdaEnv, AWS_SECRET_ACCESS_KEY: "" })).toBeUndefined();
    expect(secretsManagerHttpOptionsFrom({ ...lambdaEnv, AWS_USE_FIPS_ENDPOINT: "true" })).toBeUndefined();
    expect(secretsManagerHttpOptionsFrom({ ...lambdaEnv, AWS_USE_DUALSTACK_ENDPOINT: "1" })).toBeUndefined();
  });

  it("names the region's public endpoint", () => {
    expect(secretsManagerEndpoint("eu-west-1")).toBe("https://secretsmanager.eu-west-1.amazonaws.com");
    expect(secretsManagerEndpoint("cn-north-1")).toBe("https://secretsmanager.cn-north-1.amazonaws.com.cn");
  });
});
