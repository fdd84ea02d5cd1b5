import { createRoute, z } from "@hono/zod-openapi";
import { authErrors, BEARER, ErrorSchema, sseContent } from "#shared/http/openapi.ts";
import { CitationSchema, MAX_MESSAGE_CHARS } from "../wire.ts";

export const QaBody = z
  .object({
    question: z.string().trim().min(1, "question must not be empty").max(MAX_MESSAGE_CHARS),
    context: z.string().max(200_000).optional().nullable(),
    use_rag: z.boolean().default(true),
    top_k: z.number().int().min(1).max(10).default(3),
    session_id: z.string().min(1).max(200).optional().nullable(),
    source_ids: z.array(z.string().min(1).max(200)).max(100).optional().nullable(),
  })
  .openapi("QaRequest");

export const SourceSchema = z
  .object({
    source: z.string(),
    content: z.string(),
    metadata: z.object({
      source_id: z.string(),
      chunk_id: z.string(),
      page: z.number().int(),
      filename: z.string(),
      score: z.number(),
    }),
  })
  .openapi("QaSource");

export const QaResponse = z
  .object({
    question: z.string(),
    answer: z.string(),
    sources: z.array(SourceSchema),
    citations: z.array(CitationSchema),
    confidence: z.number(),
    offline: z.boolean(),
    user_id: z.string(),
    timestamp: z.string(),
  })
  .openapi("QaResponse");

const fileForm = z.object({
  question: z.string().openapi({ description: "The question" }),
  file: z.any().openapi({ type: "string", format: "binary", description: ".txt .pdf .md .docx, at most 10 MiB" }),
  use_rag: z.string().optional().openapi({ description: "also search stored documents (true/false)" }),
});

const tags = ["qa"];
const errors = {
  400: { description: "Bad file", content: { "application/json": { schema: ErrorSchema } } },
  413: { description: "File too large", content: { "application/json": { schema: ErrorSchema } } },
  502: { description: "The model failed", content: { "application/json": { schema: ErrorSchema } } },
  ...authErrors,
};

export const qaRoute = createRoute({
  method: "post",
  path: "/ai/qa",
  tags,
  summary: "Answer a question from the student's material, with citations",
  security: BEARER,
  request: { body: { content: { "application/json": { schema: QaBody } }, required: true } },
  responses: { 200: { description: "Answer", content: { "application/json": { schema: QaResponse } } }, ...errors },
});

export const qaStreamRoute = createRoute({
  method: "post",
  path: "/ai/qa/stream",
  tags,
  summary: "Streamed answer (generic SSE; `event: sources` first, `event: citations` before `done`)",
  security: BEARER,
  request: { body: { content: { "application/json": { schema: QaBody } }, required: true } },
  responses: { 200: { description: "Generic stream", content: sseContent }, ...errors },
});

export const qaFileRoute = createRoute({
  method: "post",
  path: "/ai/qa/file",
  tags,
  summary: "Answer a question about an attached file (not stored)",
  security: BEARER,
  request: { body: { content: { "multipart/form-data": { schema: fileForm } }, required: true } },
  responses: { 200: { description: "Answer", content: { "application/json": { schema: QaResponse } } }, ...errors },
});

export const qaFileStreamRoute = createRoute({
  method: "post",
  path: "/ai/qa/file/stream",
  tags,
  summary: "Streamed answer about an attached file (`event: file` first)",
  security: BEARER,
  request: { body: { content: { "multipart/form-data": { schema: fileForm } }, required: true } },
  responses: { 200: { description: "Generic stream", content: sseContent }, ...errors },
});

export const qaOpenApi = [qaRoute, qaStreamRoute, qaFileRoute, qaFileStreamRoute];
