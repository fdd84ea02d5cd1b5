import type { DocumentType } from "./types.ts";

export type ExtractionErrorCode =
  | "unsupported_type"
  | "too_large"
  | "too_many_pages"
  | "too_much_text"
  | "corrupt"
  | "empty"
  | "timeout";

/** Why a document could not be read; `message` is written for the student who uploaded it. */
export class ExtractionError extends Error {
  override readonly name = "ExtractionError";
  readonly code: ExtractionErrorCode;

  constructor(code: ExtractionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

const TYPE_NAMES: Record<DocumentType, string> = {
  pdf: "a PDF document",
  docx: "a Word document",
  png: "a PNG image",
  jpeg: "a JPEG image",
  webp: "a WebP image",
  gif: "a GIF image",
  tiff: "a TIFF image",
  html: "a web page (HTML)",
  markdown: "a Markdown file",
  text: "a plain-text file",
  unknown: "a file type we can't read",
};

const EXTENSION_TYPES: Record<string, DocumentType> = {
  pdf: "pdf",
  docx: "docx",
  png: "png",
  jpg: "jpeg",
  jpeg: "jpeg",
  webp: "webp",
  gif: "gif",
  tif: "tiff",
  tiff: "tiff",
  html: "html",
  htm: "html",
  md: "markdown",
  markdown: "markdown",
  txt: "text",
};

/** Lower-cased extension of a filename hint, without the dot. */
export function extensionOf(filenameHint: string | undefined): string | undefined {
  if (filenameHint === undefined) return undefined;
  const match = /\.([A-Za-z0-9]+)$/.exec(filenameHint.trim());
  return match?.[1]?.toLowerCase();
}

/** Human name of a document type, e.g. "a PNG image". */
export function describeType(type: DocumentType): string {
  return TYPE_NAMES[type];
}

/**
 * A sentence telling the student that the name and the content disagree ("This file looks like a
 * PNG image renamed to .pdf."), or "" when they agree or there is no name to compare with.
 */
export function renameNotice(type: DocumentType, filenameHint: string | undefined): string {
  const extension = extensionOf(filenameHint);
  if (extension === undefined) return "";
  const claimed = EXTENSION_TYPES[extension];
  // An extension we don't know (.csv, .doc, …) makes no claim worth contradicting.
  if (claimed === undefined || claimed === type) return "";
  // Text-like types are told apart by heuristics, so .txt holding Markdown is not a "rename".
  const textLike: DocumentType[] = ["text", "markdown", "html"];
  if (textLike.includes(claimed) && textLike.includes(type)) return "";
  if (type === "unknown") return `This file is named .${extension} but its content is not ${describeType(claimed)}.`;
  return `This file looks like ${describeType(type)} renamed to .${extension}.`;
}
