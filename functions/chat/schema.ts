import { createRoute, z } from "@hono/zod-openapi";
import { authErrors, BEARER, ErrorSchema, sseContent } from "#shared/http/openapi.ts";
import { MAX_MESSAGE_CHARS } from "../wire.ts";

export const ChatBody = z
  .object({
    message: z.string().trim().min(1, "message must not be empty").max(MAX_MESSAGE_CHARS),
    session_id: z.string().min(1).max(64).optional().nullable(),
  })
  .openapi("ChatRequest");

export const ChatResponse = z
  .object({
    response: z.string(),
    session_id: z.string(),
    user_id: z.string(),
    timestamp: z.string().openapi({ format: "date-time" }),
    tool_used: z.string().nullable(),
    incomplete: z.boolean().optional(),
    degraded: z
      .boolean()
      .optional()
      .openapi({ description: "True when the offline engine answered because the model is unavailable" }),
    notice: z.string().optional().openapi({ description: "Why the answer is degraded, for the student" }),
  })
  .openapi("ChatResponse");

const tags = ["chat"];
const body = { content: { "application/json": { schema: ChatBody } }, required: true };
const errors = {
  404: { description: "No such session", content: { "application/json": { schema: ErrorSchema } } },
  502: { description: "The model failed", content: { "application/json": { schema: ErrorSchema } } },
  ...authErrors,
};

export const chatRoute = createRoute({
  method: "post",
  path: "/ai/chat",
  tags,
  summary: "Ask the study copilot; the exchange is stored in the given (or a new) session",
  security: BEARER,
  request: { body },
  responses: {
    200: { description: "The answer", content: { "application/json": { schema: ChatResponse } } },
    ...errors,
  },
});

export const chatStreamRoute = createRoute({
  method: "post",
  path: "/ai/chat/stream",
  tags,
  summary: "Ask the study copilot (generic SSE framing; the session id is in the X-Session-Id header)",
  security: BEARER,
  request: { body },
  responses: { 200: { description: "Generic stream", content: sseContent }, ...errors },
});

export const chatOpenApi = [chatRoute, chatStreamRoute];
