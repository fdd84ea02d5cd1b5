// Helpers of the security suite (`test/security`): the route list taken from the route tables,
// the id-bearing inputs of each route read from the engine's own OpenAPI document, hand-made
// tokens (forged, unsigned, other algorithms), leak checks on error bodies and capture of the
// process output the Powertools logger writes to.
import { request as httpRequest } from "node:http";
import { SignJWT } from "jose";
import { featureRoutes } from "#functions/index.ts";
import type { RouteSpec } from "#shared/http/routes.ts";

export interface TableRoute extends RouteSpec {
  feature: string;
  /** `METHOD /path/{param}` exactly as in the route tables. */
  key: string;
}

/** Every route of every feature, as served by the local runtime and deployed by CDK. */
export function allRoutes(): TableRoute[] {
  return featureRoutes.flatMap((table) =>
    table.routes.map((route) => ({ ...route, feature: table.feature, key: `${route.method} ${route.path}` })),
  );
}

/** Replaces each `{name}` of an OpenAPI path; a parameter without a value is a test bug. */
export function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/\{([^}]+)\}/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for {${name}} in ${path}`);
    return encodeURIComponent(value);
  });
}

/** Names of inputs that carry an identifier: path parameters, and `id`/`*_id`/`*_ids` fields. */
const ID_FIELD = /(^|_)ids?$/i;

type JsonObject = { [key: string]: unknown };

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function resolveRef(spec: JsonObject, schema: unknown): unknown {
  if (!isObject(schema) || typeof schema.$ref !== "string") return schema;
  let node: unknown = spec;
  for (const part of schema.$ref.replace(/^#\//, "").split("/")) node = isObject(node) ? node[part] : undefined;
  return node;
}

/** Property names of a schema, nested objects, arrays and unions included (cycle-safe). */
function propertyNames(spec: JsonObject, schema: unknown, seen = new Set<unknown>()): string[] {
  const resolved = resolveRef(spec, schema);
  if (!isObject(resolved) || seen.has(resolved)) return [];
  seen.add(resolved);
  const names: string[] = [];
  if (isObject(resolved.properties)) {
    for (const [name, child] of Object.entries(resolved.properties)) {
      names.push(name, ...propertyNames(spec, child, seen));
    }
  }
  for (const key of ["items", "additionalProperties"]) names.push(...propertyNames(spec, resolved[key], seen));
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    const variants = resolved[key];
    if (Array.isArray(variants)) for (const variant of variants) names.push(...propertyNames(spec, variant, seen));
  }
  return names;
}

/**
 * The id-bearing inputs of every operation of the engine's OpenAPI document, keyed like
 * `TableRoute.key`: `path:<name>` for path parameters, `query:<name>` and `body:<name>` for id fields.
 */
export function idInputsByRoute(spec: unknown): Map<string, string[]> {
  const inputs = new Map<string, string[]>();
  if (!isObject(spec) || !isObject(spec.paths)) throw new Error("not an OpenAPI document");
  for (const [path, operations] of Object.entries(spec.paths)) {
    if (!isObject(operations)) continue;
    for (const [method, operation] of Object.entries(operations)) {
      if (!isObject(operation)) continue;
      const found = new Set<string>();
      const parameters = Array.isArray(operation.parameters) ? operation.parameters : [];
      for (const raw of parameters) {
        const parameter = resolveRef(spec, raw);
        if (!isObject(parameter) || typeof parameter.name !== "string") continue;
        if (parameter.in === "path") found.add(`path:${parameter.name}`);
        else if (ID_FIELD.test(parameter.name)) found.add(`${String(parameter.in)}:${parameter.name}`);
      }
      const body = resolveRef(spec, operation.requestBody);
      const content = isObject(body) && isObject(body.content) ? body.content : {};
      for (const media of Object.values(content)) {
        if (!isObject(media)) continue;
        for (const name of propertyNames(spec, media.schema)) if (ID_FIELD.test(name)) found.add(`body:${name}`);
      }
      inputs.set(`${method.toUpperCase()} ${path}`, [...found].sort());
    }
  }
  return inputs;
}

const encoder = new TextEncoder();

function base64url(value: string | Uint8Array): string {
  return Buffer.from(typeof value === "string" ? encoder.encode(value) : value).toString("base64url");
}

/** Claims of a backend-shaped token valid for an hour, overridable (use `undefined` to drop one). */
export function backendClaims(userId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = { sub: userId, id: userId, role: "student", iat: now, exp: now + 3600 };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete claims[name];
    else claims[name] = value;
  }
  return claims;
}

/** Signs arbitrary claims with an HMAC algorithm and secret of the caller's choice. */
export function signClaims(
  claims: Record<string, unknown>,
  secret: string,
  alg: "HS256" | "HS384" | "HS512" = "HS256",
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" }).sign(encoder.encode(secret));
}

/** An unsecured JWT (`alg: none`, empty signature), as an attacker would hand-craft it. */
export function unsignedToken(claims: Record<string, unknown>): string {
  return `${base64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${base64url(JSON.stringify(claims))}.`;
}

/** A valid token with its payload swapped after signing (the signature no longer matches). */
export function tamperedToken(token: string, claims: Record<string, unknown>): string {
  const [header, , signature] = token.split(".");
  return `${header}.${base64url(JSON.stringify(claims))}.${signature}`;
}

/**
 * What an error body must never contain: stack frames, source paths, exception class names, and
 * the given secrets. Returns the problems found (empty when the body is clean).
 */
export function leaksIn(body: string, secrets: readonly string[] = []): string[] {
  const problems: string[] = [];
  if (/\bat\s+\S+\s+\(|\bat\s+(file:\/\/|\/|node:)/.test(body)) problems.push("stack frame");
  if (/(\/work\/|\/home\/|node_modules|\.ts:\d+|\.js:\d+|file:\/\/)/.test(body)) problems.push("source path");
  if (/\b(Type|Reference|Syntax|Range)Error\b|\b[A-Z][A-Za-z]+(Error|Exception)\b/.test(body)) {
    problems.push("exception class name");
  }
  for (const secret of secrets) if (secret !== "" && body.includes(secret)) problems.push("secret");
  return problems;
}

export interface CapturedOutput {
  /** Everything written to stdout and stderr since the capture started, split into lines. */
  lines(): string[];
  restore(): void;
}

type Write = typeof process.stdout.write;

/**
 * Captures what the process writes to stdout/stderr (where Powertools' own Console instance prints
 * its JSON lines) without echoing it, until `restore`.
 */
export function captureProcessOutput(): CapturedOutput {
  const chunks: string[] = [];
  const originals: Array<[NodeJS.WriteStream, Write]> = [
    [process.stdout, process.stdout.write],
    [process.stderr, process.stderr.write],
  ];
  for (const [stream] of originals) {
    const capture = (chunk: unknown, ...rest: unknown[]): boolean => {
      chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      const callback = rest.find((value): value is () => void => typeof value === "function");
      callback?.();
      return true;
    };
    stream.write = capture as Write;
  }
  return {
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((line) => line.trim() !== ""),
    restore: () => {
      for (const [stream, write] of originals) stream.write = write;
    },
  };
}

/** A pattern matching the concrete paths of an OpenAPI path (`{name}` = one segment). */
export function pathPattern(path: string): RegExp {
  const escaped = path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^}]+\\?\}/g, "[^/]+");
  return new RegExp(`^${escaped}$`);
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * One request on its own connection (no keep-alive pool): an oversized body refused with 413 before
 * it was read leaves its connection unusable, and must not break the next request of the test.
 */
export function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array | string,
): Promise<RawResponse> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method, headers, agent: false },
      (response) => {
        const parts: Buffer[] = [];
        response.on("data", (part: Buffer) => parts.push(part));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(parts).toString("utf8"),
          }),
        );
        response.on("error", reject);
      },
    );
    // The server may answer and close before the whole body is written; the answer is what counts.
    request.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE" && error.code !== "ECONNRESET") reject(error);
    });
    request.end(body);
  });
}
