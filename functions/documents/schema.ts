import { createRoute, z } from "@hono/zod-openapi";
import { authErrors, BEARER, ErrorSchema } from "#shared/http/openapi.ts";

const Id = z.string().trim().min(1).max(200);

export const MetadataSchema = z
  .object({
    notebook_id: Id.optional().nullable(),
    source_id: Id.optional().nullable(),
    session_id: Id.optional().nullable(),
    source_type: z.string().trim().max(50).optional().nullable(),
    url: z.string().trim().max(2048).optional().nullable(),
  })
  .openapi("DocumentMetadata");

export const UploadBody = z
  .object({
    content: z.string().min(1, "content must not be empty"),
    filename: z.string().trim().min(1).max(255),
    metadata: MetadataSchema.optional().nullable(),
  })
  .openapi("UploadRequest");

export const UploadResponse = z
  .object({
    task_id: z.string(),
    status: z.literal("processing"),
    filename: z.string(),
    user_id: z.string(),
    message: z.string(),
    document_id: z.string(),
    source_id: z.string(),
  })
  .openapi("UploadResponse");

export const TaskStatus = z
  .object({
    task_id: z.string(),
    status: z.enum(["processing", "completed", "failed"]),
    filename: z.string(),
    started_at: z.string().nullable(),
    completed_at: z.string().nullable(),
    error: z.string().nullable(),
    chunks: z.number().int().nullable(),
  })
  .openapi("UploadStatus");

export const DocumentSchema = z
  .object({
    document_id: z.string(),
    source_id: z.string(),
    session_id: z.string().nullable(),
    notebook_id: z.string().nullable(),
    source_type: z.string().nullable(),
    url: z.string().nullable(),
    filename: z.string(),
    content_type: z.string().nullable(),
    detected_type: z.string().nullable(),
    size: z.number().nullable(),
    status: z.enum(["pending", "processing", "ready", "failed"]),
    error: z.string().nullable(),
    pages: z.number().nullable(),
    chunks: z.number().nullable(),
    embedding_model: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    completed_at: z.string().nullable(),
  })
  .openapi("Document");

export const PresignBody = z
  .object({
    filename: z.string().trim().min(1).max(255),
    content_type: z.string().trim().min(1).max(200),
    size: z.number().int().positive(),
    session_id: Id.optional().nullable(),
    source_id: Id.optional().nullable(),
    notebook_id: Id.optional().nullable(),
  })
  .openapi("PresignRequest");

export const PresignResponse = z
  .object({
    document_id: z.string(),
    source_id: z.string(),
    upload: z.object({ url: z.string(), fields: z.record(z.string(), z.string()), expires_at: z.string() }),
  })
  .openapi("PresignResponse");

export const UrlBody = z
  .object({
    url: z.string().trim().min(1, "url must not be empty").max(2048),
    session_id: Id.optional().nullable(),
    source_id: Id.optional().nullable(),
    notebook_id: Id.optional().nullable(),
  })
  .openapi("UrlDocumentRequest");

export const DeleteResult = z
  .object({
    success: z.literal(true),
    deleted_count: z.number().int(),
    message: z.string(),
    source_id: z.string().optional(),
    session_id: z.string().optional(),
  })
  .openapi("DeleteResult");

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const notFound = json(ErrorSchema, "No such document for this user");
const tooLarge = json(ErrorSchema, "Over the size limit");
const tags = ["documents"];

export const uploadRoute = createRoute({
  method: "post",
  path: "/ai/upload",
  tags,
  summary: "Upload text (the backend's path); ingestion runs in the background",
  security: BEARER,
  request: { body: { content: { "application/json": { schema: UploadBody } }, required: true } },
  responses: {
    200: json(UploadResponse, "Accepted"),
    400: json(ErrorSchema, "Website URL refused"),
    413: tooLarge,
    502: json(ErrorSchema, "Website could not be fetched"),
    ...authErrors,
  },
});

export const uploadStatusRoute = createRoute({
  method: "get",
  path: "/ai/upload/status/{task_id}",
  tags,
  summary: "Status of an upload task",
  security: BEARER,
  request: { params: z.object({ task_id: z.string() }) },
  responses: { 200: json(TaskStatus, "Status"), 404: notFound, ...authErrors },
});

