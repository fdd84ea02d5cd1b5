// Entry point of text extraction: sniff the real type, enforce limits, dispatch to an extractor,
// and turn every library failure into an ExtractionError a student can act on.
import { extractDocx } from "./docx.ts";
import { describeType, ExtractionError, renameNotice } from "./errors.ts";
import { extractHtml } from "./html.ts";
import { MAX_OCR_PIXELS, readImageSize } from "./image-size.ts";
import { recognizeImage } from "./ocr.ts";
import { openPdfPages } from "./pdf.ts";
import { decodeText, sniffType } from "./sniff.ts";
import type {
  DocumentPages,
  DocumentType,
  ExtractedDocument,
  ExtractedPage,
  ExtractionLimits,
  ExtractOptions,
} from "./types.ts";
import { isZip } from "./zip.ts";

export { ExtractionError, type ExtractionErrorCode } from "./errors.ts";
export { shutdownOcr } from "./ocr.ts";
export { sniffType } from "./sniff.ts";
export type {
  DocumentPages,
  DocumentType,
  ExtractedDocument,
  ExtractedPage,
  ExtractionLimits,
  ExtractOptions,
} from "./types.ts";

const IMAGE_TYPES: ReadonlySet<DocumentType> = new Set(["png", "jpeg", "webp", "gif", "tiff"]);

function withNotice(notice: string, message: string): string {
  return notice === "" ? message : `${notice} ${message}`;
}

function megabytes(bytes: number): string {
  return `${Math.round((bytes / 1_048_576) * 10) / 10} MB`;
}

function unsupported(bytes: Uint8Array, filenameHint: string | undefined): ExtractionError {
  const notice = renameNotice("unknown", filenameHint);
  const what = isZip(bytes) ? "This is a ZIP archive, not a Word document." : "We can't read this kind of file.";
  return new ExtractionError(
    "unsupported_type",
    withNotice(notice, `${what} Upload a PDF, Word (.docx), Markdown, HTML, plain-text file or an image.`),
  );
}

function checkTextSize(text: string, limits: ExtractionLimits): void {
  if (text.length > limits.maxChars) {
    throw new ExtractionError(
      "too_much_text",
      `This file has more text than we can index (limit ${limits.maxChars} characters). Split it into smaller parts.`,
    );
  }
}

function firstMarkdownHeading(text: string): string | undefined {
  return /^#{1,6}\s+(.+?)\s*#*\s*$/m.exec(text)?.[1];
}

interface OpenedPages {
  pages: AsyncIterable<ExtractedPage>;
  title?: string;
  close(): Promise<void>;
}

async function* listed(pages: ExtractedPage[]): AsyncGenerator<ExtractedPage> {
  yield* pages;
}

async function openByType(
  type: DocumentType,
  bytes: Uint8Array,
  options: ExtractOptions,
  notice: string,
): Promise<OpenedPages> {
  if (type === "pdf") {
    return openPdfPages(bytes, options.limits, notice, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.transferBytes ? { transfer: true } : {}),
    });
  }
  // The other formats are one page each, read at once.
  const { pages, title } = await extractSinglePage(type, bytes, options);
  const opened: OpenedPages = { pages: listed(pages), close: async () => undefined };
  if (title !== undefined) opened.title = title;
  return opened;
}

