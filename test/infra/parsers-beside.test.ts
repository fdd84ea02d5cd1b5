// The deployed layout of a function that parses documents: the extraction code bundled with the
// CDK's esbuild settings, the parsers left out of it and installed in node_modules beside it (here
// linked from the project's), as NodejsFunction does. Every document type is read through that
// bundle in a plain `node` process, so a parser that is not found beside the bundle, or that breaks
// once bundled, fails here.
import { execFile } from "node:child_process";
import { copyFile, cp, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { build, type Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExtractedDocument, ExtractionLimits } from "#shared/extraction/extract.ts";
import { makeDocx, makeScannedPdf, makeTextPdf, renderTextPng } from "#test/fixtures/documents/make-documents.ts";
import { cdkEsbuildOptions } from "../../bench/cold-start/bundle-options.ts";
import { DOCUMENT_PARSER_NODE_MODULES, OCR_UNUSED_FILES } from "../../infra/lib/constructs/document-parsers.ts";
import { repoRoot } from "./support.ts";

const limits: ExtractionLimits = {
  maxBytes: 5_000_000,
  maxPages: 20,
  maxChars: 200_000,
  maxDocxUncompressedBytes: 1_000_000,
  ocrTimeoutMs: 30_000,
};
/** This machine's canvas binary (NodejsFunction unpacks the Lambda's). */
const CANVAS_BINARY = `@napi-rs/canvas-${process.platform}-${process.arch}${process.platform === "linux" ? "-gnu" : ""}`;

/** Reads each file named on the command line through the bundle beside it; prints the documents as JSON. */
const READER = `
import { readFile } from "node:fs/promises";
const { extractDocument, shutdownOcr } = await import(new URL("./index.mjs", import.meta.url).href);
const limits = JSON.parse(process.env.LIMITS);
const documents = {};
for (const file of process.argv.slice(2)) {
  try {
    documents[file] = await extractDocument(new Uint8Array(await readFile(file)), { limits, filenameHint: file });
  } catch (error) {
    documents[file] = { error: String(error) };
  }
}
await shutdownOcr();
process.stdout.write(JSON.stringify(documents));
`;

let work: string;
let metafile: Metafile;

/** Writes the files into `dir` and reads them with the bundle there, in a fresh node process. */
async function readWithBundle(
  dir: string,
  files: Record<string, Uint8Array>,
): Promise<Record<string, ExtractedDocument & { error?: string }>> {
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes);
  const { stdout } = await promisify(execFile)(process.execPath, ["reader.mjs", ...Object.keys(files)], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", LIMITS: JSON.stringify(limits) },
    timeout: 90_000,
  });
  return JSON.parse(stdout);
}

beforeAll(async () => {
  // Prepare: the bundle, and the parsers installed beside it
  work = await mkdtemp(join(tmpdir(), "collabry-parsers-beside-"));
  const result = await build(
    cdkEsbuildOptions(repoRoot, "shared/extraction/extract.ts", join(work, "index.mjs"), DOCUMENT_PARSER_NODE_MODULES),
  );
  metafile = result.metafile as Metafile;
  await writeFile(join(work, "reader.mjs"), READER);
  for (const name of [...DOCUMENT_PARSER_NODE_MODULES, CANVAS_BINARY]) {
    const source = join(repoRoot, "node_modules", name);
    const target = join(work, "node_modules", name);
    await mkdir(dirname(target), { recursive: true });
    // OCR's packages as deployed, without the files the CDK removes after the install.
    const removed = OCR_UNUSED_FILES.filter((file) => file.startsWith(`${name}/`)).map((file) =>
      join(repoRoot, "node_modules", file),
    );
    if (removed.length > 0) await cp(source, target, { recursive: true, filter: (path) => !removed.includes(path) });
    else await symlink(source, target);
  }
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("document parsers installed beside the bundle", () => {
  it("are not in the bundle", () => {
    // Act
    const bundled = Object.keys(metafile.inputs).filter((input) =>
      DOCUMENT_PARSER_NODE_MODULES.some((name) => input.includes(`node_modules/${name}/`)),
    );

    // Assess
    expect(bundled).toEqual([]);
  });

  it("read a text PDF, a DOCX, a web page and a scanned PDF (canvas + OCR) through the bundle", async () => {
    // Prepare
    const html =
      "<html><head><title>Osmosis</title></head><body><nav>Home | Courses</nav>" +
      "<article><h1>Osmosis</h1><p>Water moves across a membrane towards the higher solute concentration.</p>" +
      "<p>Cells swell in a hypotonic solution and shrink in a hypertonic one.</p></article></body></html>";
    const files = {
      "cells.pdf": await makeTextPdf(["Mitochondria make ATP.", "Ribosomes make proteins."], "Cell biology"),
      "notes.docx": makeDocx([
        { text: "Photosynthesis", heading: 1 },
        { text: "Chlorophyll absorbs red and blue light." },
      ]),
      "osmosis.html": new TextEncoder().encode(html),
      "scan.pdf": await makeScannedPdf(renderTextPng(["The Calvin cycle fixes carbon"])),
    };

    // Act
    const documents = await readWithBundle(work, files);

    // Assess
    const pdf = documents["cells.pdf"];
    expect(pdf?.error).toBeUndefined();
    expect(pdf?.title).toBe("Cell biology");
    expect(pdf?.pages.map((page) => page.text.trim())).toEqual(["Mitochondria make ATP.", "Ribosomes make proteins."]);
    expect(documents["notes.docx"]?.title).toBe("Photosynthesis");
    expect(documents["notes.docx"]?.pages[0]?.text).toContain("Chlorophyll absorbs red and blue light.");
    expect(documents["osmosis.html"]?.pages[0]?.text).toContain("Water moves across a membrane");
    expect(documents["osmosis.html"]?.pages[0]?.text).not.toContain("Home | Courses");
    expect(documents["scan.pdf"]?.error).toBeUndefined();
    expect(documents["scan.pdf"]?.pages[0]?.text).toMatch(/Calvin cycle fixes carbon/);
  }, 120_000);
});

describe("the same bundle without its parsers", () => {
  it("loads and reads text formats: the parsers are imported when a document needs them", async () => {
    // Prepare: a folder of its own (node_modules are looked up in every parent folder)
    const bare = await mkdtemp(join(tmpdir(), "collabry-parsers-absent-"));
    await copyFile(join(work, "index.mjs"), join(bare, "index.mjs"));
    await writeFile(join(bare, "reader.mjs"), READER);

    // Act
    const documents = await readWithBundle(bare, {
      "notes.md": new TextEncoder().encode("# Notes\n\nPlain Markdown."),
      "cells.pdf": await makeTextPdf(["Mitochondria make ATP."]),
    });

    // Assess: Markdown needs no parser; the PDF fails for want of unpdf, a server fault (500), not
    // "your file is damaged".
    expect(documents["notes.md"]?.pages[0]?.text).toContain("Plain Markdown.");
    expect(documents["cells.pdf"]?.error).toMatch(/Cannot find package 'unpdf'/);
    await rm(bare, { recursive: true, force: true });
  }, 60_000);
});
