import { createRoute, z } from "@hono/zod-openapi";
import { authErrors, BEARER, ErrorSchema, sseContent } from "#shared/http/openapi.ts";

/** Inline text is capped like a document upload: longer material belongs in stored sources. */
export const MAX_SUMMARY_TEXT_CHARS = 200_000;

export const SummarizeBody = z
  .object({
    text: z
      .string()
      .trim()
      .min(10, "text must be at least 10 characters")
      .max(MAX_SUMMARY_TEXT_CHARS)
      .optional()
      .nullable(),
    source_ids: z.array(z.string().min(1).max(200)).max(100).optional().nullable(),
    session_id: z.string().min(1).max(200).optional().nullable(),
    max_length: z
      .number()
      .int()
      .min(5)
      .max(5_000)
      .optional()
      .nullable()
      .openapi({ description: "Upper bound of the summary, in words" }),
    style: z.enum(["concise", "detailed", "bullet"]).default("concise"),
  })
  .superRefine((body, ctx) => {
    if (!body.text && !body.source_ids?.length && !body.session_id) {
      ctx.addIssue({
        code: "custom",
        path: ["text"],
        message: "Send text (at least 10 characters), source_ids or session_id to summarize.",
      });
    }
  })
  .openapi("SummarizeRequest");

export const SummaryCitationSchema = z
  .object({
    marker: z.number().int().openapi({ description: "The `[marker]` in the summary text that cites this" }),
    source_id: z.string(),
    chunk_id: z.string(),
    page: z.number().int(),
    quote: z.string().openapi({ description: "Verbatim text of the cited chunk" }),
    filename: z.string(),
  })
  .openapi("SummaryCitation");

export const SummarizeResponse = z
  .object({
    summary: z.string(),
    original_length: z.number().int().openapi({ description: "Characters of the summarized material" }),
    summary_length: z.number().int().openapi({ description: "Characters of the summary" }),
    user_id: z.string(),
    timestamp: z.string(),
    citations: z
      .array(SummaryCitationSchema)
      .optional()
      .openapi({ description: "When stored sources were summarized" }),
    offline: z.boolean().openapi({ description: "True when the offline engine wrote an extractive summary" }),
  })
  .openapi("SummarizeResponse");

const tags = ["summarize"];
const errors = {
  404: { description: "Unknown source", content: { "application/json": { schema: ErrorSchema } } },
  409: { description: "Sources still processing", content: { "application/json": { schema: ErrorSchema } } },
  502: { description: "The model failed", content: { "application/json": { schema: ErrorSchema } } },
  ...authErrors,
};

export const summarizeRoute = createRoute({
  method: "post",
  path: "/ai/summarize",
  tags,
  summary: "Summarize text or stored sources (with citations)",
  security: BEARER,
  request: { body: { content: { "application/json": { schema: SummarizeBody } }, required: true } },
  responses: {
    200: { description: "Summary", content: { "application/json": { schema: SummarizeResponse } } },
    ...errors,
  },
});

export const summarizeStreamRoute = createRoute({
  method: "post",
  path: "/ai/summarize/stream",
  tags,
  summary:
    "Streamed summary (generic SSE: `event: progress` while long material is read, tokens, `event: citations`, `event: done`)",
  security: BEARER,
  request: { body: { content: { "application/json": { schema: SummarizeBody } }, required: true } },
  responses: { 200: { description: "Generic stream", content: sseContent }, ...errors },
});

export const summarizeOpenApi = [summarizeRoute, summarizeStreamRoute];
