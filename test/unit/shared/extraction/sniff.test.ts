import { describe, expect, it } from "vitest";
import { sniffType } from "#shared/extraction/extract.ts";
import { docxEntries, makeDocx, makeTextPdf, makeZip, renderTextPng } from "#test/fixtures/documents/make-documents.ts";

const bytes = (...values: number[]) => new Uint8Array(values);
const text = (value: string) => new TextEncoder().encode(value);

describe("sniffType", () => {
  it("recognises binary formats by their magic bytes", async () => {
    // Prepare
    const samples = {
      pdf: await makeTextPdf(["Hello"]),
      png: renderTextPng(["Hi"]),
      jpeg: renderTextPng(["Hi"], "jpeg"),
      gif: text("GIF89a\u0001\u0000\u0001\u0000"),
      webp: bytes(0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38),
      tiff: bytes(0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0),
      docx: makeDocx([{ text: "Hello" }]),
    };

    // Act
    const sniffed = Object.fromEntries(Object.entries(samples).map(([name, sample]) => [name, sniffType(sample)]));

    // Assess
    expect(sniffed).toEqual({
      pdf: "pdf",
      png: "png",
      jpeg: "jpeg",
      gif: "gif",
      webp: "webp",
      tiff: "tiff",
      docx: "docx",
    });
  });

  it("ignores the filename for binary formats: a PNG named .pdf is a PNG", () => {
    // Prepare
    const png = renderTextPng(["Hi"]);

    // Act
    const type = sniffType(png, "lecture-notes.pdf");

    // Assess
    expect(type).toBe("png");
  });

  it("does not take any ZIP archive for a Word document", () => {
    // Prepare
    const zip = makeZip(docxEntries([{ text: "x" }]).filter((entry) => entry.name !== "word/document.xml"));

    // Act
    const type = sniffType(zip, "notes.docx");

    // Assess
    expect(type).toBe("unknown");
  });

  it("returns unknown for empty input and for binary data that is not valid UTF-8 text", () => {
    // Prepare
    const binary = bytes(0x00, 0x01, 0xfe, 0xff, 0x80, 0x81, 0x13, 0x37);

    // Act
    const types = [sniffType(new Uint8Array()), sniffType(binary), sniffType(bytes(0x41, 0x00, 0x42))];

    // Assess
    expect(types).toEqual(["unknown", "unknown", "unknown"]);
  });

  it("tells HTML, Markdown and plain text apart by content", () => {
    // Prepare
    const html = text("<!DOCTYPE html><html><body><p>Hi</p></body></html>");
    const markdown = text("# Notes\n\n- first point\n- second point\n");
    const plain = text("Just a sentence about osmosis. And another one.\n");

    // Act
    const types = [sniffType(html), sniffType(markdown), sniffType(plain)];

    // Assess
    expect(types).toEqual(["html", "markdown", "text"]);
  });

  it("uses the filename hint only to choose between text-like types", () => {
    // Prepare
    const plain = text("Osmosis is the movement of water across a membrane.\n");

    // Act
    const asMarkdown = sniffType(plain, "osmosis.md");
    const asHtmlWithoutTags = sniffType(plain, "osmosis.html");
    const utf8WithBom = sniffType(new Uint8Array([0xef, 0xbb, 0xbf, ...plain]), "osmosis.txt");

    // Assess
    expect([asMarkdown, asHtmlWithoutTags, utf8WithBom]).toEqual(["markdown", "text", "text"]);
  });
});
