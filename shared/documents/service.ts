// Documents use cases shared by the upload routes, session deletion and the worker: create a
// record and its blob, enqueue ingestion, report status, delete everything derived from a source.
import { createHash } from "node:crypto";
import type { BlobStore, PresignedUpload } from "../blobs/blobs.ts";
import { BadRequestError, PayloadTooLargeError } from "../http/errors.ts";
import type { Logger } from "../observability/logger.ts";
import type { JobQueue } from "../queue/queue.ts";
import type { Retriever } from "../rag/retrieve.ts";
import type { FetchedPage, PageFetcher } from "../web/fetch-page.ts";
import {
  type DocumentMetadata,
  type DocumentRecord,
  type DocumentRecords,
  indexPrefix,
  type NewDocument,
  uploadKey,
} from "./records.ts";

/** The ingestion message: ids only; the worker reloads everything from the user's record. */
export interface IngestMessage {
  type: "ingest";
  user_id: string;
  document_id: string;
}

export interface DocumentServiceDeps {
  records: DocumentRecords;
  blobs: BlobStore;
  queue: JobQueue;
  /** Drops a removed document from the retrieval caches and deletes the library indexes holding it. */
  retriever: Pick<Retriever, "forget">;
  logger: Logger;
  limits: { maxUploadBytes: number; maxMultipartBytes: number };
}

/** Content types a presigned upload may declare; the worker still sniffs the real type. */
export const UPLOADABLE_TYPES = [
  "application/pdf",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "text/plain",
  "text/markdown",
  "text/html",
  "image/png",
  "image/jpeg",
  "image/webp",
  "image/gif",
  "image/tiff",
] as const;

const PRESIGN_TTL_SECONDS = 900;

function cleanFilename(name: string): string {
  // Only the last path segment, without control characters: it is shown back to the user.
  const base = name.split(/[\\/]/).pop() ?? "";
  const cleaned = base.replace(/[\p{Cc}]/gu, "").trim();
  return cleaned === "" ? "document" : cleaned.slice(0, 255);
}

/**
 * Reads a fetched HTML page's main content (shared/extraction/html.ts `extractHtml`). Given by the
 * caller with the page fetcher, so that only the routes adding web pages bundle Readability and
 * linkedom (session deletion uses this service too).
 */
export type HtmlReader = (html: string) => Promise<{ text: string; title?: string }>;

/** The text to index from a fetched page: its main content (Readability) as Markdown, titled. */
async function pageAsMarkdown(page: FetchedPage, readHtml: HtmlReader): Promise<{ title: string; text: string }> {
  const fallbackTitle = new URL(page.finalUrl).hostname.replace(/^www\./, "");
  if (page.contentType === "text/plain") return { title: fallbackTitle, text: page.body };
  const extracted = await readHtml(page.body);
  const title = extracted.title ?? fallbackTitle;
  // The title as top heading gives every chunk a heading path; the URL stays visible in the text.
  const heading = /^#\s/.test(extracted.text) ? "" : `# ${title}\n\n`;
  return { title, text: `${heading}Source: ${page.finalUrl}\n\n${extracted.text}` };
}

