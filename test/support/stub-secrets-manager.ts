// A loopback Secrets Manager for tests and the bench: GetSecretValue over the JSON protocol, with
// every request's SigV4 signature checked by the AWS SDK's own signer (@smithy/signature-v4)
// against the credentials it was given, as the service does; a request signed wrongly gets the
// service's 403 InvalidSignatureException.
import { createHash, createHmac } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { SignatureV4 } from "@smithy/signature-v4";

export interface StubCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface StubSecretsManagerOptions {
  secrets: Record<string, string | Uint8Array>;
  credentials: StubCredentials;
  region?: string;
}

export interface StubSecretsRequest {
  secretId: string;
  /** The status the stub answered with. */
  status: number;
}

export interface StubSecretsManager {
  url: string;
  region: string;
  requests: StubSecretsRequest[];
  /** Secrets asked for by the AWS SDK's client (its requests carry `x-amz-user-agent: aws-sdk-js/…`). */
  askedBySdk: Set<string>;
  /** The next `count` requests are answered with `status` (a 5xx, or 400 ThrottlingException for 429-like refusals). */
  failNext(count: number, status: number): void;
  close(): Promise<void>;
}

/** SHA-256 (and HMAC-SHA-256 when keyed) in the shape the SDK's signer takes. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

/** Why the request's signature is refused, or undefined when the SDK's signer computes the same one. */
async function signatureProblem(
  request: IncomingMessage,
  body: string,
  credentials: StubCredentials,
  region: string,
): Promise<string | undefined> {
  const match = AUTHORIZATION.exec(request.headers.authorization ?? "");
  if (!match) return "missing or malformed Authorization header";
  const [, accessKeyId, , scopeRegion, service, signedHeaders = "", signature] = match;
  if (accessKeyId !== credentials.accessKeyId) return "unknown access key";
  if (scopeRegion !== region || service !== "secretsmanager") return `credential scope ${scopeRegion}/${service}`;
  if (credentials.sessionToken && request.headers["x-amz-security-token"] !== credentials.sessionToken) {
    return "missing or wrong security token";
  }
  const amzDate = String(request.headers["x-amz-date"] ?? "");
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!date) return "missing X-Amz-Date";
  const signingDate = new Date(`${date[1]}-${date[2]}-${date[3]}T${date[4]}:${date[5]}:${date[6]}Z`);
  const names = signedHeaders.split(";");
  if (!names.includes("host") || !names.includes("x-amz-target")) return `headers signed: ${signedHeaders}`;
  const headers: Record<string, string> = {};
  for (const name of names) headers[name] = String(request.headers[name] ?? "");
  const url = new URL(request.url ?? "/", `http://${request.headers.host}`);
  // applyChecksum: the JSON protocol signs no x-amz-content-sha256 header (S3 does).
  const signer = new SignatureV4({
    credentials,
    region,
    service: "secretsmanager",
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const expected = await signer.sign(
    {
      method: request.method ?? "POST",
      protocol: "http:",
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: {},
      headers,
      body,
    },
    { signingDate },
  );
  const expectedSignature = /Signature=([0-9a-f]{64})/.exec(String(expected.headers.authorization))?.[1];
  return expectedSignature === signature ? undefined : "signature does not match";
}

export async function startStubSecretsManager(options: StubSecretsManagerOptions): Promise<StubSecretsManager> {
  const region = options.region ?? "eu-west-1";
  const requests: StubSecretsRequest[] = [];
  const askedBySdk = new Set<string>();
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  const server = createServer((request, response) => {
    const answer = (status: number, payload: unknown, secretId = "") => {
      requests.push({ secretId, status });
      if (String(request.headers["x-amz-user-agent"] ?? "").includes("aws-sdk-js")) askedBySdk.add(secretId);
      response.statusCode = status;
      response.setHeader("content-type", "application/x-amz-json-1.1");
      response.end(JSON.stringify(payload));
    };
    bodyOf(request)
      .then(async (body) => {
        const problem = await signatureProblem(request, body, options.credentials, region);
        const target = request.headers["x-amz-target"];
        let secretId = "";
        try {
          secretId = String((JSON.parse(body) as { SecretId?: unknown }).SecretId ?? "");
        } catch {
          // answered below
        }
        if (problem) return answer(403, { __type: "InvalidSignatureException", message: problem }, secretId);
        if (target !== "secretsmanager.GetSecretValue") {
          return answer(400, { __type: "UnknownOperationException", message: String(target) }, secretId);
        }
        if (failures.count > 0) {
          failures = { ...failures, count: failures.count - 1 };
          const type = failures.status === 400 ? "ThrottlingException" : "InternalServiceError";
          return answer(failures.status, { __type: type, message: "injected failure" }, secretId);
        }
        const secret = options.secrets[secretId];
        if (secret === undefined) {
          return answer(
            400,
            { __type: "ResourceNotFoundException", message: "Secrets Manager can't find the specified secret." },
            secretId,
          );
        }
        const value =
          typeof secret === "string"
            ? { SecretString: secret }
            : { SecretBinary: Buffer.from(secret).toString("base64") };
        return answer(
          200,
          { ARN: `arn:aws:secretsmanager:${region}:000000000000:secret:${secretId}`, Name: secretId, ...value },
          secretId,
        );
      })
      .catch((error: unknown) => answer(500, { __type: "InternalServiceError", message: String(error) }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region,
    requests,
    askedBySdk,
    failNext(count, status) {
      failures = { count, status };
    },
    async close() {
      server.close();
      server.closeAllConnections();
      await once(server, "close");
    },
  };
}
