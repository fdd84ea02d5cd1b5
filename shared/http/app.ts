// The HTTP layer shared by every feature: one Hono app definition that runs as a Node server
// locally and as a Lambda handler in AWS, so both use the same routing, validation and errors.
import { randomUUID } from "node:crypto";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { type AuthenticatedUser, bearerToken, InvalidTokenError, type TokenVerifier } from "../auth/jwt.ts";
import { type RateLimiter, type RateLimitGate, rateLimitGate } from "../limits/rate-limit.ts";
import { classifyRoute } from "../limits/route-classes.ts";
import { type Logger, type LogSink, requestLogger } from "../observability/logger.ts";
import type { EngineMetrics } from "../observability/metrics.ts";
import type { UsageMeter } from "../usage/meter.ts";
import type { z } from "../validation/zod.ts";
import {
  AppError,
  ForbiddenError,
  PayloadTooLargeError,
  toErrorResponse,
  UnauthorizedError,
  ValidationError,
  type ValidationIssue,
} from "./errors.ts";
import type { RouteAccess } from "./routes.ts";
import type { StreamObserver } from "./sse.ts";

export interface AppVariables {
  requestId: string;
  user: AuthenticatedUser;
  logger: LogSink;
  /** Told how an event stream of this request ended (see sseResponse). */
  streamObserver?: StreamObserver;
  /** Per-user rate limit, counted by `requireAccess` right after it authenticates the user. */
  rateLimit?: RateLimitGate;
  /**
   * This request's rate limit is counted already: the usage gate of an AI route counts it while it
   * checks the quota (shared/usage/middleware.ts), and `requireAccess` does not count it again.
   */
  rateLimitCounted?: boolean;
  /** The usage meter of an AI request (opened by the usage gate); its model calls go through `requestModel`. */
  usageMeter?: UsageMeter;
}

export type AppEnv = { Variables: AppVariables };
export type App = OpenAPIHono<AppEnv>;
export type AppContext = Context<AppEnv>;