export const presignRoute = createRoute({
  method: "post",
  path: "/ai/documents",
  tags,
  summary: "Start a presigned upload (size and type enforced by the upload policy)",
  security: BEARER,
  request: { body: { content: { "application/json": { schema: PresignBody } }, required: true } },
  responses: {
    200: json(PresignResponse, "Upload form"),
    400: json(ErrorSchema, "Unsupported type"),
    413: tooLarge,
    ...authErrors,
  },
});

export const uploadFileRoute = createRoute({
  method: "post",
  path: "/ai/documents/file",
  tags,
  summary: "Upload a small file as multipart/form-data (field `file`)",
  security: BEARER,
  request: {
    body: {
      content: {
        "multipart/form-data": {
          schema: z.object({
            file: z.any().openapi({ type: "string", format: "binary" }),
            session_id: z.string().optional(),
            source_id: z.string().optional(),
            notebook_id: z.string().optional(),
          }),
        },
      },
      required: true,
    },
  },
  responses: { 200: json(DocumentSchema, "Accepted"), 400: json(ErrorSchema, "No file"), 413: tooLarge, ...authErrors },
});

export const uploadUrlRoute = createRoute({
  method: "post",
  path: "/ai/documents/url",
  tags,
  summary: "Add a web page by URL: fetched now (SSRF-guarded), its main content ingested in the background",
  security: BEARER,
  request: { body: { content: { "application/json": { schema: UrlBody } }, required: true } },
  responses: {
    200: json(DocumentSchema, "Accepted (status pending)"),
    400: json(ErrorSchema, "URL refused (not http(s), private or internal address) or no readable text"),
    413: tooLarge,
    415: json(ErrorSchema, "Not an HTML or plain-text page"),
    502: json(ErrorSchema, "The page could not be fetched (unreachable, HTTP error, timeout)"),
    ...authErrors,
  },
});

export const listDocumentsRoute = createRoute({
  method: "get",
  path: "/ai/documents",
  tags,
  summary: "The caller's documents, newest first",
  security: BEARER,
  request: {
    query: z.object({ session_id: Id.optional(), source_id: Id.optional() }),
  },
  responses: {
    200: json(z.object({ documents: z.array(DocumentSchema), total: z.number().int() }), "Documents"),
    ...authErrors,
  },
});

export const getDocumentRoute = createRoute({
  method: "get",
  path: "/ai/documents/{id}",
  tags,
  summary: "One document with status, pages, chunks and error",
  security: BEARER,
  request: { params: z.object({ id: z.string() }) },
  responses: { 200: json(DocumentSchema, "Document"), 404: notFound, ...authErrors },
});

export const deleteDocumentRoute = createRoute({
  method: "delete",
  path: "/ai/documents/{id}",
  tags,
  summary: "Delete one document, its blobs and its shard",
  security: BEARER,
  request: { params: z.object({ id: z.string() }) },
  responses: { 200: json(DeleteResult, "Deleted"), 404: notFound, ...authErrors },
});

export const deleteSourceRoute = createRoute({
  method: "delete",
  path: "/ai/documents/source/{source_id}",
  tags,
  summary: "Delete every document of a source (caller's data only)",
  security: BEARER,
  request: { params: z.object({ source_id: Id }) },
  responses: { 200: json(DeleteResult, "Deleted"), ...authErrors },
});

export const deleteSessionDocumentsRoute = createRoute({
  method: "delete",
  path: "/ai/documents/session/{session_id}",
  tags,
  summary: "Delete every document of a session (caller's data only)",
  security: BEARER,
  request: { params: z.object({ session_id: Id }) },
  responses: { 200: json(DeleteResult, "Deleted"), ...authErrors },
});

export const documentsOpenApi = [
  uploadRoute,
  uploadStatusRoute,
  presignRoute,
  uploadFileRoute,
  uploadUrlRoute,
  listDocumentsRoute,
  getDocumentRoute,
  deleteDocumentRoute,
  deleteSourceRoute,
  deleteSessionDocumentsRoute,
];
