// Wire limits and schemas that several features' routes share. Kept apart from every feature's
// schema module, so that a function evaluates (and bundles) only its own feature's route
// definitions: each schema module builds dozens of zod schemas when it is imported.
import { z } from "@hono/zod-openapi";

/** Longest chat message or question accepted, in characters (about 5k tokens). */
export const MAX_MESSAGE_CHARS = 20_000;

/** The contract's limit for files attached to a question (also sizes every function's multipart body limit). */
export const QA_FILE_MAX_BYTES = 10 * 1024 * 1024;

export const CitationSchema = z
  .object({
    source_id: z.string(),
    chunk_id: z.string(),
    page: z.number().int().optional(),
    quote: z.string(),
    filename: z.string().optional(),
    score: z.number().optional(),
  })
  .openapi("Citation");
