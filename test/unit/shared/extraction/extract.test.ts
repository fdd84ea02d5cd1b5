import { readFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import {
  type ExtractedPage,
  ExtractionError,
  type ExtractionLimits,
  extractDocument,
  openDocument,
  shutdownOcr,
} from "#shared/extraction/extract.ts";
import {
  docxEntries,
  makeDocx,
  makeScannedPdf,
  makeTextPdf,
  makeZip,
  renderTextPng,
} from "#test/fixtures/documents/make-documents.ts";

const limits: ExtractionLimits = {
  maxBytes: 5_000_000,
  maxPages: 50,
  maxChars: 200_000,
  maxDocxUncompressedBytes: 1_000_000,
  ocrTimeoutMs: 15_000,
};

const fixture = (name: string) => readFile(new URL(`../../../fixtures/documents/${name}`, import.meta.url));

async function extractionError(promise: Promise<unknown>): Promise<ExtractionError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ExtractionError) return error;
    throw new Error(`expected an ExtractionError, got ${String(error)}`);
  }
  throw new Error("expected extraction to fail");
}

afterAll(async () => {
  await shutdownOcr();
});

describe("extractDocument: guards", () => {
  it("refuses an empty file", async () => {
    // Prepare
    const empty = new Uint8Array();

    // Act
    const error = await extractionError(extractDocument(empty, { limits }));

    // Assess
    expect(error.code).toBe("empty");
    expect(error.message).toBe("This file is empty.");
  });

  it("refuses a file over maxBytes before parsing it", async () => {
    // Prepare
    const big = new Uint8Array(2_000).fill(65);

    // Act
    const error = await extractionError(extractDocument(big, { limits: { ...limits, maxBytes: 1_000 } }));

    // Assess
    expect(error.code).toBe("too_large");
  });

  it("explains a binary file of unknown type renamed to .pdf", async () => {
    // Prepare
    const garbage = new Uint8Array([0x00, 0x13, 0x37, 0xfe, 0xff, 0x01, 0x02, 0x03]);

    // Act
    const error = await extractionError(extractDocument(garbage, { filenameHint: "notes.pdf", limits }));

    // Assess
    expect(error.code).toBe("unsupported_type");
    expect(error.message).toContain("named .pdf but its content is not a PDF document");
  });

  it("tells the student a ZIP archive is not a Word document", async () => {
    // Prepare
    const zip = makeZip([{ name: "notes.txt", data: "hello" }]);

    // Act
    const error = await extractionError(extractDocument(zip, { filenameHint: "notes.docx", limits }));

    // Assess
    expect(error.code).toBe("unsupported_type");
    expect(error.message).toContain("ZIP archive, not a Word document");
  });

  it("stops at once when the caller has already aborted", async () => {
    // Prepare
    const controller = new AbortController();
    controller.abort();

    // Act
    const error = await extractionError(
      extractDocument(new TextEncoder().encode("hello"), { limits, signal: controller.signal }),
    );

    // Assess
    expect(error.code).toBe("timeout");
  });
});

