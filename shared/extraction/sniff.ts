// Decides what an upload really is from its bytes; the filename only breaks ties between
// text-like types, because students rename files and browsers guess MIME types badly.
import { extensionOf } from "./errors.ts";
import type { DocumentType } from "./types.ts";
import { isZip, readZipEntries } from "./zip.ts";

function startsWith(bytes: Uint8Array, signature: number[], at = 0): boolean {
  if (bytes.length < at + signature.length) return false;
  return signature.every((byte, i) => bytes[at + i] === byte);
}

function ascii(text: string): number[] {
  return Array.from(text, (char) => char.charCodeAt(0));
}

function hasPdfHeader(bytes: Uint8Array): boolean {
  // The PDF spec lets readers accept a header within the first 1024 bytes (some generators
  // prepend junk), and pdf.js does the same.
  const window = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 1024));
  return window.indexOf("%PDF-") >= 0;
}

/** Decodes bytes as UTF-8 (or UTF-16 with a BOM) text, BOM stripped; undefined when they look binary. */
export function decodeText(bytes: Uint8Array): string | undefined {
  // Windows tools still save "Unicode" text as UTF-16 with a byte-order mark.
  const encoding = startsWith(bytes, [0xff, 0xfe])
    ? "utf-16le"
    : startsWith(bytes, [0xfe, 0xff])
      ? "utf-16be"
      : "utf-8";
  let text: string;
  try {
    text = new TextDecoder(encoding, { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return undefined;
  }
  let control = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0) return undefined;
    // Tab, LF, FF and CR are ordinary in text; other C0 controls are a sign of a binary format.
    if (code < 32 && code !== 9 && code !== 10 && code !== 12 && code !== 13) control++;
  }
  return control > Math.max(2, text.length * 0.001) ? undefined : text;
}

const HTML_START = /^\s*(?:<!--[\s\S]*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])/i;
const HTML_TAGS = /<(?:p|div|span|a|h[1-6]|ul|ol|li|table|article|section|br|meta|title|script|style)\b[^>]*>/gi;

function markdownScore(text: string): number {
  const sample = text.slice(0, 20_000);
  let score = 0;
  if (/^#{1,6}\s+\S/m.test(sample)) score += 2;
  if (/^```/m.test(sample)) score += 2;
  if (/\[[^\]\n]+\]\([^)\s]+\)/.test(sample)) score += 1;
  if (/^\s{0,3}[-*+]\s+\S/m.test(sample)) score += 1;
  if (/^\s{0,3}\d+\.\s+\S/m.test(sample)) score += 1;
  if (/(\*\*|__)[^*_\n]+\1/.test(sample)) score += 1;
  if (/^>\s+\S/m.test(sample)) score += 1;
  if (/^\|.+\|\s*$/m.test(sample) && /^\|?\s*:?-{3,}/m.test(sample)) score += 2;
  return score;
}

/** Chooses between HTML, Markdown and plain text for content already known to be text. */
export function classifyText(text: string, filenameHint?: string): "html" | "markdown" | "text" {
  const extension = extensionOf(filenameHint);
  const tagCount = (text.slice(0, 20_000).match(HTML_TAGS) ?? []).length;
  if (HTML_START.test(text)) return "html";
  if (extension === "html" || extension === "htm") return tagCount > 0 ? "html" : "text";
  if (extension === "md" || extension === "markdown") return "markdown";
  if (extension === "txt") return "text";
  if (tagCount >= 5) return "html";
  return markdownScore(text) >= 2 ? "markdown" : "text";
}

/** The real type of a document, decided by magic bytes; the filename hint only separates text types. */
export function sniffType(bytes: Uint8Array, filenameHint?: string): DocumentType {
  if (bytes.length === 0) return "unknown";
  if (hasPdfHeader(bytes)) return "pdf";
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, ascii("GIF87a")) || startsWith(bytes, ascii("GIF89a"))) return "gif";
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return "webp";
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return "tiff";
  if (isZip(bytes)) {
    try {
      return readZipEntries(bytes).some((entry) => entry.name === "word/document.xml") ? "docx" : "unknown";
    } catch {
      return "unknown";
    }
  }
  const text = decodeText(bytes);
  if (text === undefined) return "unknown";
  return classifyText(text, filenameHint);
}
