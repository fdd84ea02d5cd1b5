import { Match, type Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { featureRoutes } from "#functions/index.ts";
import type { FeatureRoutes, RouteSpec } from "#shared/http/routes.ts";
import { routeKey } from "../../infra/lib/features.ts";
import { logicalIdOf, resourcesOf, type SynthResult, synthCollabry } from "./support.ts";

interface MethodResource {
  Properties: {
    HttpMethod: string;
    ResourceId: unknown;
    AuthorizationType: string;
    AuthorizerId?: unknown;
    Integration?: { Type?: string; ResponseTransferMode?: string; Uri?: unknown; TimeoutInMillis?: number };
  };
}

/** Rebuilds "/a/{id}/b" paths from the template's Resource tree. */
function methodsByRoute(template: Template): Map<string, MethodResource> {
  const resources = template.findResources("AWS::ApiGateway::Resource") as Record<
    string,
    { Properties: { PathPart: string; ParentId: unknown } }
  >;
  const pathOf = (ref: unknown): string => {
    if (typeof ref === "object" && ref !== null && "Ref" in ref && typeof ref.Ref === "string") {
      const resource = resources[ref.Ref];
      if (!resource) throw new Error(`unknown resource ${ref.Ref}`);
      const parent = pathOf(resource.Properties.ParentId);
      return `${parent === "/" ? "" : parent}/${resource.Properties.PathPart}`;
    }
    return "/"; // Fn::GetAtt RootResourceId
  };
  const methods = new Map<string, MethodResource>();
  for (const [, method] of Object.entries(template.findResources("AWS::ApiGateway::Method")) as Array<
    [string, MethodResource]
  >) {
    if (method.Properties.HttpMethod === "OPTIONS") continue; // CORS preflight, not a route
    const key = `${method.Properties.HttpMethod} ${pathOf(method.Properties.ResourceId)}`;
    if (methods.has(key)) throw new Error(`duplicate method ${key}`);
    methods.set(key, method);
  }
  return methods;
}

/** A later feature list: two features without a profile, one of them streaming-only. */
const extendedRoutes: FeatureRoutes[] = [
  ...featureRoutes,
  { feature: "glossary", routes: [{ method: "GET", path: "/test-only/glossary", access: "admin", streaming: false }] },
  {
    feature: "brainstorm",
    routes: [{ method: "POST", path: "/test-only/brainstorm/stream", access: "user", streaming: true }],
  },
];

describe("API stack", () => {
  let result: SynthResult;
  let methods: Map<string, MethodResource>;

  beforeAll(() => {
    // Prepare
    result = synthCollabry({ featureRoutes });
    methods = methodsByRoute(result.api);
  });

  it("has exactly one API method per route of featureRoutes, and no other", () => {
    // Act
    const declared = featureRoutes.flatMap(({ routes }) => routes.map(routeKey)).sort();

    // Assess
    expect([...methods.keys()].sort()).toEqual(declared);
  });

  it("puts the JWT authorizer on every non-public route and none on public ones", () => {
    // Prepare
    const authorizerId = logicalIdOf(result.stacks.api.featureApi.authorizer);

    // Act
    const routes = featureRoutes.flatMap(({ routes }) => routes);

    // Assess
    for (const route of routes) {
      const method = methods.get(routeKey(route));
      if (route.access === "public") {
        expect(method?.Properties.AuthorizationType, routeKey(route)).toBe("NONE");
        expect(method?.Properties.AuthorizerId, routeKey(route)).toBeUndefined();
      } else {
        expect(method?.Properties.AuthorizationType, routeKey(route)).toBe("CUSTOM");
        expect(method?.Properties.AuthorizerId, routeKey(route)).toEqual({ Ref: authorizerId });
      }
    }
  });

  it("streams streaming routes (STREAM transfer mode, response-streaming invocations) and buffers the rest", () => {
    // Act
    const routes = featureRoutes.flatMap(({ routes }) => routes);

    // Assess
    expect(routes.some((route) => route.streaming)).toBe(true);
    for (const route of routes) {
      const integration = methods.get(routeKey(route))?.Properties.Integration;
      expect(integration?.Type, routeKey(route)).toBe("AWS_PROXY");
      const uri = JSON.stringify(integration?.Uri);
      if (route.streaming) {
        expect(integration?.ResponseTransferMode, routeKey(route)).toBe("STREAM");
        expect(uri).toContain("response-streaming-invocations");
        expect(integration?.TimeoutInMillis).toBeGreaterThan(29_000);
      } else {
        expect(integration?.ResponseTransferMode ?? "BUFFERED", routeKey(route)).toBe("BUFFERED");
        expect(uri).toContain("/invocations");
        expect(uri).not.toContain("response-streaming");
      }
    }
  });

  it("routes streaming methods to the feature's streamingHandler function and buffered ones to its handler", () => {
    // Prepare
    const functions = result.api.findResources("AWS::Lambda::Function");

    // Act
    const handlerOf = (route: Pick<RouteSpec, "method" | "path">) => {
      const uri = JSON.stringify(methods.get(routeKey(route))?.Properties.Integration?.Uri);
      const id = Object.keys(functions).find((logicalId) => uri.includes(`"${logicalId}"`));
      return id ? functions[id]?.Properties?.Handler : undefined;
    };

    // Assess
    for (const { routes } of featureRoutes) {
      for (const route of routes) {
        expect(handlerOf(route), routeKey(route)).toBe(route.streaming ? "index.streamingHandler" : "index.handler");
      }
    }
  });

  it("deploys one function per feature and handler kind, plus the authorizer and the worker, all alike", () => {
    // Prepare
    const expected =
      1 + // authorizer
      1 + // ingestion worker (entry present in this test)
      featureRoutes.reduce(
        (count, { routes }) =>
          count +
          (routes.some((route) => !route.streaming) ? 1 : 0) +
          (routes.some((route) => route.streaming) ? 1 : 0),
        0,
      );

    // Act
    const functions = resourcesOf(result.api, "AWS::Lambda::Function");

    // Assess
    expect(functions).toHaveLength(expected);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: "nodejs22.x",
        Architectures: ["x86_64"],
        TracingConfig: { Mode: "Active" },
        LoggingConfig: { LogFormat: "JSON" },
      });
    }
  });

  it("gives every function the runtime configuration, secrets by ARN and Powertools settings", () => {
    // Act
    const functions = resourcesOf(result.api, "AWS::Lambda::Function");

    // Assess
    for (const [id, fn] of functions) {
      const variables =
        (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
      expect(Object.keys(variables), id).toEqual(
        expect.arrayContaining([
          "STAGE",
          "DATA_BUCKET",
          "INGEST_QUEUE_URL",
          "MONGO_DB",
          "CORS_ORIGINS",
          "JWT_SECRET_ARN",
          "MONGO_URI_SECRET_ARN",
          "POWERTOOLS_SERVICE_NAME",
          "LOG_LEVEL",
        ]),
      );
      // Stacks are mapped by the logger; Node's own source maps would cost every cold start.
      expect(variables.NODE_OPTIONS, id).toBeUndefined();
      expect(variables.POWERTOOLS_METRICS_NAMESPACE).toBe("CollabryAI");
      expect(variables.CORS_ORIGINS).toBe("https://app.collabry.test,http://localhost:3000");
      expect(variables.STAGE).toBe("test");
    }
  });

  it("points model callers at the Ollama load balancer and keeps the others on the offline engine", () => {
    // Act
    const chat = result.stacks.api.features.find(({ feature }) => feature === "chat");
    const meta = result.stacks.api.features.find(({ feature }) => feature === "meta");
    const env = (fn: IConstruct | undefined) =>
      JSON.stringify(fn ? result.api.toJSON().Resources[logicalIdOf(fn)]?.Properties?.Environment : undefined);

    // Assess
    expect(env(chat?.buffered)).toMatch(/LLM_BASE_URL.*http:\/\/.*:11434\/v1/);
    expect(env(chat?.streaming)).toContain("LLM_MODEL");
    expect(env(meta?.buffered)).not.toContain("LLM_BASE_URL");
  });

  it("throttles the stage, the streaming routes and configured routes", () => {
    // Assess
    result.api.hasResourceProperties("AWS::ApiGateway::Stage", {
      StageName: "test",
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({ HttpMethod: "*", ResourcePath: "/*", ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
        Match.objectLike({ HttpMethod: "POST", ResourcePath: "/~1ai~1chat~1stream", ThrottlingRateLimit: 5 }),
      ]),
    });
  });

  it("caches authorizer results and rejects malformed tokens before invoking the authorizer", () => {
    // Assess
    result.api.hasResourceProperties("AWS::ApiGateway::Authorizer", {
      Type: "TOKEN",
      IdentitySource: "method.request.header.Authorization",
      AuthorizerResultTtlInSeconds: 300,
      IdentityValidationExpression: Match.stringLikeRegexp("^\\^Bearer "),
    });
  });

  it("answers gateway errors with CORS headers and a JSON detail body", () => {
    // Act
    const responses = resourcesOf(result.api, "AWS::ApiGateway::GatewayResponse").map(([, r]) => r.Properties ?? {});

    // Assess
    expect(responses.map((response) => response.ResponseType).sort()).toEqual(
      ["ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "UNAUTHORIZED"].sort(),
    );
    for (const response of responses) {
      expect(response.ResponseParameters).toMatchObject({
        "gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin",
        "gatewayresponse.header.Access-Control-Allow-Credentials": "'true'",
      });
      expect(response.ResponseTemplates).toEqual({ "application/json": '{"detail": $context.error.messageString}' });
    }
    const unauthorized = responses.find((response) => response.ResponseType === "UNAUTHORIZED");
    expect(unauthorized?.StatusCode).toBe("401");
    expect(unauthorized?.ResponseParameters).toMatchObject({ "gatewayresponse.header.WWW-Authenticate": "'Bearer'" });
  });

  it("answers CORS preflight on every route path", () => {
    // Act
    const options = resourcesOf(result.api, "AWS::ApiGateway::Method").filter(
      ([, method]) => method.Properties?.HttpMethod === "OPTIONS",
    );

    // Assess: one per API resource plus the root
    expect(options.length).toBe(resourcesOf(result.api, "AWS::ApiGateway::Resource").length + 1);
    for (const [, method] of options) expect(method.Properties?.AuthorizationType).toBe("NONE");
  });
});

