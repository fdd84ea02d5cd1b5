// A Regional REST API built from the route tables (data exported by functions/index.ts): every
// route becomes exactly one method on the Lambda of its feature, streamed or buffered, with the
// JWT authorizer unless the route is public.
import { Duration } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { RouteSpec } from "#shared/http/routes.ts";
import { routeKey } from "../features.ts";

export interface ThrottleLimits {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface ApiRoute extends RouteSpec {
  readonly feature: string;
  /** Buffered routes: the feature's `handler`; streaming routes: its `streamingHandler`. */
  readonly function: lambda.IFunction;
}

export interface FeatureApiProps {
  readonly stageName: string;
  readonly routes: readonly ApiRoute[];
  readonly authorizerFunction: lambda.IFunction;
  readonly corsOrigins: readonly string[];
  readonly stageThrottle: ThrottleLimits;
  readonly streamingThrottle: ThrottleLimits;
  /** Per-route overrides keyed "METHOD /path". */
  readonly routeThrottles?: Readonly<Record<string, ThrottleLimits>>;
  /** Authorizer result cache; 0 disables it. */
  readonly authorizerCacheTtl?: Duration;
  /** Integration timeout of streamed routes (API Gateway allows up to 15 minutes when streaming). */
  readonly streamingTimeout?: Duration;
  readonly accessLogRetention?: logs.RetentionDays;
  /** Extra RestApi props (e.g. a custom domain). */
  readonly restApiProps?: Partial<apigw.RestApiProps>;
}

/** Headers the frontend and the Collabry backend send. */
const ALLOWED_HEADERS = ["Authorization", "Content-Type", "X-Requested-With", "X-Request-Id"];

export class FeatureApi extends Construct {
  readonly api: apigw.RestApi;
  readonly authorizer: apigw.TokenAuthorizer;
  readonly accessLogGroup: logs.LogGroup;
  /** "METHOD /path" → method, for tests and per-route acknowledgements. */
  readonly methods = new Map<string, { method: apigw.Method; route: ApiRoute }>();

