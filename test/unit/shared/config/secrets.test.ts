// Secrets by reference: fetched through the Powertools provider from a loopback Secrets Manager
// endpoint (the SDK honours AWS_ENDPOINT_URL_SECRETS_MANAGER), unwrapped and cached.
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveSecret } from "#shared/config/secrets.ts";

const SECRETS: Record<string, string> = {
  "collabry/jwt": JSON.stringify({ value: "jwt-secret-from-manager" }),
  "collabry/plain": "  plain-secret  ",
  "collabry/empty": " ",
};

const ENV_KEYS = [
  "AWS_ENDPOINT_URL_SECRETS_MANAGER",
  "AWS_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
] as const;

let server: Server;
const requested: string[] = [];
const savedEnv = new Map<string, string | undefined>();

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8");
    });
    request.on("end", () => {
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      requested.push(SecretId);
      const secret = SECRETS[SecretId];
      response.setHeader("content-type", "application/x-amz-json-1.1");
      if (secret === undefined) {
        response.statusCode = 400;
        response.end(JSON.stringify({ __type: "ResourceNotFoundException", message: "not found" }));
        return;
      }
      response.end(
        JSON.stringify({ ARN: `arn:aws:secretsmanager:eu-west-1:1:secret:${SecretId}`, SecretString: secret }),
      );
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  for (const key of ENV_KEYS) savedEnv.set(key, process.env[key]);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
  });
});

afterAll(async () => {
  for (const [key, value] of savedEnv) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  server.close();
  await once(server, "close");
});

describe("resolveSecret", () => {
  it("prefers the direct value and fetches nothing", async () => {
    await expect(resolveSecret("JWT_SECRET_KEY", "direct", "collabry/jwt")).resolves.toBe("direct");
    await expect(resolveSecret("JWT_SECRET_KEY", undefined, undefined)).resolves.toBeUndefined();
    expect(requested).toEqual([]);
  });

  it("fetches a referenced secret once, unwrapping the CDK's {value} object", async () => {
    await expect(resolveSecret("JWT_SECRET_KEY", undefined, "collabry/jwt")).resolves.toBe("jwt-secret-from-manager");
    await expect(resolveSecret("JWT_SECRET_KEY", undefined, "collabry/jwt")).resolves.toBe("jwt-secret-from-manager");
    expect(requested.filter((id) => id === "collabry/jwt")).toHaveLength(1);
  });

  it("trims a plain secret and refuses an empty one", async () => {
    await expect(resolveSecret("LLM_API_KEY", undefined, "collabry/plain")).resolves.toBe("plain-secret");
    await expect(resolveSecret("LLM_API_KEY", undefined, "collabry/empty")).rejects.toThrow(/empty/);
  });

  it("fails when the secret does not exist", async () => {
    await expect(resolveSecret("LLM_API_KEY", undefined, "collabry/missing")).rejects.toThrow();
  });
});
