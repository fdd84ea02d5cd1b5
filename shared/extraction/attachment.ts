// A document attached to a request (multipart field `file`) and read without being stored: the
// qa/file and quiz/file routes. Size and type are checked before any parsing.
import { BadRequestError, PayloadTooLargeError } from "../http/errors.ts";
import { onDemand } from "../on-demand.ts";
import { ExtractionError } from "./errors.ts";
import { sniffType } from "./sniff.ts";
import type { DocumentType, ExtractedDocument, ExtractionLimits } from "./types.ts";

const loadExtract = onDemand(() => import("./extract.ts"));

export interface AttachmentRules {
  limits: ExtractionLimits;
  maxBytes: number;
  types: ReadonlySet<DocumentType>;
  /** Shown when the file is of another type, e.g. "Quizzes can be generated from .txt, .md, .pdf and .docx files." */
  wrongTypeMessage: string;
  /** Shown when the file is larger than `maxBytes`. */
  tooLargeMessage: string;
}

/** Reads and extracts the `file` field; every failure is a 4xx with a reason the student can read. */
export async function extractAttachment(
  form: Record<string, unknown>,
  rules: AttachmentRules,
): Promise<{ filename: string; document: ExtractedDocument }> {
  const file = form.file;
  if (!(file instanceof File)) throw new BadRequestError('Send the document as a multipart field named "file".');
  if (file.size > rules.maxBytes) throw new PayloadTooLargeError(rules.tooLargeMessage);
  const bytes = new Uint8Array(await file.arrayBuffer());
  // Refused before extraction: an image (even one renamed .pdf) would cost a full OCR run only to be
  // rejected afterwards.
  const sniffed = sniffType(bytes, file.name);
  if (sniffed !== "unknown" && !rules.types.has(sniffed)) throw new BadRequestError(rules.wrongTypeMessage);
  // Loaded on demand: the PDF and DOCX parsers cost cold-start time the JSON routes do not need.
  const { extractDocument } = await loadExtract();
  try {
    const document = await extractDocument(bytes, {
      filenameHint: file.name,
      limits: { ...rules.limits, maxBytes: rules.maxBytes },
    });
    if (!rules.types.has(document.type)) throw new BadRequestError(rules.wrongTypeMessage);
    return { filename: file.name || "document", document };
  } catch (error) {
    if (error instanceof ExtractionError) {
      throw error.code === "too_large" ? new PayloadTooLargeError(error.message) : new BadRequestError(error.message);
    }
    throw error;
  }
}
