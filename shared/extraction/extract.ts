// Entry point of text extraction: sniff the real type, enforce limits, dispatch to an extractor,
// and turn every library failure into an ExtractionError a student can act on.
import { extractDocx } from "./docx.ts";
import { describeType, ExtractionError, renameNotice } from "./errors.ts";
import { extractHtml } from "./html.ts";
import { MAX_OCR_PIXELS, readImageSize } from "./image-size.ts";
import { recognizeImage } from "./ocr.ts";
import { extractPdf } from "./pdf.ts";
import { decodeText, sniffType } from "./sniff.ts";
import type { DocumentType, ExtractedDocument, ExtractedPage, ExtractionLimits, ExtractOptions } from "./types.ts";
import { isZip } from "./zip.ts";

export { ExtractionError, type ExtractionErrorCode } from "./errors.ts";
export { shutdownOcr } from "./ocr.ts";
export { sniffType } from "./sniff.ts";
export type { DocumentType, ExtractedDocument, ExtractedPage, ExtractionLimits, ExtractOptions } from "./types.ts";

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

async function extractByType(
  type: DocumentType,
  bytes: Uint8Array,
  options: ExtractOptions,
  notice: string,
): Promise<{ pages: ExtractedPage[]; title?: string }> {
  const { limits, signal, filenameHint } = options;
  if (type === "pdf") return extractPdf(bytes, limits, notice, signal);
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
    const html = extractHtml(text);
    checkTextSize(html.text, limits);
    return html.title === undefined
      ? { pages: [{ page: 1, text: html.text }] }
      : { pages: [{ page: 1, text: html.text }], title: html.title };
  }
  const title = type === "markdown" ? firstMarkdownHeading(text) : undefined;
  return title === undefined ? { pages: [{ page: 1, text }] } : { pages: [{ page: 1, text }], title };
}

/** Extracts the text of an uploaded document, page by page, within the given limits. */
export async function extractDocument(bytes: Uint8Array, options: ExtractOptions): Promise<ExtractedDocument> {
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
  let extracted: { pages: ExtractedPage[]; title?: string };
  try {
    extracted = await extractByType(type, bytes, options, notice);
  } catch (error) {
    if (error instanceof ExtractionError) throw error;
    // Any other exception is a library tripping over malformed input.
    throw new ExtractionError(
      "corrupt",
      withNotice(notice, `This file looks like ${describeType(type)} but could not be read; it may be damaged.`),
      { cause: error },
    );
  }
  if (extracted.pages.every((page) => page.text.trim() === "")) {
    const what = IMAGE_TYPES.has(type) ? "We found no readable text in this image." : "We found no text in this file.";
    throw new ExtractionError("empty", withNotice(notice, what));
  }
  const document: ExtractedDocument = { type, pages: extracted.pages };
  if (extracted.title !== undefined) document.title = extracted.title;
  return document;
}