describe("extractDocument: PDF", () => {
  it("returns each page's text under its 1-based page number, and the title", async () => {
    // Prepare
    const pdf = await makeTextPdf(
      ["Osmosis moves water across membranes.", "Diffusion spreads solutes evenly.", "Active transport uses ATP."],
      "Membrane transport",
    );

    // Act
    const document = await extractDocument(pdf, { filenameHint: "transport.pdf", limits });

    // Assess
    expect(document.type).toBe("pdf");
    expect(document.title).toBe("Membrane transport");
    expect(document.pages.map((page) => page.page)).toEqual([1, 2, 3]);
    expect(document.pages.map((page) => page.text.trim())).toEqual([
      "Osmosis moves water across membranes.",
      "Diffusion spreads solutes evenly.",
      "Active transport uses ATP.",
    ]);
  });

  it("extracts text PDFs quickly", async () => {
    // Prepare
    const pages = Array.from({ length: 40 }, (_, i) =>
      Array.from(
        { length: 30 },
        (_, line) => `Page ${i + 1} line ${line + 1}: the Krebs cycle oxidises acetyl-CoA.`,
      ).join("\n"),
    );
    const pdf = await makeTextPdf(pages);

    // Act
    const started = performance.now();
    const document = await extractDocument(pdf, { limits });
    const seconds = (performance.now() - started) / 1000;

    // Assess
    console.info(`PDF extraction: ${Math.round(pages.length / seconds)} pages/s`);
    expect(document.pages).toHaveLength(40);
    expect(document.pages[39]?.text).toContain("Page 40 line 30");
    expect(seconds).toBeLessThan(5);
  });

  it("refuses a PDF with more pages than maxPages", async () => {
    // Prepare
    const pdf = await makeTextPdf(["one", "two", "three"]);

    // Act
    const error = await extractionError(extractDocument(pdf, { limits: { ...limits, maxPages: 2 } }));

    // Assess
    expect(error.code).toBe("too_many_pages");
    expect(error.message).toContain("3 pages; the limit is 2");
  });

  it("refuses a PDF with more text than maxChars", async () => {
    // Prepare
    const pdf = await makeTextPdf(["a".repeat(60), "b".repeat(60)]);

    // Act
    const error = await extractionError(extractDocument(pdf, { limits: { ...limits, maxChars: 100 } }));

    // Assess
    expect(error.code).toBe("too_much_text");
  });

  it("reports a damaged PDF as corrupt", async () => {
    // Prepare
    const corrupt = new TextEncoder().encode(`%PDF-1.7\n${"\u0001garbage ".repeat(50)}`);

    // Act
    const error = await extractionError(extractDocument(corrupt, { filenameHint: "notes.pdf", limits }));

    // Assess
    expect(error.code).toBe("corrupt");
    expect(error.message).toContain("could not be opened");
  });

  it("OCRs a scanned page that has no text layer", async () => {
    // Prepare
    const pdf = await makeScannedPdf(renderTextPng(["Glycolysis splits glucose", "into two pyruvate molecules"]));

    // Act
    const document = await extractDocument(pdf, { limits });

    // Assess
    expect(document.pages).toHaveLength(1);
    expect(document.pages[0]?.text).toContain("Glycolysis splits glucose");
    expect(document.pages[0]?.text).toContain("pyruvate molecules");
  });
});

describe("openDocument: pages on demand", () => {
  it("yields a PDF's pages one at a time, the same as extractDocument returns at once", async () => {
    // Prepare
    const pdf = await makeTextPdf([
      "Mitosis has four phases.",
      "Meiosis halves the chromosomes.",
      "Cytokinesis ends it.",
    ]);
    const whole = await extractDocument(pdf, { limits });

    // Act
    const document = await openDocument(pdf, { limits });
    const first = await document.pages[Symbol.asyncIterator]().next();
    const pages: ExtractedPage[] = first.done ? [] : [first.value];
    for await (const page of document.pages) pages.push(page);

    // Assess
    expect(document.type).toBe("pdf");
    expect(first.value).toEqual(whole.pages[0]);
    expect(pages).toEqual(whole.pages);
  });

  it("refuses too many pages when opening, before any page is read", async () => {
    // Prepare
    const pdf = await makeTextPdf(["one", "two", "three"]);

    // Act
    const error = await extractionError(openDocument(pdf, { limits: { ...limits, maxPages: 2 } }));

    // Assess
    expect(error.code).toBe("too_many_pages");
  });

  it("fails while iterating once the text passes maxChars, after the pages within it", async () => {
    // Prepare
    const pdf = await makeTextPdf(["a".repeat(60), "b".repeat(60)]);
    const document = await openDocument(pdf, { limits: { ...limits, maxChars: 100 } });
    const read: number[] = [];

    // Act
    const error = await extractionError(
      (async () => {
        for await (const page of document.pages) read.push(page.page);
      })(),
    );

    // Assess
    expect(read).toEqual([1]);
    expect(error.code).toBe("too_much_text");
  });

  it("reports a file without any text as empty at the end of its pages", async () => {
    // Prepare
    const blank = new TextEncoder().encode("   \n\n  ");
    const document = await openDocument(blank, { filenameHint: "notes.md", limits });

    // Act
    const error = await extractionError(
      (async () => {
        for await (const _page of document.pages);
      })(),
    );

    // Assess
    expect(error.code).toBe("empty");
  });

  it("takes over a Node Buffer handed to it, instead of copying it", async () => {
    // Prepare
    const pdf = await makeTextPdf(["Photosynthesis stores light as sugar."]);
    const buffer = Buffer.from(pdf);
    const owned = Buffer.from(new Uint8Array(buffer).buffer);

    // Act
    const document = await openDocument(owned, { limits, transferBytes: true });
    const pages: ExtractedPage[] = [];
    for await (const page of document.pages) pages.push(page);

    // Assess
    expect(pages[0]?.text.trim()).toBe("Photosynthesis stores light as sugar.");
    expect(owned.byteLength).toBe(0);
  });
});

