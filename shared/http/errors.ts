// One error hierarchy for the engine. Errors carry an HTTP status and whether their message may
// reach the client (`expose`); everything else becomes a generic 500 with the request id.

export interface ValidationIssue {
  loc: Array<string | number>;
  msg: string;
  type: string;
}

/** Base of every error a client may see; `detail` is the contract's error body. */
export class AppError extends Error {
  // Each subclass names itself: a bundle's minifier renames classes, so `new.target.name` would log as
  // "Ug" (and a subclass without its own name logs as "AppError").
  override readonly name: string = "AppError";
  readonly expose: boolean = true;
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get detail(): unknown {
    return this.message;
  }
}

export class BadRequestError extends AppError {
  override readonly name = "BadRequestError";
  constructor(message: string) {
    super(400, message);
  }
}

export class UnauthorizedError extends AppError {
  override readonly name = "UnauthorizedError";
  constructor(message = "Not authenticated") {
    super(401, message, { "WWW-Authenticate": "Bearer" });
  }
}

export class ForbiddenError extends AppError {
  override readonly name = "ForbiddenError";
  constructor(message = "Forbidden") {
    super(403, message);
  }
}

export class NotFoundError extends AppError {
  override readonly name = "NotFoundError";
  constructor(message = "Not found") {
    super(404, message);
  }
}

export class ConflictError extends AppError {
  override readonly name = "ConflictError";
  constructor(message: string) {
    super(409, message);
  }
}

export class PayloadTooLargeError extends AppError {
  override readonly name = "PayloadTooLargeError";
  /** `unreadBody`: the request body was refused before it was read, so the connection must close. */
  constructor(message = "Request body too large", options: { unreadBody?: boolean } = {}) {
    // An unread body would otherwise be taken as the start of the next request on a kept-alive socket.
    super(413, message, options.unreadBody ? { Connection: "close" } : {});
  }
}

export class ValidationError extends AppError {
  override readonly name = "ValidationError";
  constructor(readonly issues: ValidationIssue[]) {
    super(422, issues.map((issue) => `${issue.loc.join(".")}: ${issue.msg}`).join("; "));
  }

  override get detail(): unknown {
    return this.issues;
  }
}

export class QuotaExceededError extends AppError {
  override readonly name = "QuotaExceededError";
  constructor(message: string, retryAfterSeconds: number) {
    super(429, message, { "Retry-After": String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

export class ServiceUnavailableError extends AppError {
  override readonly name = "ServiceUnavailableError";
  constructor(message: string) {
    super(503, message);
  }
}

export interface ErrorResponse {
  status: number;
  body: { detail: unknown; request_id?: string };
  headers: Record<string, string>;
}

interface ExposableError {
  statusCode: number;
  expose: boolean;
  message: string;
}

function isExposable(error: unknown): error is ExposableError {
  if (typeof error !== "object" || error === null) return false;
  const candidate = error as Partial<ExposableError>;
  return (
    typeof candidate.statusCode === "number" &&
    candidate.statusCode >= 400 &&
    candidate.statusCode < 600 &&
    candidate.expose === true &&
    typeof candidate.message === "string"
  );
}

/** Maps any thrown value to the contract's error response; unknown errors never leak their text. */
export function toErrorResponse(error: unknown, requestId: string): ErrorResponse {
  if (error instanceof AppError) {
    return { status: error.statusCode, body: { detail: error.detail }, headers: { ...error.headers } };
  }
  if (isExposable(error)) {
    return { status: error.statusCode, body: { detail: error.message }, headers: {} };
  }
  return { status: 500, body: { detail: "Internal server error", request_id: requestId }, headers: {} };
}