describe("API stack with more features", () => {
  let result: SynthResult;

  beforeAll(() => {
    // Prepare
    result = synthCollabry({ featureRoutes: extendedRoutes, worker: false });
  });

  it("adds every new feature's routes automatically, with route parity", () => {
    // Act
    const methods = methodsByRoute(result.api);

    // Assess
    expect([...methods.keys()].sort()).toEqual(extendedRoutes.flatMap(({ routes }) => routes.map(routeKey)).sort());
    expect(methods.get("POST /test-only/brainstorm/stream")?.Properties.Integration?.ResponseTransferMode).toBe(
      "STREAM",
    );
  });

  it("deploys only a streaming function for a streaming-only feature and warns about an unprofiled feature", () => {
    // Act
    const brainstorm = result.stacks.api.features.find(({ feature }) => feature === "brainstorm");
    const warnings = result.stacks.api.node.metadata.filter((entry) => String(entry.data).includes("has no profile"));

    // Assess
    expect(brainstorm?.buffered).toBeUndefined();
    expect(brainstorm?.streaming).toBeDefined();
    expect(warnings).toHaveLength(2);
  });

  it("does not deploy the ingestion worker while functions/ingest/worker.ts is missing", () => {
    // Assess
    expect(result.stacks.api.ingestWorker).toBeUndefined();
    result.api.resourceCountIs("AWS::Lambda::EventSourceMapping", 0);
  });
});