describe("extractDocument: images", () => {
  it("reads the text of a PNG even when it was renamed to .pdf", async () => {
    // Prepare
    const png = renderTextPng(["Photosynthesis makes glucose", "from light and water."]);

    // Act
    const started = performance.now();
    const document = await extractDocument(png, { filenameHint: "biology.pdf", limits });
    console.info(`OCR of a two-line PNG: ${Math.round(performance.now() - started)} ms (incl. worker start if first)`);

    // Assess
    expect(document.type).toBe("png");
    expect(document.pages).toEqual([{ page: 1, text: "Photosynthesis makes glucose\nfrom light and water.\n" }]);
  });

  it("reads the text of a JPEG", async () => {
    // Prepare
    const jpeg = renderTextPng(["Newton's second law"], "jpeg");

    // Act
    const document = await extractDocument(jpeg, { limits });

    // Assess
    expect(document.type).toBe("jpeg");
    expect(document.pages[0]?.text).toContain("second law");
  });

  it("says a blank PNG renamed to .pdf has no text, and that it was renamed", async () => {
    // Prepare
    const blank = renderTextPng([]);

    // Act
    const error = await extractionError(extractDocument(blank, { filenameHint: "notes.pdf", limits }));

    // Assess
    expect(error.code).toBe("empty");
    expect(error.message).toBe(
      "This file looks like a PNG image renamed to .pdf. We found no readable text in this image.",
    );
  });

  it("refuses an image whose header declares a huge canvas, before OCR allocates it", async () => {
    // Prepare
    const bomb = renderTextPng(["tiny"]);
    const header = new DataView(bomb.buffer, bomb.byteOffset, bomb.byteLength);
    header.setUint32(16, 20_000);
    header.setUint32(20, 20_000);

    // Act
    const error = await extractionError(extractDocument(bomb, { limits }));

    // Assess
    expect(error.code).toBe("too_large");
    expect(error.message).toContain("20000×20000 pixels");
  });

  it("reports an image cut short as corrupt", async () => {
    // Prepare
    const truncated = renderTextPng(["Half an image"]).subarray(0, 60);

    // Act
    const error = await extractionError(extractDocument(truncated, { limits }));

    // Assess
    expect(error.code).toBe("corrupt");
  });

  it("times out when OCR exceeds its budget, and OCR still works afterwards", async () => {
    // Prepare
    const png = renderTextPng(["Mitosis has four phases"]);

    // Act
    const error = await extractionError(extractDocument(png, { limits: { ...limits, ocrTimeoutMs: 5 } }));
    const retried = await extractDocument(png, { limits });

    // Assess
    expect(error.code).toBe("timeout");
    expect(retried.pages[0]?.text).toContain("Mitosis has four phases");
  });
});

