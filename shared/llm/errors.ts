// Errors of the chat model port. Both are exposed: their messages are written for students and never
// carry endpoint URLs, keys or upstream error text (an upstream 401 body can echo part of the key).

/** The chat model endpoint failed or could not be reached (maps to 502). */
export class ModelUnavailableError extends Error {
  readonly statusCode = 502;
  readonly expose = true;

  constructor(reason: string, options?: { cause?: unknown }) {
    super(`The language model is unavailable: ${reason}`, options);
    this.name = "ModelUnavailableError";
  }
}

/** The chat model did not answer in time (maps to 504). */
export class ModelTimeoutError extends Error {
  readonly statusCode = 504;
  readonly expose = true;

  constructor(reason: string, options?: { cause?: unknown }) {
    super(`The language model did not answer in time: ${reason}`, options);
    this.name = "ModelTimeoutError";
  }
}
