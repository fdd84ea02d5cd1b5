// HTTP adapter of the documents feature: parse → document service → response.
import type { DocumentMetadata, DocumentRecord } from "#shared/documents/records.ts";
import { toDocumentView } from "#shared/documents/records.ts";
import type { HtmlReader } from "#shared/documents/service.ts";
import type { Engine } from "#shared/engine.ts";
import type { App } from "#shared/http/app.ts";
import { BadRequestError } from "#shared/http/errors.ts";
import { routeRegistrar } from "#shared/http/openapi.ts";
import { createPageFetcher, pageFetcherOptionsFor } from "#shared/web/fetch-page.ts";
import { documentsRoutes } from "./routes.ts";
import {
  deleteDocumentRoute,
  deleteSessionDocumentsRoute,
  deleteSourceRoute,
  getDocumentRoute,
  listDocumentsRoute,
  presignRoute,
  uploadFileRoute,
  uploadRoute,
  uploadStatusRoute,
  uploadUrlRoute,
} from "./schema.ts";

type NullableMetadata = { [K in keyof DocumentMetadata]?: string | null };

/** Drops empty values; a `user_id` never gets here because the schemas do not know it. */
function metadataFrom(input: NullableMetadata | null | undefined): DocumentMetadata {
  const metadata: DocumentMetadata = {};
  for (const key of ["notebook_id", "source_id", "session_id", "source_type", "url"] as const) {
    const value = input?.[key];
    if (typeof value === "string" && value !== "") metadata[key] = value;
  }
  return metadata;
}

function taskStatus(record: DocumentRecord) {
  return {
    task_id: record._id,
    status: record.status === "ready" ? "completed" : record.status === "failed" ? "failed" : "processing",
    filename: record.filename,
    started_at: record.started_at ? record.started_at.toISOString() : null,
    completed_at: record.completed_at ? record.completed_at.toISOString() : null,
    error: record.error ?? null,
    chunks: record.chunk_count ?? null,
  } as const;
}

function formString(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim().slice(0, 200) : undefined;
}

/** What the documents routes use of the engine (a Lambda composes only these). */
export type DocumentsDeps = Pick<Engine, "verifyToken" | "config" | "documents" | "records">;

/** Registers every documents route on the app. */
export function registerDocuments(app: App, engine: DocumentsDeps): void {
  const route = routeRegistrar(app, documentsRoutes, engine.verifyToken);
  const { documents, records } = engine;
  const fetchPage = createPageFetcher(pageFetcherOptionsFor(engine.config));
  // Imported with the first web page added: Readability and linkedom are evaluated by no other route.
  const readHtml: HtmlReader = async (html) => (await import("#shared/extraction/html.ts")).extractHtml(html);

  route(uploadRoute, async (c) => {
    const userId = c.get("user").userId;
    const body = c.req.valid("json");
    const metadata = metadataFrom(body.metadata);
    // The backend sends only placeholder text for websites: the page itself is fetched and ingested.
    const record =
      metadata.source_type?.toLowerCase() === "website" && metadata.url
        ? await documents.uploadUrl(userId, { url: metadata.url, metadata, fetchPage, readHtml })
        : await documents.uploadText(userId, { content: body.content, filename: body.filename, metadata });
    return c.json(
      {
        task_id: record._id,
        status: "processing" as const,
        filename: record.filename,
        user_id: userId,
        message: "Document received; it is being processed. Poll /ai/upload/status/{task_id} for progress.",
        document_id: record._id,
        source_id: record.source_id,
      },
      200,
    );
  });

  route(uploadStatusRoute, async (c) => {
    const record = await records.get(c.get("user").userId, c.req.valid("param").task_id);
    return c.json(taskStatus(record), 200);
  });

  route(presignRoute, async (c) => {
    const body = c.req.valid("json");
    const { record, upload } = await documents.presign(c.get("user").userId, {
      filename: body.filename,
      contentType: body.content_type,
      size: body.size,
      ...metadataFrom(body),
    });
    return c.json(
      {
        document_id: record._id,
        source_id: record.source_id,
        upload: { url: upload.url, fields: upload.fields, expires_at: upload.expiresAt.toISOString() },
      },
      200,
    );
  });

  route(uploadFileRoute, async (c) => {
    const form = c.req.valid("form") as Record<string, unknown>;
    const file = form.file;
    if (!(file instanceof File)) throw new BadRequestError('Send the document as a multipart field named "file".');
    const session = formString(form.session_id);
    const source = formString(form.source_id);
    const notebook = formString(form.notebook_id);
    const record = await documents.uploadFile(c.get("user").userId, {
      bytes: new Uint8Array(await file.arrayBuffer()),
      filename: file.name || "document",
      ...(file.type ? { contentType: file.type } : {}),
      ...(session ? { session_id: session } : {}),
      ...(source ? { source_id: source } : {}),
      ...(notebook ? { notebook_id: notebook } : {}),
    });
    return c.json(toDocumentView(record), 200);
  });

  route(uploadUrlRoute, async (c) => {
    const body = c.req.valid("json");
    const record = await documents.uploadUrl(c.get("user").userId, {
      url: body.url,
      metadata: { ...metadataFrom(body), source_type: "website" },
      fetchPage,
      readHtml,
    });
    return c.json(toDocumentView(record), 200);
  });

  route(listDocumentsRoute, async (c) => {
    const query = c.req.valid("query");
    const found = await records.list(c.get("user").userId, {
      ...(query.session_id ? { sessionId: query.session_id } : {}),
      ...(query.source_id ? { sourceIds: [query.source_id] } : {}),
    });
    return c.json({ documents: found.map(toDocumentView), total: found.length }, 200);
  });

  route(getDocumentRoute, async (c) => {
    return c.json(toDocumentView(await records.get(c.get("user").userId, c.req.valid("param").id)), 200);
  });

  route(deleteDocumentRoute, async (c) => {
    await documents.remove(c.get("user").userId, c.req.valid("param").id);
    return c.json({ success: true as const, deleted_count: 1, message: "Document deleted" }, 200);
  });

  route(deleteSourceRoute, async (c) => {
    const { source_id } = c.req.valid("param");
    const deleted = await documents.removeSource(c.get("user").userId, source_id);
    return c.json(
      {
        success: true as const,
        deleted_count: deleted,
        source_id,
        message: `Deleted ${deleted} document(s) of the source`,
      },
      200,
    );
  });

  route(deleteSessionDocumentsRoute, async (c) => {
    const { session_id } = c.req.valid("param");
    const deleted = await documents.removeSession(c.get("user").userId, session_id);
    return c.json(
      {
        success: true as const,
        deleted_count: deleted,
        session_id,
        message: `Deleted ${deleted} document(s) of the session`,
      },
      200,
    );
  });
}