  constructor(scope: Construct, id: string, props: FeatureApiProps) {
    super(scope, id);
    const unknownOverrides = Object.keys(props.routeThrottles ?? {}).filter(
      (key) => !props.routes.some((route) => routeKey(route) === key),
    );
    if (unknownOverrides.length > 0) {
      throw new Error(`throttling.routes names routes that do not exist: ${unknownOverrides.join(", ")}`);
    }

    this.accessLogGroup = new logs.LogGroup(this, "AccessLogs", {
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    this.api = new apigw.RestApi(this, "RestApi", {
      description: "Collabry AI Engine",
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      // Stage logging needs the account-level CloudWatch role; CDK creates and wires it once.
      cloudWatchRole: true,
      // Multipart file uploads (/ai/documents/file, /ai/qa/file) must reach Lambda unmangled:
      // API Gateway base64-encodes these bodies (hono's adapter decodes them). Lambda's 6 MB
      // payload limit caps such uploads near 4.5 MB; larger files use presigned S3 uploads.
      binaryMediaTypes: ["multipart/form-data", "application/octet-stream"],
      deployOptions: {
        stageName: props.stageName,
        tracingEnabled: true,
        // Execution logs at ERROR only, without bodies: prompts and documents never reach the logs.
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: false,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields({
          caller: false,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
        throttlingRateLimit: props.stageThrottle.rateLimit,
        throttlingBurstLimit: props.stageThrottle.burstLimit,
        methodOptions: this.methodThrottles(props),
      },
      defaultCorsPreflightOptions: {
        allowOrigins: [...props.corsOrigins],
        allowMethods: apigw.Cors.ALL_METHODS,
        allowHeaders: ALLOWED_HEADERS,
        // The contract allows credentials (the frontend may send cookies alongside the bearer token).
        allowCredentials: true,
        maxAge: Duration.hours(1),
      },
      ...props.restApiProps,
    });

    this.authorizer = new apigw.TokenAuthorizer(this, "JwtAuthorizer", {
      handler: props.authorizerFunction,
      identitySource: apigw.IdentitySource.header("Authorization"),
      // Cached per token: the authorizer must return a policy covering every method (see README).
      resultsCacheTtl: props.authorizerCacheTtl ?? Duration.minutes(5),
      // Malformed headers are rejected by API Gateway itself (401) without invoking the Lambda.
      validationRegex: "^Bearer [-0-9A-Za-z_=]+\\.[-0-9A-Za-z_=]+\\.[-0-9A-Za-z_=]+$",
    });

    const integrations = new Map<string, apigw.LambdaIntegration>();
    for (const route of props.routes) {
      const integrationKey = `${route.function.node.addr}:${route.streaming}`;
      let integration = integrations.get(integrationKey);
      if (!integration) {
        integration = new apigw.LambdaIntegration(route.function, {
          // Lambda proxy either way; streaming switches the invoke API to InvokeWithResponseStream.
          responseTransferMode: route.streaming
            ? apigw.ResponseTransferMode.STREAM
            : apigw.ResponseTransferMode.BUFFERED,
          timeout: route.streaming ? (props.streamingTimeout ?? Duration.minutes(5)) : undefined,
          // One permission per function and API instead of one per method and test-invoke: keeps
          // the Lambda resource policy far below its 20 KB limit as features grow.
          scopePermissionToMethod: false,
        });
        integrations.set(integrationKey, integration);
      }
      const resource = route.path === "/" ? this.api.root : this.api.root.resourceForPath(route.path);
      const method = resource.addMethod(
        route.method,
        integration,
        route.access === "public"
          ? { authorizationType: apigw.AuthorizationType.NONE }
          : { authorizationType: apigw.AuthorizationType.CUSTOM, authorizer: this.authorizer },
      );
      this.methods.set(routeKey(route), { method, route });
    }

    this.addGatewayResponses(props.corsOrigins);
  }

  private methodThrottles(props: FeatureApiProps): Record<string, apigw.MethodDeploymentOptions> {
    const options: Record<string, apigw.MethodDeploymentOptions> = {};
    for (const route of props.routes) {
      const limits = props.routeThrottles?.[routeKey(route)] ?? (route.streaming ? props.streamingThrottle : undefined);
      if (!limits) continue;
      // Key format of StageOptions.methodOptions: "/resource/path/METHOD".
      const path = route.path === "/" ? "/" : `${route.path}/`;
      options[`${path}${route.method}`] = {
        throttlingRateLimit: limits.rateLimit,
        throttlingBurstLimit: limits.burstLimit,
      };
    }
    return options;
  }

  /**
   * Errors produced by API Gateway itself (bad token, throttled, integration failure) carry the
   * contract's JSON shape and CORS headers, so the browser shows the real error, not a CORS one.
   */
  private addGatewayResponses(corsOrigins: readonly string[]): void {
    // One origin: name it. Several: echo the caller's Origin (gateway responses cannot match a list).
    // Acceptable because these bodies are API Gateway's own messages ("Unauthorized", "Too Many
    // Requests"), never user data, and the API authenticates with bearer tokens, not ambient cookies.
    const [onlyOrigin] = corsOrigins;
    const allowOrigin =
      corsOrigins.length === 1 && onlyOrigin !== undefined ? `'${onlyOrigin}'` : "method.request.header.Origin";
    const headers = {
      "Access-Control-Allow-Origin": allowOrigin,
      "Access-Control-Allow-Headers": `'${ALLOWED_HEADERS.join(",")}'`,
      "Access-Control-Allow-Credentials": "'true'",
      Vary: "'Origin'",
    };
    const responses: Array<[string, apigw.ResponseType, string | undefined, Record<string, string>]> = [
      ["Default4xx", apigw.ResponseType.DEFAULT_4XX, undefined, {}],
      ["Default5xx", apigw.ResponseType.DEFAULT_5XX, undefined, {}],
      // The contract: a missing or invalid token is 401 with `WWW-Authenticate: Bearer`.
      ["Unauthorized", apigw.ResponseType.UNAUTHORIZED, "401", { "WWW-Authenticate": "'Bearer'" }],
      ["AccessDenied", apigw.ResponseType.ACCESS_DENIED, "403", {}],
      ["Throttled", apigw.ResponseType.THROTTLED, "429", {}],
    ];
    for (const [id, type, statusCode, extraHeaders] of responses) {
      this.api.addGatewayResponse(id, {
        type,
        statusCode,
        responseHeaders: { ...headers, ...extraHeaders },
        // $context.error.messageString is already a quoted JSON string.
        templates: { "application/json": '{"detail": $context.error.messageString}' },
      });
    }
  }
}