function pageFilename(title: string, contentType: FetchedPage["contentType"]): string {
  const base =
    title
      .replace(/[\\/:*?"<>|\p{Cc}]+/gu, " ")
      .replace(/\s+/g, " ")
      .trim()
      .slice(0, 120) || "web page";
  return `${base}${contentType === "text/plain" ? ".txt" : ".md"}`;
}

export type DocumentService = ReturnType<typeof createDocumentService>;

/** Builds the documents use cases over their ports. */
export function createDocumentService(deps: DocumentServiceDeps) {
  const { records, blobs } = deps;

  async function enqueue(record: DocumentRecord): Promise<void> {
    const message: IngestMessage = { type: "ingest", user_id: record.user_id, document_id: record._id };
    await deps.queue.send(message);
  }

  /** A new upload for a source replaces that source's earlier documents (one shard per source). */
  async function replaceSource(userId: string, sourceId: string | undefined): Promise<void> {
    if (!sourceId) return;
    for (const old of await records.list(userId, { sourceIds: [sourceId] })) await removeRecord(old);
  }

  async function removeRecord(record: DocumentRecord): Promise<void> {
    // The record goes first: from then on nothing points at the blobs, and a concurrent ingestion
    // fails its conditional publish and deletes what it wrote.
    await records.remove(record.user_id, record._id);
    if (record.index_key) await deps.retriever.forget(record.index_key);
    await blobs.deletePrefix(`uploads/${encodeURIComponent(record.user_id)}/${record._id}/`);
    await blobs.deletePrefix(indexPrefix(record.user_id, record.source_id));
  }

  async function storeAndEnqueue(userId: string, input: NewDocument, bytes: Uint8Array): Promise<DocumentRecord> {
    if (bytes.byteLength === 0) throw new BadRequestError("The file is empty.");
    if (bytes.byteLength > deps.limits.maxUploadBytes) {
      throw new PayloadTooLargeError(`The file is larger than the ${deps.limits.maxUploadBytes} byte upload limit.`);
    }
    await replaceSource(userId, input.source_id);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const record = await records.create(userId, { ...input, size: bytes.byteLength, sha256 });
    await blobs.put(record.blob_key, bytes, input.content_type ? { contentType: input.content_type } : {});
    await enqueue(record);
    return record;
  }

  return {
    enqueue,

    /** Inline text from the backend (`POST /ai/upload`). */
    async uploadText(userId: string, input: { content: string; filename: string; metadata: DocumentMetadata }) {
      const filename = cleanFilename(input.filename);
      const markdown = /\.(md|markdown)$/i.test(filename);
      return storeAndEnqueue(
        userId,
        { ...input.metadata, filename, content_type: markdown ? "text/markdown" : "text/plain", origin: "upload" },
        new TextEncoder().encode(input.content),
      );
    },

    /**
     * A web page added by URL (`POST /ai/documents/url`, `/ai/upload` for websites). The page is
     * fetched now, through the SSRF guard, so a refused or unreachable URL is answered at once and
     * nothing is replaced; its main content then takes the normal ingestion path as Markdown.
     */
    async uploadUrl(
      userId: string,
      input: { url: string; metadata: DocumentMetadata; fetchPage: PageFetcher; readHtml: HtmlReader },
    ) {
      const page = await input.fetchPage(input.url);
      const { title, text } = await pageAsMarkdown(page, input.readHtml);
      if (text.replace(/^#.*$|^Source: .*$/gm, "").trim() === "") {
        throw new BadRequestError("The page has no readable text to add as study material.");
      }
      const filename = pageFilename(title, page.contentType);
      return storeAndEnqueue(
        userId,
        {
          ...input.metadata,
          url: page.url,
          source_type: input.metadata.source_type ?? "website",
          filename,
          content_type: page.contentType === "text/plain" ? "text/plain" : "text/markdown",
          origin: "url",
        },
        new TextEncoder().encode(text),
      );
    },

    /** A small file sent as multipart. */
    async uploadFile(
      userId: string,
      input: { bytes: Uint8Array; filename: string; contentType?: string } & DocumentMetadata,
    ) {
      if (input.bytes.byteLength > deps.limits.maxMultipartBytes) {
        throw new PayloadTooLargeError(
          `Files over ${Math.round(deps.limits.maxMultipartBytes / (1024 * 1024))} MB must use a presigned upload (POST /ai/documents).`,
        );
      }
      const { bytes, filename, contentType, ...metadata } = input;
      return storeAndEnqueue(
        userId,
        {
          ...metadata,
          filename: cleanFilename(filename),
          ...(contentType ? { content_type: contentType } : {}),
          origin: "multipart",
        },
        bytes,
      );
    },

    /** A presigned browser upload; ingestion starts when the object lands (S3 event or local upload route). */
    async presign(
      userId: string,
      input: { filename: string; contentType: string; size: number } & DocumentMetadata,
    ): Promise<{ record: DocumentRecord; upload: PresignedUpload }> {
      if (input.size > deps.limits.maxUploadBytes) {
        throw new PayloadTooLargeError(`The file is larger than the ${deps.limits.maxUploadBytes} byte upload limit.`);
      }
      if (!(UPLOADABLE_TYPES as readonly string[]).includes(input.contentType)) {
        throw new BadRequestError(
          `Unsupported content type ${input.contentType}. Supported: ${UPLOADABLE_TYPES.join(", ")}.`,
        );
      }
      const { filename, contentType, size, ...metadata } = input;
      await replaceSource(userId, metadata.source_id);
      const record = await records.create(userId, {
        ...metadata,
        filename: cleanFilename(filename),
        content_type: contentType,
        size,
        origin: "presigned",
      });
      const upload = await blobs.presignUpload(uploadKey(userId, record._id), {
        contentType,
        minBytes: 1,
        maxBytes: Math.min(size, deps.limits.maxUploadBytes),
        expiresInSeconds: PRESIGN_TTL_SECONDS,
      });
      return { record, upload };
    },

    async remove(userId: string, documentId: string): Promise<void> {
      await removeRecord(await records.get(userId, documentId));
    },

    /** Deletes every document of a source (caller's data only); returns how many. */
    async removeSource(userId: string, sourceId: string): Promise<number> {
      const found = await records.list(userId, { sourceIds: [sourceId] });
      for (const record of found) await removeRecord(record);
      return found.length;
    },

    /** Deletes every document scoped to a session; returns how many. */
    async removeSession(userId: string, sessionId: string): Promise<number> {
      const found = await records.list(userId, { sessionId });
      for (const record of found) await removeRecord(record);
      return found.length;
    },
  };
}

/** Parses an upload key back to its owner and document (S3 event notifications carry only keys). */
export function parseUploadKey(key: string): { userId: string; documentId: string } | undefined {
  const match = /^uploads\/([^/]+)\/([0-9a-f]{24})\/original$/.exec(key);
  if (!match?.[1] || !match[2]) return undefined;
  return { userId: decodeURIComponent(match[1]), documentId: match[2] };
}
