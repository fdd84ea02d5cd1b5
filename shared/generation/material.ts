// The material a study tool works from: inline text, stored sources (all their chunks, in order),
// or the passages retrieved for a topic. Every section keeps what a citation needs.
import type { BlobStore } from "../blobs/blobs.ts";
import { chunkDocument } from "../chunking/chunk.ts";
import type { DocumentRecords } from "../documents/records.ts";
import type { ExtractedDocument } from "../extraction/types.ts";
import { ConflictError, NotFoundError } from "../http/errors.ts";
import { type StoredChunk, shardFiles } from "../ingestion/layout.ts";
import type { Retriever } from "../rag/retrieve.ts";

export interface MaterialSection {
  source_id: string;
  chunk_id: string;
  page: number;
  filename: string;
  heading_path: string[];
  text: string;
}

export interface Material {
  sections: MaterialSection[];
  /** True when the sections come from stored documents (their items then carry citations). */
  stored: boolean;
  /** Titles of the sources, for headings and prompts. */
  titles: string[];
}

export interface MaterialDeps {
  records: DocumentRecords;
  blobs: BlobStore;
  retriever: Retriever;
}

export interface MaterialRequest {
  userId: string;
  text?: string;
  sourceIds?: string[];
  sessionId?: string;
  /** Retrieve the passages about this topic instead of whole sources. */
  topic?: string;
  topK?: number;
}

/** The material fields of a study-tool request body (`text`, `source_ids`, `session_id`), as a MaterialRequest. */
export function materialScope(body: {
  text?: string | null | undefined;
  source_ids?: string[] | null | undefined;
  session_id?: string | null | undefined;
}): Pick<MaterialRequest, "text" | "sourceIds" | "sessionId"> {
  return {
    ...(body.text ? { text: body.text } : {}),
    ...(body.source_ids?.length ? { sourceIds: body.source_ids } : {}),
    ...(body.session_id ? { sessionId: body.session_id } : {}),
  };
}

/** Source id given to inline text; its sections are not citable stored material. */
export const INLINE_SOURCE = "text";

/** Material of an attached (not stored) document: its chunks, page numbers kept, not citable. */
export function materialFromDocument(document: ExtractedDocument, filename: string, titles = [filename]): Material {
  const chunks = chunkDocument(document, { sourceId: INLINE_SOURCE });
  return {
    sections: chunks.map((chunk) => ({
      source_id: INLINE_SOURCE,
      chunk_id: chunk.chunkId,
      page: chunk.page,
      filename,
      heading_path: chunk.headingPath,
      text: chunk.text,
    })),
    stored: false,
    titles,
  };
}

/** Sections of inline text, chunked like stored documents. */
export function materialFromText(text: string, filename = "text"): Material {
  return materialFromDocument({ type: "text", pages: [{ page: 1, text }] }, filename, []);
}

/** Loads the caller's material; only the caller's ready documents are ever read. */
export async function loadMaterial(deps: MaterialDeps, request: MaterialRequest): Promise<Material> {
  if (request.text !== undefined && request.text.trim() !== "") return materialFromText(request.text);
  const scope = {
    userId: request.userId,
    ...(request.sessionId ? { sessionId: request.sessionId } : {}),
    ...(request.sourceIds?.length ? { sourceIds: request.sourceIds } : {}),
  };
  const records = await deps.records.listSearchable(request.userId, {
    ...(request.sessionId ? { sessionId: request.sessionId } : {}),
    ...(request.sourceIds?.length ? { sourceIds: request.sourceIds } : {}),
  });
  if (request.sourceIds?.length) {
    const known = new Set(records.map((record) => record.source_id));
    const missing = request.sourceIds.filter((id) => !known.has(id));
    if (missing.length > 0) throw new NotFoundError(`Source not found: ${missing.slice(0, 5).join(", ")}`);
  }
  const ready = records.filter((record) => record.status === "ready" && record.index_key);
  if (ready.length === 0) {
    if (records.some((record) => record.status === "pending" || record.status === "processing")) {
      throw new ConflictError("Your documents are still being processed. Try again in a moment.");
    }
    throw new NotFoundError("No processed documents found. Upload material first, or send text.");
  }
  const titles = ready.map((record) => record.filename);
  if (request.topic) {
    const { passages } = await deps.retriever.retrieve(scope, request.topic, request.topK ?? 12);
    return {
      sections: passages.map(({ score: _score, quote, ...passage }) => ({ ...passage, text: quote })),
      stored: true,
      titles,
    };
  }
  const sections: MaterialSection[] = [];
  // Oldest first, so a course reads in the order it was uploaded.
  for (const record of [...ready].reverse()) {
    const bytes = record.index_key ? await deps.blobs.get(shardFiles(record.index_key).chunks) : undefined;
    if (!bytes) continue;
    const chunks = JSON.parse(new TextDecoder().decode(bytes)) as StoredChunk[];
    for (const chunk of chunks) {
      sections.push({
        source_id: record.source_id,
        chunk_id: chunk.chunk_id,
        page: chunk.page,
        filename: record.filename,
        heading_path: chunk.heading_path,
        text: chunk.text,
      });
    }
  }
  return { sections, stored: true, titles };
}

/** A citation to a section, with a verbatim quote (a sentence of it when one is given). */
export function citeSection(section: MaterialSection, quote?: string) {
  return {
    source_id: section.source_id,
    chunk_id: section.chunk_id,
    page: section.page,
    quote: quote && section.text.includes(quote) ? quote : section.text.slice(0, 300),
  };
}
