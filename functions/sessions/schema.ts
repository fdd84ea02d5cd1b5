import { createRoute, z } from "@hono/zod-openapi";
import { authErrors, BEARER, ErrorSchema, sseContent } from "#shared/http/openapi.ts";
import { CitationSchema, MAX_MESSAGE_CHARS } from "../wire.ts";

const MAX_TITLE_CHARS = 200;

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const notFound = json(ErrorSchema, "No such session for this user");

export const SessionSchema = z
  .object({
    id: z.string().openapi({ example: "665f1c2e9b1e8a3d4c5b6a79" }),
    user_id: z.string(),
    title: z.string(),
    last_message: z.string().nullable(),
    message_count: z.number().int(),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Session");

export const MessageSchema = z
  .object({
    role: z.enum(["user", "assistant", "system"]),
    content: z.string(),
    timestamp: z.string().openapi({ format: "date-time" }),
    citations: z.array(CitationSchema).optional(),
    incomplete: z.boolean().optional(),
  })
  .openapi("Message");

const SessionIdParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });

const TitleSchema = z.string().trim().min(1, "title must not be empty").max(MAX_TITLE_CHARS);

export const CreateSessionBody = z
  .object({ title: z.string().trim().max(MAX_TITLE_CHARS).optional() })
  .openapi("CreateSession");

export const RenameSessionBody = z.object({ title: TitleSchema }).openapi("RenameSession");

export const PostMessageBody = z
  .object({
    role: z.enum(["user", "assistant", "system"]),
    content: z.string().min(1).max(MAX_MESSAGE_CHARS),
    timestamp: z.iso.datetime({ offset: true }).optional(),
  })
  .openapi("PostMessage");

export const MessagesQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  before: z.iso.datetime({ offset: true }).optional(),
});

const MessageText = z.string().trim().min(1, "message must not be empty").max(MAX_MESSAGE_CHARS);
const Flag = z.union([z.boolean(), z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1")]);

export const ChatStreamBody = z
  .object({
    message: MessageText,
    use_rag: z.boolean().optional(),
    source_ids: z.array(z.string().min(1).max(200)).max(100).optional(),
  })
  .openapi("SessionChatRequest");

export const ChatStreamQuery = z.object({ message: MessageText, use_rag: Flag.optional() });

export const SessionListSchema = z
  .object({
    sessions: z.array(SessionSchema),
    total: z.number().int(),
    limit_reached: z.boolean(),
    max_sessions: z.number().int(),
  })
  .openapi("SessionList");

const tags = ["sessions"];

export const listSessionsRoute = createRoute({
  method: "get",
  path: "/ai/sessions",
  tags,
  summary: "List the caller's sessions, most recently active first",
  security: BEARER,
  responses: { 200: json(SessionListSchema, "Sessions"), ...authErrors },
});

export const createSessionRoute = createRoute({
  method: "post",
  path: "/ai/sessions",
  tags,
  summary: "Create a session",
  security: BEARER,
  request: { body: { content: { "application/json": { schema: CreateSessionBody } }, required: false } },
  responses: {
    200: json(SessionSchema, "The new session"),
    403: json(ErrorSchema, "Session limit reached"),
    ...authErrors,
  },
});

export const getSessionRoute = createRoute({
  method: "get",
  path: "/ai/sessions/{id}",
  tags,
  summary: "One session",
  security: BEARER,
  request: { params: SessionIdParams },
  responses: { 200: json(SessionSchema, "The session"), 404: notFound, ...authErrors },
});

export const renameSessionRoute = createRoute({
  method: "patch",
  path: "/ai/sessions/{id}",
  tags,
  summary: "Rename a session",
  security: BEARER,
  request: {
    params: SessionIdParams,
    body: { content: { "application/json": { schema: RenameSessionBody } }, required: true },
  },
  responses: { 200: json(SessionSchema, "The renamed session"), 404: notFound, ...authErrors },
});

export const deleteSessionRoute = createRoute({
  method: "delete",
  path: "/ai/sessions/{id}",
  tags,
  summary: "Delete a session with its messages",
  security: BEARER,
  request: { params: SessionIdParams },
  responses: {
    200: json(z.object({ message: z.string(), deleted_messages: z.number().int() }), "Deleted"),
    404: notFound,
    ...authErrors,
  },
});

export const listMessagesRoute = createRoute({
  method: "get",
  path: "/ai/sessions/{id}/messages",
  tags,
  summary: "Messages of a session, oldest first (`limit` keeps the most recent, `before` pages back)",
  security: BEARER,
  request: { params: SessionIdParams, query: MessagesQuery },
  responses: { 200: json(z.array(MessageSchema), "Messages"), 404: notFound, ...authErrors },
});

export const postMessageRoute = createRoute({
  method: "post",
  path: "/ai/sessions/{id}/messages",
  tags,
  summary: "Store a message in a session",
  security: BEARER,
  request: {
    params: SessionIdParams,
    body: { content: { "application/json": { schema: PostMessageBody } }, required: true },
  },
  responses: { 200: json(MessageSchema, "The stored message"), 404: notFound, ...authErrors },
});

export const postChatStreamRoute = createRoute({
  method: "post",
  path: "/ai/sessions/{id}/chat/stream",
  tags,
  summary: "Ask the study copilot in a session (session SSE framing)",
  security: BEARER,
  request: {
    params: SessionIdParams,
    body: { content: { "application/json": { schema: ChatStreamBody } }, required: true },
  },
  responses: { 200: { description: "Session stream", content: sseContent }, 404: notFound, ...authErrors },
});

export const getChatStreamRoute = createRoute({
  method: "get",
  path: "/ai/sessions/{id}/chat/stream",
  tags,
  summary: "Ask the study copilot in a session, message in the query (session SSE framing)",
  security: BEARER,
  request: { params: SessionIdParams, query: ChatStreamQuery },
  responses: { 200: { description: "Session stream", content: sseContent }, 404: notFound, ...authErrors },
});

export const sessionsOpenApi = [
  listSessionsRoute,
  createSessionRoute,
  getSessionRoute,
  renameSessionRoute,
  deleteSessionRoute,
  listMessagesRoute,
  postMessageRoute,
  postChatStreamRoute,
  getChatStreamRoute,
];
