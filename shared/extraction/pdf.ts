// PDF text per page with unpdf (pdf.js); pages without a text layer are rendered and OCR'd.
// unpdf is imported with the first PDF: pdf.js is 1.6 MB of code that only this path runs, and in
// Lambda it is installed beside the bundle (infra/lib/constructs/document-parsers.ts).
import type { getDocumentProxy } from "unpdf";
import { onDemand } from "../on-demand.ts";
import { ExtractionError } from "./errors.ts";
import { MAX_OCR_PIXELS } from "./image-size.ts";
import { recognizeImage } from "./ocr.ts";
import type { ExtractedPage, ExtractionLimits } from "./types.ts";

const loadUnpdf = onDemand(() => import("unpdf"));
const loadCanvas = onDemand(() => import("@napi-rs/canvas"));

type PdfDocument = Awaited<ReturnType<typeof getDocumentProxy>>;

const CLEANUP_EVERY_PAGES = 50;

export interface PdfPages {
  pageCount: number;
  title?: string;
  /** Pages in order, extracted one at a time as they are asked for. */
  pages: AsyncGenerator<ExtractedPage>;
  /** Releases pdf.js's document; also done when `pages` finishes or is returned early. */
  close(): Promise<void>;
}

/**
 * The bytes as pdf.js will take them: it refuses Node Buffers and detaches the whole ArrayBuffer it
 * is given, so it gets a copy unless the caller handed over a view that spans its own buffer.
 */
function pdfData(bytes: Uint8Array, transfer: boolean): Uint8Array {
  const spansBuffer =
    bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return transfer && spansBuffer ? new Uint8Array(bytes.buffer) : new Uint8Array(bytes);
}

async function openPdf(bytes: Uint8Array, notice: string, transfer: boolean): Promise<PdfDocument> {
  const { getDocumentProxy } = await loadUnpdf();
  try {
    // isEvalSupported=false: fonts are never compiled with eval (defence against CVE-2024-4367-style bugs).
    return await getDocumentProxy(pdfData(bytes, transfer), { isEvalSupported: false, verbosity: 0 });
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    if (name === "PasswordException") {
      throw new ExtractionError("corrupt", "This PDF is password-protected. Remove the password and upload it again.", {
        cause: error,
      });
    }
    throw new ExtractionError(
      "corrupt",
      `${notice}This PDF could not be opened; it may be damaged or incomplete.`.trim(),
      {
        cause: error,
      },
    );
  }
}

async function pageText(pdf: PdfDocument, pageNumber: number): Promise<string> {
  const page = await pdf.getPage(pageNumber);
  const content = await page.getTextContent();
  let text = "";
  for (const item of content.items) {
    if (!("str" in item)) continue;
    text += item.str;
    if (item.hasEOL) text += "\n";
  }
  page.cleanup();
  return text;
}

async function ocrPage(pdf: PdfDocument, pageNumber: number, remainingMs: number, signal?: AbortSignal) {
  let image: ArrayBuffer;
  try {
    // 2x scale (~144 dpi) is the lowest where tesseract reads body text reliably; poster-sized
    // pages are scaled down so that the canvas stays within the OCR pixel budget.
    const { width, height } = (await pdf.getPage(pageNumber)).getViewport({ scale: 1 });
    const scale = Math.min(2, Math.sqrt(MAX_OCR_PIXELS / Math.max(1, width * height)));
    const { renderPageAsImage } = await loadUnpdf();
    image = await renderPageAsImage(pdf, pageNumber, { canvasImport: loadCanvas, scale });
  } catch (error) {
    throw new ExtractionError(
      "unsupported_type",
      `Page ${pageNumber} of this PDF is a scanned image, and reading scanned PDFs is not available on this server. Upload a PDF with selectable text, or the page as an image.`,
      { cause: error },
    );
  }
  return recognizeImage(new Uint8Array(image), remainingMs, signal);
}

function pdfTitle(info: unknown): string | undefined {
  if (typeof info !== "object" || info === null || !("Title" in info)) return undefined;
  const title = info.Title;
  return typeof title === "string" && title.trim() !== "" ? title.trim() : undefined;
}

async function* readPages(
  pdf: PdfDocument,
  limits: ExtractionLimits,
  close: () => Promise<void>,
  signal?: AbortSignal,
): AsyncGenerator<ExtractedPage> {
  try {
    const ocrDeadline = Date.now() + limits.ocrTimeoutMs;
    let totalChars = 0;
    for (let pageNumber = 1; pageNumber <= pdf.numPages; pageNumber++) {
      if (signal?.aborted) throw new ExtractionError("timeout", "Reading this file was cancelled.");
      let text: string;
      try {
        text = await pageText(pdf, pageNumber);
      } catch (error) {
        throw new ExtractionError("corrupt", `Page ${pageNumber} of this PDF is damaged and could not be read.`, {
          cause: error,
        });
      }
      if (text.trim() === "") text = await ocrPage(pdf, pageNumber, ocrDeadline - Date.now(), signal);
      totalChars += text.length;
      if (totalChars > limits.maxChars) {
        throw new ExtractionError(
          "too_much_text",
          `This PDF has more text than we can index (limit ${limits.maxChars} characters). Split it into smaller parts.`,
        );
      }
      yield { page: pageNumber, text };
      // pdf.js keeps every page it has parsed (and its fonts) until cleanup: released as we go, so
      // what stays in memory does not grow with the length of the document.
      if (pageNumber % CLEANUP_EVERY_PAGES === 0) await pdf.cleanup();
    }
  } finally {
    await close();
  }
}

/**
 * Opens a PDF and checks its page count; its pages (OCR-ing those without a text layer) are then
 * read one at a time, so a long PDF never has all its page texts in memory at once. With
 * `transfer`, the caller gives up `bytes` (pdf.js may detach their buffer instead of copying it).
 */
export async function openPdfPages(
  bytes: Uint8Array,
  limits: ExtractionLimits,
  notice: string,
  options: { signal?: AbortSignal; transfer?: boolean } = {},
): Promise<PdfPages> {
  const pdf = await openPdf(bytes, notice, options.transfer === true);
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= pdf.destroy().catch(() => undefined);
    return closing;
  };
  try {
    if (pdf.numPages > limits.maxPages) {
      throw new ExtractionError(
        "too_many_pages",
        `This PDF has ${pdf.numPages} pages; the limit is ${limits.maxPages}. Split it into smaller parts and upload them separately.`,
      );
    }
    let title: string | undefined;
    try {
      title = pdfTitle((await pdf.getMetadata()).info);
    } catch {
      // Metadata is optional; a broken info dictionary must not fail an otherwise readable PDF.
    }
    const pages = readPages(pdf, limits, close, options.signal);
    return title === undefined
      ? { pageCount: pdf.numPages, pages, close }
      : { pageCount: pdf.numPages, title, pages, close };
  } catch (error) {
    await close();
    throw error;
  }
}
