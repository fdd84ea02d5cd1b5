import { describe, expect, it } from "vitest";
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  QuotaExceededError,
  ServiceUnavailableError,
  toErrorResponse,
  UnauthorizedError,
  ValidationError,
} from "#shared/http/errors.ts";
import { ModelTimeoutError, ModelUnavailableError } from "#shared/llm/errors.ts";

const REQUEST_ID = "req-7f3a";

describe("toErrorResponse for the engine's own errors", () => {
  it.each([
    [new BadRequestError("End date must be after start date"), 400, "End date must be after start date"],
    [new ForbiddenError("Admin access required"), 403, "Admin access required"],
    [new NotFoundError("Session not found"), 404, "Session not found"],
    [new ConflictError("Document already exists"), 409, "Document already exists"],
    [new PayloadTooLargeError(), 413, "Request body too large"],
    [new ServiceUnavailableError("Database unavailable"), 503, "Database unavailable"],
  ])("maps %s to its status and a {detail} body", (error, status, detail) => {
    // Prepare
    const thrown: unknown = error;

    // Act
    const response = toErrorResponse(thrown, REQUEST_ID);

    // Assess
    expect(response.status).toBe(status);
    expect(response.body).toEqual({ detail });
  });

  it("answers 401 with WWW-Authenticate: Bearer for a missing or bad token", () => {
    // Prepare
    const error = new UnauthorizedError("Token has expired");

    // Act
    const response = toErrorResponse(error, REQUEST_ID);

    // Assess
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ detail: "Token has expired" });
    expect(response.headers).toEqual({ "WWW-Authenticate": "Bearer" });
  });

  it("uses 'Not authenticated' when no reason is given", () => {
    // Prepare
    const error = new UnauthorizedError();

    // Act
    const response = toErrorResponse(error, REQUEST_ID);

    // Assess
    expect(response.body).toEqual({ detail: "Not authenticated" });
  });

  it("answers 422 with the list of {loc, msg, type} for validation errors", () => {
    // Prepare
    const issues = [
      { loc: ["body", "message"], msg: "String should have at least 1 character", type: "string_too_short" },
      { loc: ["body", "top_k", 0], msg: "Input should be less than or equal to 10", type: "less_than_equal" },
    ];
    const error = new ValidationError(issues);

    // Act
    const response = toErrorResponse(error, REQUEST_ID);

    // Assess
    expect(response.status).toBe(422);
    expect(response.body).toEqual({ detail: issues });
    expect(JSON.parse(JSON.stringify(response.body))).toEqual({ detail: issues });
  });

  it.each([
    [30, "30"],
    [2.1, "3"],
    [0.2, "1"],
    [0, "1"],
    [-5, "1"],
  ])("answers 429 with Retry-After rounded up and at least 1 (%s s → %s)", (seconds, header) => {
    // Prepare
    const error = new QuotaExceededError("Daily AI usage limit reached", seconds);

    // Act
    const response = toErrorResponse(error, REQUEST_ID);

    // Assess
    expect(response.status).toBe(429);
    expect(response.body).toEqual({ detail: "Daily AI usage limit reached" });
    expect(response.headers["Retry-After"]).toBe(header);
  });

  it("gives each response its own headers object, so a caller's changes do not leak to the next", () => {
    // Prepare
    const error = new UnauthorizedError();
    const first = toErrorResponse(error, REQUEST_ID);
    first.headers["Access-Control-Allow-Origin"] = "http://localhost:3000";

    // Act
    const second = toErrorResponse(error, REQUEST_ID);

    // Assess
    expect(second.headers).toEqual({ "WWW-Authenticate": "Bearer" });
  });
});

describe("toErrorResponse for exposed errors of other modules", () => {
  it("maps a model outage to 502 with its student-facing message", () => {
    // Prepare
    const error = new ModelUnavailableError("the endpoint refused the request");

    // Act
    const response = toErrorResponse(error, REQUEST_ID);

    // Assess
    expect(response.status).toBe(502);
    expect(response.body).toEqual({ detail: "The language model is unavailable: the endpoint refused the request" });
  });

  it("maps a model timeout to 504", () => {
    // Prepare
    const error = new ModelTimeoutError("no token within 30 s");

    // Act
    const response = toErrorResponse(error, REQUEST_ID);

    // Assess
    expect(response.status).toBe(504);
    expect(response.body).toEqual({ detail: "The language model did not answer in time: no token within 30 s" });
  });

  it("maps any object with statusCode and expose: true to its status and message", () => {
    // Prepare
    const error = Object.assign(new Error("Too many files"), { statusCode: 400, expose: true });

    // Act
    const response = toErrorResponse(error, REQUEST_ID);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ detail: "Too many files" });
  });

  it("hides the message of an error with a status but expose: false", () => {
    // Prepare
    const error = Object.assign(new Error("connect ECONNREFUSED 10.0.0.5:27017"), { statusCode: 503, expose: false });

    // Act
    const response = toErrorResponse(error, REQUEST_ID);

    // Assess
    expect(response.status).toBe(500);
    expect(response.body).toEqual({ detail: "Internal server error", request_id: REQUEST_ID });
  });
});

describe("toErrorResponse for unknown errors", () => {
  it("answers 500 with only a generic detail and the request id, never the message or stack", () => {
    // Prepare
    const secret = "mongodb+srv://admin:hunter2-SECRET@cluster0.example.net";
    const error = new Error(`MongoServerError: bad auth for ${secret}`);
    expect(error.stack).toContain("at ");

    // Act
    const response = toErrorResponse(error, REQUEST_ID);
    const json = JSON.stringify(response.body);

    // Assess
    expect(response.status).toBe(500);
    expect(response.body).toEqual({ detail: "Internal server error", request_id: REQUEST_ID });
    expect(json).not.toContain("hunter2");
    expect(json).not.toContain("MongoServerError");
    expect(json).not.toContain("at ");
    expect(response.headers).toEqual({});
  });

  it.each([
    ["a string", "sk-live-1234567890abcdef"],
    ["undefined", undefined],
    ["null", null],
    ["a number", 42],
    ["a plain object", { message: "internal detail", statusCode: "400" }],
  ])("answers 500 when %s is thrown", (_kind, thrown) => {
    // Prepare
    const value: unknown = thrown;

    // Act
    const response = toErrorResponse(value, REQUEST_ID);

    // Assess
    expect(response.status).toBe(500);
    expect(response.body).toEqual({ detail: "Internal server error", request_id: REQUEST_ID });
  });
});
