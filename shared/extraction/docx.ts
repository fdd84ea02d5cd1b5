// DOCX via mammoth, after checking the archive's declared and actual sizes (zip-bomb guard).
// mammoth is imported with the first DOCX: in Lambda it is installed beside the bundle.

import { onDemand } from "../on-demand.ts";
import { ExtractionError } from "./errors.ts";
import { htmlToText } from "./html.ts";
import type { ExtractionLimits } from "./types.ts";
import { entriesMatchDeclaredSizes, readZipEntries, ZipFormatError } from "./zip.ts";

const loadMammoth = onDemand(() => import("mammoth"));

const CORRUPT_DOCX = "This Word document could not be opened; it may be damaged or incomplete.";

function guardArchive(bytes: Uint8Array, limits: ExtractionLimits): void {
  const tooLarge = new ExtractionError(
    "too_large",
    "This Word document expands to more data than we accept. Save it again or split it into smaller files.",
  );
  try {
    const entries = readZipEntries(bytes);
    const declared = entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0);
    if (declared > limits.maxDocxUncompressedBytes) throw tooLarge;
    // Declared sizes are only claims: verify them with a capped inflate before mammoth trusts them.
    if (!entriesMatchDeclaredSizes(bytes, entries)) throw tooLarge;
  } catch (error) {
    if (error instanceof ExtractionError) throw error;
    if (error instanceof ZipFormatError) throw new ExtractionError("corrupt", CORRUPT_DOCX, { cause: error });
    throw error;
  }
}

/** Extracts a DOCX as structured text (headings as Markdown headings). */
export async function extractDocx(
  bytes: Uint8Array,
  limits: ExtractionLimits,
): Promise<{ text: string; title?: string }> {
  guardArchive(bytes, limits);
  let html: string;
  const { default: mammoth } = await loadMammoth();
  try {
    // externalFileAccess=false: a document must not make the server read files it links to.
    const result = await mammoth.convertToHtml(
      { buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
      { externalFileAccess: false, convertImage: mammoth.images.imgElement(async () => ({ src: "" })) },
    );
    html = result.value;
  } catch (error) {
    throw new ExtractionError("corrupt", CORRUPT_DOCX, { cause: error });
  }
  const text = await htmlToText(html);
  const heading = /^#{1,6} (.+)$/m.exec(text);
  return heading?.[1] === undefined ? { text } : { text, title: heading[1] };
}