describe("extractDocument: DOCX", () => {
  it("keeps headings as Markdown headings and uses the first as title", async () => {
    // Prepare
    const docx = makeDocx([
      { text: "Genetics", heading: 1 },
      { text: "Genes are units of heredity." },
      { text: "Alleles", heading: 2 },
      { text: "An allele is a variant of a gene." },
    ]);

    // Act
    const document = await extractDocument(docx, { filenameHint: "genetics.docx", limits });

    // Assess
    expect(document.type).toBe("docx");
    expect(document.title).toBe("Genetics");
    expect(document.pages).toEqual([
      {
        page: 1,
        text: "# Genetics\n\nGenes are units of heredity.\n\n## Alleles\n\nAn allele is a variant of a gene.",
      },
    ]);
  });

  it("refuses a DOCX whose declared uncompressed size is over the limit, before inflating it", async () => {
    // Prepare
    const entries = docxEntries([{ text: "small" }]);
    const bomb = makeZip([...entries, { name: "word/media/bomb.bin", data: "x", declaredSize: 2_000_000_000 }]);

    // Act
    const error = await extractionError(extractDocument(bomb, { limits }));

    // Assess
    expect(error.code).toBe("too_large");
  });

  it("refuses a DOCX that inflates to more than it declares", async () => {
    // Prepare
    const entries = docxEntries([{ text: "small" }]);
    const liar = makeZip([
      ...entries,
      { name: "word/media/zeros.bin", data: new Uint8Array(5_000_000), declaredSize: 10 },
    ]);

    // Act
    const error = await extractionError(extractDocument(liar, { limits: { ...limits, maxBytes: 10_000_000 } }));

    // Assess
    expect(error.code).toBe("too_large");
  });

  it("reports a DOCX with broken XML as corrupt", async () => {
    // Prepare
    const entries = docxEntries([{ text: "x" }]).map((entry) =>
      entry.name === "word/document.xml" ? { ...entry, data: "<w:document><w:body><w:p>" } : entry,
    );

    // Act
    const error = await extractionError(extractDocument(makeZip(entries), { limits }));

    // Assess
    expect(error.code).toBe("corrupt");
    expect(error.message).toContain("Word document could not be opened");
  });
});

describe("extractDocument: text formats", () => {
  it("keeps the main content of a web page and drops navigation, scripts and footer", async () => {
    // Prepare
    const html = await fixture("french-revolution.html");

    // Act
    const document = await extractDocument(html, { filenameHint: "revolution.html", limits });

    // Assess
    const text = document.pages[0]?.text ?? "";
    expect(document.type).toBe("html");
    expect(document.title).toContain("French Revolution");
    expect(text).toContain("## The storming of the Bastille");
    expect(text).toContain("Committee of Public Safety");
    expect(text).not.toContain("analytics");
    expect(text).not.toContain("Cookie settings");
  });

  it("returns Markdown verbatim with its first heading as title", async () => {
    // Prepare
    const markdown = await fixture("cell-biology.md");

    // Act
    const document = await extractDocument(markdown, { limits });

    // Assess
    expect(document).toEqual({
      type: "markdown",
      title: "Cell biology",
      pages: [{ page: 1, text: markdown.toString("utf8") }],
    });
  });

  it("normalises Windows line endings in plain text and enforces maxChars", async () => {
    // Prepare
    const plain = new TextEncoder().encode("First line.\r\nSecond line.\r\n");

    // Act
    const document = await extractDocument(plain, { filenameHint: "notes.txt", limits });
    const error = await extractionError(extractDocument(plain, { limits: { ...limits, maxChars: 10 } }));

    // Assess
    expect(document.pages).toEqual([{ page: 1, text: "First line.\nSecond line.\n" }]);
    expect(error.code).toBe("too_much_text");
  });

  it("reads UTF-16 text saved with a byte-order mark", async () => {
    // Prepare
    const utf16 = new Uint8Array([0xff, 0xfe, ...Buffer.from("Énergie cinétique", "utf16le")]);

    // Act
    const document = await extractDocument(utf16, { filenameHint: "notes.txt", limits });

    // Assess
    expect(document).toEqual({ type: "text", pages: [{ page: 1, text: "Énergie cinétique" }] });
  });

  it("refuses a text file with nothing but whitespace as empty", async () => {
    // Prepare
    const blank = new TextEncoder().encode("  \n\n\t ");

    // Act
    const error = await extractionError(extractDocument(blank, { limits }));

    // Assess
    expect(error.code).toBe("empty");
  });
});
