import { createRoute, z } from "@hono/zod-openapi";
import { authErrors, BEARER, ErrorSchema, sseContent } from "#shared/http/openapi.ts";

/** Inline text is capped like a document upload: longer material belongs in stored sources. */
export const MAX_QUIZ_TEXT_CHARS = 200_000;

const Difficulty = z.enum(["easy", "medium", "hard", "mixed"]);

export const QuizBody = z
  .object({
    text: z
      .string()
      .trim()
      .min(10, "text must be at least 10 characters")
      .max(MAX_QUIZ_TEXT_CHARS)
      .optional()
      .nullable(),
    num_questions: z.number().int().min(1).max(20).default(5),
    difficulty: Difficulty.default("medium"),
    include_options: z.boolean().default(false),
    use_rag: z
      .boolean()
      .default(false)
      .openapi({ description: "Without text: quiz on the student's stored documents (narrowed by topic)" }),
    topic: z.string().trim().max(500).optional().nullable(),
    source_ids: z.array(z.string().min(1).max(200)).max(100).optional().nullable(),
    session_id: z.string().min(1).max(200).optional().nullable(),
  })
  .superRefine((body, ctx) => {
    if (!body.text && !body.source_ids?.length && !body.session_id && !body.use_rag) {
      ctx.addIssue({
        code: "custom",
        path: ["text"],
        message: "Send text (at least 10 characters), source_ids, session_id or use_rag: true.",
      });
    }
  })
  .openapi("QuizRequest");

export const QuizCitationSchema = z
  .object({
    source_id: z.string(),
    chunk_id: z.string(),
    page: z.number().int(),
    quote: z.string().openapi({ description: "Verbatim text of the cited chunk" }),
    filename: z.string(),
  })
  .openapi("QuizCitation");

export const QuizQuestionSchema = z
  .object({
    question: z.string(),
    answer: z.string().openapi({ description: "The text of the correct option" }),
    options: z
      .array(z.string())
      .openapi({ description: "Four distinct options containing the answer; empty unless include_options" }),
    explanation: z.string(),
    difficulty: z.enum(["easy", "medium", "hard"]),
    citations: z.array(QuizCitationSchema).optional(),
  })
  .openapi("QuizQuestion");

export const QuizResponse = z
  .object({
    questions: z.array(QuizQuestionSchema),
    source_length: z.number().int().openapi({ description: "Characters of the material" }),
    user_id: z.string(),
    timestamp: z.string(),
    offline: z.boolean().openapi({ description: "True when the offline engine built cloze/definition questions" }),
  })
  .openapi("QuizResponse");

/** Multipart fields of /ai/qa/generate/file, as strings (parsed by the handler). */
export const QuizFileFields = z.object({
  num_questions: z.coerce.number().int().min(1).max(20).default(5),
  difficulty: Difficulty.default("medium"),
  include_options: z
    .enum(["true", "false", "1", "0", "on", "off", ""])
    .default("false")
    .transform((value) => value === "true" || value === "1" || value === "on"),
});

const fileForm = z.object({
  file: z.any().openapi({ type: "string", format: "binary", description: ".txt .pdf .md .docx, at most 10 MiB" }),
  num_questions: z.string().optional().openapi({ description: "1..20, default 5" }),
  difficulty: z.string().optional().openapi({ description: "easy, medium, hard or mixed" }),
  include_options: z.string().optional().openapi({ description: "true/false" }),
});

const tags = ["quiz"];
const errors = {
  400: { description: "Bad input or too little material", content: { "application/json": { schema: ErrorSchema } } },
  404: { description: "Unknown source", content: { "application/json": { schema: ErrorSchema } } },
  409: { description: "Sources still processing", content: { "application/json": { schema: ErrorSchema } } },
  502: { description: "The model failed", content: { "application/json": { schema: ErrorSchema } } },
  ...authErrors,
};

export const quizRoute = createRoute({
  method: "post",
  path: "/ai/qa/generate",
  tags,
  summary: "Generate a quiz from text or stored sources",
  security: BEARER,
  request: { body: { content: { "application/json": { schema: QuizBody } }, required: true } },
  responses: { 200: { description: "Quiz", content: { "application/json": { schema: QuizResponse } } }, ...errors },
});

export const quizStreamRoute = createRoute({
  method: "post",
  path: "/ai/qa/generate/stream",
  tags,
  summary: "Streamed quiz: one `data:` line of JSON per question, then `event: done`",
  security: BEARER,
  request: { body: { content: { "application/json": { schema: QuizBody } }, required: true } },
  responses: { 200: { description: "Question stream", content: sseContent }, ...errors },
});

export const quizFileRoute = createRoute({
  method: "post",
  path: "/ai/qa/generate/file",
  tags,
  summary: "Generate a quiz from an attached file (not stored)",
  security: BEARER,
  request: { body: { content: { "multipart/form-data": { schema: fileForm } }, required: true } },
  responses: {
    200: { description: "Quiz", content: { "application/json": { schema: QuizResponse } } },
    413: { description: "File too large", content: { "application/json": { schema: ErrorSchema } } },
    ...errors,
  },
});

export const quizOpenApi = [quizRoute, quizStreamRoute, quizFileRoute];