export interface HttpOptions {
  corsOrigins: string[];
  maxBodyBytes: number;
  /** Limit for multipart/form-data bodies (file uploads). */
  maxMultipartBytes?: number;
  /** Larger limits for specific paths (e.g. inline document text). */
  largeBodyRoutes?: Record<string, number>;
  logger: Logger;
  metrics: EngineMetrics;
  verifyToken: TokenVerifier;
  /** Per-user limits by route class (`shared/limits/route-classes.ts`); none when absent. */
  rateLimiter?: RateLimiter;
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{8,128}$/;

/** Converts zod issues to the contract's 422 body: a list of `{loc, msg, type}`. */
export function toValidationIssues(error: z.ZodError, target: string): ValidationIssue[] {
  return error.issues.map((issue) => ({
    loc: [target, ...issue.path.map((part) => (typeof part === "symbol" ? String(part) : part))],
    msg: issue.message,
    type: issue.code,
  }));
}

/** Creates an app with request ids, access logs, CORS (also on errors), body limits and the error mapper. */
export function createApp(options: HttpOptions): App {
  const app: App = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const target = result.target === "json" ? "body" : result.target === "param" ? "path" : result.target;
        throw new ValidationError(toValidationIssues(result.error, target));
      }
    },
  });

  app.use("*", async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    const logger = requestLogger(options.logger, { request_id: requestId });
    c.set("requestId", requestId);
    c.set("logger", logger);
    const started = performance.now();
    await next();
    c.res.headers.set("X-Request-Id", requestId);
    const status = c.res.status;
    options.metrics.record("RequestLatency", performance.now() - started);
    if (status >= 500) options.metrics.record("Http5xx", 1);
    else if (status >= 400) options.metrics.record("Http4xx", 1);
    const user = c.get("user") as AuthenticatedUser | undefined;
    logger.info("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      ...(user ? { user_id: user.userId } : {}),
    });
  });

  app.use(
    "*",
    cors({
      origin: (origin) => (options.corsOrigins.includes(origin) ? origin : null),
      credentials: true,
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type", "X-Request-Id"],
      exposeHeaders: ["X-Request-Id", "X-Session-Id", "Retry-After"],
      maxAge: 600,
    }),
  );

  // Routes compose `requireAccess` themselves; the limiter reaches it through the context, so that no
  // feature has to pass it along.
  if (options.rateLimiter) {
    const rateLimit = rateLimitGate(options.rateLimiter, classifyRoute, {
      onLimited: () => options.metrics.record("RateLimited", 1),
      onError: (error) => options.logger.warn("rate limiter unavailable", { error: error as Error }),
    });
    app.use("*", (c, next) => {
      c.set("rateLimit", rateLimit);
      return next();
    });
  }

  const limiters = new Map<number, MiddlewareHandler<AppEnv>>();
  const limiter = (maxSize: number) => {
    let handler = limiters.get(maxSize);
    if (!handler) {
      const tooLarge = () => {
        throw new PayloadTooLargeError(`Request body exceeds ${maxSize} bytes`, { unreadBody: true });
      };
      // Hono's bodyLimit reads `c.req.raw.body`, which on Node builds a whole web Request for every
      // request; a declared Content-Length (nearly every client sends one) is checked from the
      // header alone, and only chunked bodies are counted as they are read.
      const counting = bodyLimit({ maxSize, onError: tooLarge });
      handler = (c, next) => {
        const length = c.req.header("content-length");
        if (length !== undefined && c.req.header("transfer-encoding") === undefined && /^\d+$/.test(length.trim())) {
          return Number(length) > maxSize ? tooLarge() : next();
        }
        if (c.req.method === "GET" || c.req.method === "HEAD") return next();
        return counting(c, next);
      };
      limiters.set(maxSize, handler);
    }
    return handler;
  };
  app.use("*", (c, next) => {
    const multipart = c.req.header("content-type")?.toLowerCase().startsWith("multipart/form-data") ?? false;
    const maxSize =
      options.largeBodyRoutes?.[c.req.path] ??
      (multipart && options.maxMultipartBytes ? options.maxMultipartBytes : options.maxBodyBytes);
    return limiter(maxSize)(c, next);
  });

  app.onError((error, c) => {
    const requestId = c.get("requestId") ?? randomUUID();
    const mapped = mapFrameworkError(error);
    const response = toErrorResponse(mapped, requestId);
    const logger = c.get("logger") ?? options.logger;
    if (response.status >= 500) {
      logger.error("request failed", { error: mapped instanceof Error ? mapped : String(mapped) });
    }
    for (const [name, value] of Object.entries(response.headers)) c.header(name, value);
    return c.json(response.body, response.status as 500);
  });

  app.notFound((c) => c.json({ detail: "Not Found" }, 404));

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });

  return app;
}

/** Hono's own exceptions (malformed JSON, …) become the contract's JSON errors. */
function mapFrameworkError(error: unknown): unknown {
  if (error instanceof AppError || !(error instanceof HTTPException)) return error;
  if (error.status === 400) {
    const message = /json/i.test(error.message) ? "Malformed JSON in request body" : "Bad request";
    return new AppError(400, message);
  }
  if (error.status === 415) return new AppError(415, "Request body must be JSON (Content-Type: application/json)");
  return new AppError(error.status, error.message || "Request failed");
}

/** Middleware enforcing a route's access level; sets `user` for every non-public route. */
export function requireAccess(access: RouteAccess, verifyToken: TokenVerifier): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (access === "public") return next();
    const token = bearerToken(c.req.header("authorization"));
    if (!token) throw new UnauthorizedError("Not authenticated");
    let user: AuthenticatedUser;
    try {
      user = await verifyToken(token);
    } catch (error) {
      if (error instanceof InvalidTokenError) throw new UnauthorizedError(error.message);
      throw error;
    }
    if (access === "admin" && !user.isAdmin) throw new ForbiddenError("Admin access required");
    c.set("user", user);
    const rateLimit = c.get("rateLimit");
    if (rateLimit && !c.get("rateLimitCounted")) await rateLimit(c, user.userId);
    return next();
  };
}
