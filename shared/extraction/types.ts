// Types shared by the document extractors and their callers (ingest worker, chunker).

/** The real type of an uploaded file, decided by its bytes (never by its name alone). */
export type DocumentType =
  | "pdf"
  | "docx"
  | "png"
  | "jpeg"
  | "webp"
  | "gif"
  | "tiff"
  | "html"
  | "markdown"
  | "text"
  | "unknown";

export interface ExtractedPage {
  /** 1-based page number; 1 for documents without pages. */
  page: number;
  text: string;
}

export interface ExtractedDocument {
  type: DocumentType;
  pages: ExtractedPage[];
  title?: string;
}

/** Hard limits that keep one upload from exhausting a worker's memory or time. */
export interface ExtractionLimits {
  maxBytes: number;
  maxPages: number;
  maxChars: number;
  /** Sum of the uncompressed sizes a DOCX may declare (zip-bomb guard). */
  maxDocxUncompressedBytes: number;
  /** Total OCR time budget for one document. */
  ocrTimeoutMs: number;
}

export interface ExtractOptions {
  filenameHint?: string;
  limits: ExtractionLimits;
  signal?: AbortSignal;
  /** The caller gives up `bytes`: a parser may keep (and detach) their buffer instead of a copy. */
  transferBytes?: boolean;
}

/** A document opened for extraction, its pages read one at a time. */
export interface DocumentPages {
  type: DocumentType;
  title?: string;
  /**
   * Pages in order, each extracted when asked for; iterate once. Failures (limits, damaged pages,
   * no text at all) are thrown as ExtractionError while iterating.
   */
  pages: AsyncIterable<ExtractedPage>;
  /** Releases the parser; needed only when `pages` is not iterated to its end. */
  close(): Promise<void>;
}