async function extractSinglePage(
  type: DocumentType,
  bytes: Uint8Array,
  options: ExtractOptions,
): Promise<{ pages: ExtractedPage[]; title?: string }> {
  const { limits, signal, filenameHint } = options;
  if (type === "docx") {
    const { text, title } = await extractDocx(bytes, limits);
    checkTextSize(text, limits);
    return title === undefined ? { pages: [{ page: 1, text }] } : { pages: [{ page: 1, text }], title };
  }
  if (IMAGE_TYPES.has(type)) {
    const size = readImageSize(type, bytes);
    if (size !== undefined && size.width * size.height > MAX_OCR_PIXELS) {
      throw new ExtractionError(
        "too_large",
        `This image is ${size.width}×${size.height} pixels, too large to read. Scale it down and upload it again.`,
      );
    }
    const text = await recognizeImage(bytes, limits.ocrTimeoutMs, signal);
    checkTextSize(text, limits);
    return { pages: [{ page: 1, text }] };
  }
  const decoded = decodeText(bytes);
  if (decoded === undefined) throw unsupported(bytes, filenameHint);
  // Offsets of chunks point into this text, so line endings are normalised once, here.
  const text = decoded.replace(/\r\n?/g, "\n");
  checkTextSize(text, limits);
  if (type === "html") {
    const html = await extractHtml(text);
    checkTextSize(html.text, limits);
    return html.title === undefined
      ? { pages: [{ page: 1, text: html.text }] }
      : { pages: [{ page: 1, text: html.text }], title: html.title };
  }
  const title = type === "markdown" ? firstMarkdownHeading(text) : undefined;
  return title === undefined ? { pages: [{ page: 1, text }] } : { pages: [{ page: 1, text }], title };
}

/**
 * Any other exception is a library tripping over malformed input, except a parser missing beside
 * the bundle: a deployment fault, left to surface as a server error rather than blamed on the file.
 */
function asExtractionError(error: unknown, type: DocumentType, notice: string): Error {
  if (error instanceof ExtractionError) return error;
  if (error instanceof Error && "code" in error && error.code === "ERR_MODULE_NOT_FOUND") return error;
  return new ExtractionError(
    "corrupt",
    withNotice(notice, `This file looks like ${describeType(type)} but could not be read; it may be damaged.`),
    { cause: error },
  );
}

async function* checkedPages(
  pages: AsyncIterable<ExtractedPage>,
  type: DocumentType,
  notice: string,
): AsyncGenerator<ExtractedPage> {
  let anyText = false;
  try {
    for await (const page of pages) {
      if (page.text.trim() !== "") anyText = true;
      yield page;
    }
  } catch (error) {
    throw asExtractionError(error, type, notice);
  }
  if (!anyText) {
    const what = IMAGE_TYPES.has(type) ? "We found no readable text in this image." : "We found no text in this file.";
    throw new ExtractionError("empty", withNotice(notice, what));
  }
}

/**
 * Opens an uploaded document within the given limits: its type, size and page count are checked
 * here, its pages are then extracted one at a time as the caller iterates them.
 */
export async function openDocument(bytes: Uint8Array, options: ExtractOptions): Promise<DocumentPages> {
  const { limits, filenameHint, signal } = options;
  if (bytes.length === 0) throw new ExtractionError("empty", "This file is empty.");
  if (bytes.length > limits.maxBytes) {
    throw new ExtractionError(
      "too_large",
      `This file is ${megabytes(bytes.length)}; the limit is ${megabytes(limits.maxBytes)}.`,
    );
  }
  if (signal?.aborted) throw new ExtractionError("timeout", "Reading this file was cancelled.");
  const type = sniffType(bytes, filenameHint);
  if (type === "unknown") throw unsupported(bytes, filenameHint);
  const notice = renameNotice(type, filenameHint);
  let opened: OpenedPages;
  try {
    opened = await openByType(type, bytes, options, notice);
  } catch (error) {
    throw asExtractionError(error, type, notice);
  }
  const document: DocumentPages = { type, pages: checkedPages(opened.pages, type, notice), close: opened.close };
  if (opened.title !== undefined) document.title = opened.title;
  return document;
}

/** Extracts the text of an uploaded document, page by page, within the given limits. */
export async function extractDocument(bytes: Uint8Array, options: ExtractOptions): Promise<ExtractedDocument> {
  const opened = await openDocument(bytes, options);
  try {
    const pages: ExtractedPage[] = [];
    for await (const page of opened.pages) pages.push(page);
    const document: ExtractedDocument = { type: opened.type, pages };
    if (opened.title !== undefined) document.title = opened.title;
    return document;
  } finally {
    await opened.close();
  }
}
