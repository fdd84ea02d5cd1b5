// The floor of a model function: a Lambda handler made only of the components the project's
// standards require of one (the MongoDB driver, LangChain's ChatOpenAI and OpenAIEmbeddings,
// Powertools' logger, metrics and parameters, jose, Hono with @hono/zod-openapi), bundled with the
// CDK's esbuild options and invoked like the functions. Each is used as a function uses it, so
// none is tree-shaken away: a MongoClient built (a deployed function connects on first use), the
// model clients built at init, a logger and EMF metrics per request, an OpenAPI route validating
// its body with zod, the bearer token verified with jose, and one streamed model call.
// What this costs to bundle and to start is what no composition of the engine can go below.

import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { BaseProvider } from "@aws-lambda-powertools/parameters/base";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { ChatOpenAI, OpenAIEmbeddings } from "@langchain/openai";
import { handle } from "hono/aws-lambda";
import { jwtVerify } from "jose";
import { MongoClient } from "mongodb";
import { buildDuringInit } from "#shared/engine/lambda-init.ts";

const env = process.env;
const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME ?? "required-components" });
const metrics = new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? "CollabryAI" });
const mongo = new MongoClient(env.MONGO_URI ?? "mongodb://127.0.0.1:27017/collabry", {
  serverSelectionTimeoutMS: 1_000,
});
const model = {
  model: env.LLM_MODEL ?? "gpt-4o-mini",
  apiKey: env.LLM_API_KEY ?? "unused",
  configuration: { baseURL: env.LLM_BASE_URL ?? "https://api.openai.com/v1" },
  maxRetries: 0,
};
const chat = new ChatOpenAI({ ...model, streamUsage: true });
const embeddings = new OpenAIEmbeddings({ ...model, model: env.EMBEDDINGS_MODEL ?? "text-embedding-3-small" });

/** Secrets given by reference are fetched through Powertools parameters, loaded on the first fetch as the functions do. */
let secrets: Promise<BaseProvider> | undefined;
function secretsProvider(): Promise<BaseProvider> {
  secrets ??= Promise.all([
    import("@aws-lambda-powertools/parameters/base"),
    import("@aws-sdk/client-secrets-manager"),
  ]).then(([{ BaseProvider }, sdk]) => {
    const client = new sdk.SecretsManagerClient({});
    return new (class extends BaseProvider {
      protected async _get(name: string) {
        const result = await client.send(new sdk.GetSecretValueCommand({ SecretId: name }));
        return result.SecretString;
      }
      protected _getMultiple(): Promise<undefined> {
        throw new Error("Secrets Manager has no multiple-value fetch");
      }
    })({});
  });
  return secrets;
}

async function jwtKey(): Promise<Uint8Array> {
  const direct = env.JWT_SECRET_KEY;
  const secret = direct ?? (await (await secretsProvider()).get(env.JWT_SECRET_ARN ?? "collabry/jwt"));
  if (typeof secret !== "string") throw new Error("JWT secret missing");
  return new TextEncoder().encode(secret);
}

const ask = createRoute({
  method: "post",
  path: "/ask",
  request: {
    body: { content: { "application/json": { schema: z.object({ message: z.string().min(1).max(4_000) }) } } },
  },
  responses: {
    200: {
      description: "The model's answer",
      content: { "application/json": { schema: z.object({ answer: z.string(), user: z.string() }) } },
    },
    401: {
      description: "No valid bearer token",
      content: { "application/json": { schema: z.object({ detail: z.string() }) } },
    },
  },
});

const app = new OpenAPIHono();
app.openapi(ask, async (c) => {
  const started = performance.now();
  const token = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1];
  if (!token) return c.json({ detail: "missing bearer token" }, 401);
  const { payload } = await jwtVerify(token, await jwtKey(), { algorithms: ["HS256"] }).catch(() => ({
    payload: undefined,
  }));
  if (!payload) return c.json({ detail: "invalid token" }, 401);
  const { message } = c.req.valid("json");
  let answer = "";
  for await (const chunk of await chat.stream([["human", message]])) answer += chunk.text;
  const user = String(payload.sub ?? payload.id ?? "");
  logger.info("answered", { user, database: mongo.options.dbName, embeddings: embeddings.model });
  metrics.singleMetric().addMetric("RequestLatency", MetricUnit.Milliseconds, performance.now() - started);
  return c.json({ answer, user }, 200);
});

export const handler = handle(app);
// The runtime preparation every function does during Lambda's init (shared/engine/lambda-init.ts),
// so the first event costs here what it costs them.
await buildDuringInit(async () => undefined);
