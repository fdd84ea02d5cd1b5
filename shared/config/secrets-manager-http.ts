// GetSecretValue over Secrets Manager's JSON API, signed (SigV4) by aws4fetch's signer with the
// credentials Lambda puts in every function's environment, and sent over node:https (the engine's
// http-fetch: Node's fetch costs ~8 ms more on its first request). A deployed function fetches its
// JWT secret and MongoDB URI at each cold start; through the AWS SDK that first fetch loaded and set
// up the runtime's Secrets Manager client (its modules, endpoint rules and credential chain: ~120 ms
// of CPU before the request left), through this it loads an 11 KB signer. Where the environment
// holds no credentials (an instance role, a profile) or asks for FIPS or dual-stack endpoints, the
// provider keeps the SDK (secrets-provider.ts), which resolves all of those.

import { AwsV4Signer } from "aws4fetch";
import { createHttpFetch } from "../llm/http-fetch.ts";

/** Where and as whom to call Secrets Manager. */
export interface SecretsManagerHttpOptions {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** The service's URL; the region's public endpoint when not given. */
  endpoint?: string;
  /** Per attempt; the SDK's default socket timeout is longer, but a cold start should not hang on one. */
  timeoutMs?: number;
  /** Further attempts after a 5xx, throttling, timeout or network failure, with jittered exponential back-off from 50 ms. */
  retries?: number;
}

const THROTTLING = new Set(["ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"]);

/** A refusal by Secrets Manager, named as the SDK names it (`ResourceNotFoundException`, …). */
export class SecretsManagerError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }

  /** Worth another attempt: the service failed or throttled (as the SDK's standard retry strategy decides). */
  get transient(): boolean {
    return this.status >= 500 || this.status === 429 || THROTTLING.has(this.name);
  }
}

const DEFAULT_TIMEOUT_MS = 3_000;
const DEFAULT_RETRIES = 2;
const BACKOFF_MS = 50;

function truthy(value: string | undefined): boolean {
  return value !== undefined && ["true", "1"].includes(value.trim().toLowerCase());
}

/** The region's public endpoint (the `.cn` domain in the China regions). */
export function secretsManagerEndpoint(region: string): string {
  return `https://secretsmanager.${region}.amazonaws.com${region.startsWith("cn-") ? ".cn" : ""}`;
}

/**
 * The options to reach Secrets Manager from the environment's own credentials (as Lambda sets
 * them), or undefined when the SDK is needed to resolve them. The endpoint honours the SDK's
 * AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL.
 */
export function secretsManagerHttpOptionsFrom(env: NodeJS.ProcessEnv): SecretsManagerHttpOptions | undefined {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (!region || !accessKeyId || !secretAccessKey) return undefined;
  if (truthy(env.AWS_USE_FIPS_ENDPOINT) || truthy(env.AWS_USE_DUALSTACK_ENDPOINT)) return undefined;
  const endpoint = env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? env.AWS_ENDPOINT_URL;
  return {
    region,
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(endpoint ? { endpoint } : {}),
  };
}

interface GetSecretValueOutput {
  SecretString?: string;
  /** Base64 in the JSON protocol. */
  SecretBinary?: string;
}

/** Secrets Manager's GetSecretValue, and nothing else of the service. */
export class SecretsManagerHttp {
  private readonly credentials: Pick<SecretsManagerHttpOptions, "accessKeyId" | "secretAccessKey" | "sessionToken">;
  private readonly region: string;
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly fetch = createHttpFetch();

  constructor(options: SecretsManagerHttpOptions) {
    this.credentials = {
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
    };
    this.region = options.region;
    this.url = `${(options.endpoint ?? secretsManagerEndpoint(options.region)).replace(/\/+$/, "")}/`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries = options.retries ?? DEFAULT_RETRIES;
  }

  /**
   * The secret's current value: its string, or its bytes for a binary secret. A 5xx, throttling,
   * timeout or network failure is tried again up to `retries` times; any other refusal is thrown at
   * once as a SecretsManagerError.
   */
  async getSecretValue(secretId: string): Promise<string | Uint8Array | undefined> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.attempt(secretId);
      } catch (error) {
        const transient = !(error instanceof SecretsManagerError) || error.transient;
        if (!transient || attempt >= this.retries) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * BACKOFF_MS * 2 ** attempt));
    }
  }

  private async attempt(secretId: string): Promise<string | Uint8Array | undefined> {
    const body = JSON.stringify({ SecretId: secretId });
    // Signed afresh for each attempt: the signature carries the time it was made.
    const signed = await new AwsV4Signer({
      ...this.credentials,
      url: this.url,
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "secretsmanager.GetSecretValue" },
      body,
      service: "secretsmanager",
      region: this.region,
    }).sign();
    const response = await this.fetch(signed.url.toString(), {
      method: "POST",
      headers: signed.headers,
      body,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) throw refusal(response.status, text);
    const output = JSON.parse(text) as GetSecretValueOutput;
    if (output.SecretString !== undefined) return output.SecretString;
    if (output.SecretBinary !== undefined) return new Uint8Array(Buffer.from(output.SecretBinary, "base64"));
    return undefined;
  }
}

/** The JSON protocol's error (`{"__type": "…#ResourceNotFoundException", "message": …}`) as an Error. */
function refusal(status: number, text: string): SecretsManagerError {
  let type = "";
  let message = "";
  try {
    const body = JSON.parse(text) as { __type?: unknown; message?: unknown; Message?: unknown };
    if (typeof body.__type === "string") type = body.__type.split("#").pop() ?? "";
    const said = body.message ?? body.Message;
    if (typeof said === "string") message = said;
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  return new SecretsManagerError(
    type || "SecretsManagerServiceException",
    `GetSecretValue failed with HTTP ${status}${type ? ` (${type})` : ""}${message ? `: ${message}` : ""}`,
    status,
  );
}
