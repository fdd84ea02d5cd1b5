// Document ingestion through the local runtime as the frontend and backend drive it: inline text,
// multipart files of every supported type, presigned uploads, failures, deletion and replacement.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDocx, makeTextPdf, renderTextPng } from "#test/fixtures/documents/make-documents.ts";
import {
  blobKeys,
  type DocumentsClient,
  documentsClient,
  normaliseText,
  visibleHtmlText,
  waitFor,
} from "#test/support/documents.ts";
import { startTestEngine, type TestEngine } from "#test/support/engine.ts";

const FIXTURES = new URL("../fixtures/documents/", import.meta.url);

let engine: TestEngine;
let alice: DocumentsClient;

beforeAll(async () => {
  engine = await startTestEngine();
  alice = documentsClient(engine.url, await engine.token("alice"));
});

afterAll(async () => {
  await engine.cleanup();
});

async function createSession(client: DocumentsClient, title: string): Promise<string> {
  const response = await client.send("POST", "/ai/sessions", { title });
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: string }).id;
}

describe("inline text upload (the backend's path)", () => {
  it("accepts text, completes the task with chunks and keeps the metadata but never a body user_id", async () => {
    // Prepare
    const session = await createSession(alice, "Inline upload");
    const body = {
      content:
        "Osmosis is the movement of water across a semi-permeable membrane toward the higher solute concentration.",
      filename: "osmosis-notes.txt",
      metadata: {
        session_id: session,
        source_id: "src-inline-osmosis",
        notebook_id: "nb-biology",
        source_type: "text",
        user_id: "mallory",
      },
    };

    // Act
    const response = await alice.send("POST", "/ai/upload", body);
    const accepted = (await response.json()) as Record<string, string>;
    const taskId = String(accepted.task_id);
    const completed = await waitFor(async () => {
      const status = (await (await alice.get(`/ai/upload/status/${taskId}`)).json()) as Record<string, unknown>;
      return status.status === "processing" ? undefined : status;
    }, "the upload task to finish");
    const stored = await alice.get(`/ai/documents/${taskId}`);
    const storedText = await stored.text();

    // Assess
    expect(response.status).toBe(200);
    expect(accepted).toMatchObject({ status: "processing", filename: "osmosis-notes.txt", user_id: "alice" });
    expect(taskId).toMatch(/^[0-9a-f]{24}$/);
    expect(completed).toMatchObject({ task_id: taskId, status: "completed", error: null });
    expect(completed.chunks).toBeGreaterThanOrEqual(1);
    expect(Date.parse(String(completed.completed_at))).not.toBeNaN();
    expect(stored.status).toBe(200);
    expect(JSON.parse(storedText)).toMatchObject({
      document_id: taskId,
      source_id: "src-inline-osmosis",
      session_id: session,
      notebook_id: "nb-biology",
      source_type: "text",
      status: "ready",
    });
    expect(storedText).not.toContain("mallory");
  });
});

describe("every supported type reaches ready and answers questions with verbatim citations", () => {
  const pdfPages = [
    "Plate tectonics\nThe lithosphere is broken into rigid plates that drift slowly over the mantle.",
    "Volcanoes\nBasaltic magma rises at mid-ocean ridges, where two plates pull apart and fresh oceanic crust forms.",
    "Earthquakes\nSeismic waves are released when stress that built up along a fault is suddenly relieved.",
  ];
  const docxParagraphs = [
    { text: "Photosynthesis", heading: 1 },
    { text: "Chlorophyll in the thylakoid membranes absorbs red and blue light to split water molecules." },
    { text: "The Calvin cycle in the stroma fixes carbon dioxide into three-carbon sugars." },
  ];
  const pngLines = ["Bernoulli: faster moving air", "has lower pressure, which lifts", "an aircraft wing upward."];

  it("a three-page text PDF, citing the page that holds the answer", async () => {
    // Prepare
    const pdf = await makeTextPdf(pdfPages, "Geology");
    const uploaded = await alice.uploadFile("geology.pdf", pdf, { source_id: "src-geology" }, "application/pdf");

    // Act
    const ready = await alice.settled(uploaded.document_id);
    const answer = await alice.ask({
      question: "Where is new ocean crust created as plates separate?",
      source_ids: ["src-geology"],
    });

    // Assess
    expect(ready).toMatchObject({ status: "ready", detected_type: "pdf", pages: 3, error: null });
    const top = answer.citations[0];
    expect(top?.source_id).toBe("src-geology");
    expect(top?.page).toBe(2);
    expect(normaliseText(pdfPages[1] ?? "")).toContain(normaliseText(top?.quote ?? "<none>"));
    expect(top?.quote).toContain("oceanic crust");
    expect(answer.sources[0]?.metadata).toMatchObject({ source_id: "src-geology", page: 2 });
  });

  it("a DOCX", async () => {
    // Prepare
    const docx = makeDocx(docxParagraphs);
    const uploaded = await alice.uploadFile("photosynthesis.docx", docx, { source_id: "src-docx" });

    // Act
    const ready = await alice.settled(uploaded.document_id);
    const answer = await alice.ask({
      question: "Which part of the chloroplast fixes CO2 carbon into sugars?",
      source_ids: ["src-docx"],
    });

    // Assess
    expect(ready).toMatchObject({ status: "ready", detected_type: "docx" });
    const top = answer.citations[0];
    expect(top?.source_id).toBe("src-docx");
    expect(top?.quote).toContain("Calvin cycle");
    expect(normaliseText(docxParagraphs.map((paragraph) => paragraph.text).join("\n"))).toContain(
      normaliseText(top?.quote ?? "<none>"),
    );
  });

  it("a Markdown file", async () => {
    // Prepare
    const markdown = await readFile(new URL("cell-biology.md", FIXTURES));
    const uploaded = await alice.uploadFile("cell-biology.md", new Uint8Array(markdown), { source_id: "src-md" });

    // Act
    const ready = await alice.settled(uploaded.document_id);
    const answer = await alice.ask({
      question: "Which organelle turns messenger RNA into protein?",
      source_ids: ["src-md"],
    });

    // Assess
    expect(ready).toMatchObject({ status: "ready", detected_type: "markdown" });
    const top = answer.citations[0];
    expect(top?.source_id).toBe("src-md");
    expect(top?.quote).toContain("Ribosomes translate messenger RNA");
    // Markdown is stored as written, so the quote is an exact slice of the file.
    expect(markdown.toString("utf8")).toContain(top?.quote ?? "<none>");
  });

  it("an HTML page, without navigation, scripts or footer", async () => {
    // Prepare
    const html = await readFile(new URL("french-revolution.html", FIXTURES));
    const uploaded = await alice.uploadFile("french-revolution.html", new Uint8Array(html), { source_id: "src-html" });

    // Act
    const ready = await alice.settled(uploaded.document_id);
    const answer = await alice.ask({
      question: "Who was the leader of the Committee of Public Safety during the Terror?",
      source_ids: ["src-html"],
    });

    // Assess
    expect(ready).toMatchObject({ status: "ready", detected_type: "html" });
    const top = answer.citations[0];
    expect(top?.source_id).toBe("src-html");
    expect(top?.quote).toContain("Robespierre");
    expect(visibleHtmlText(html.toString("utf8"))).toContain(normaliseText(top?.quote ?? "<none>"));
    const everything = answer.citations.map((citation) => citation.quote).join("\n");
    expect(everything).not.toMatch(/should never be indexed|Cookie settings|Log in/);
  });

  it("a PNG photo of text, read by OCR", async () => {
    // Prepare
    const png = renderTextPng(pngLines);
    const uploaded = await alice.uploadFile("whiteboard.png", png, { source_id: "src-png" }, "image/png");

    // Act
    const ready = await alice.settled(uploaded.document_id);
    const answer = await alice.ask({ question: "Why does faster air lift a wing?", source_ids: ["src-png"] });

    // Assess
    expect(ready).toMatchObject({ status: "ready", detected_type: "png", pages: 1 });
    const top = answer.citations[0];
    expect(top?.source_id).toBe("src-png");
    expect(top?.quote).toMatch(/lower pressure/);
    expect(normaliseText(pngLines.join("\n"))).toContain(normaliseText(top?.quote ?? "<none>"));
  });
});

describe("presigned uploads through the local /local-uploads endpoint", () => {
  const markdown =
    "# Tides\n\nThe Moon's gravity pulls the oceans into two bulges, which causes two high tides each day.\n";
  const bytes = new TextEncoder().encode(markdown);

  async function presign(body: Record<string, unknown>) {
    const response = await alice.send("POST", "/ai/documents", body);
    return { response, body: (await response.json()) as Record<string, unknown> };
  }

  function formFor(upload: { url: string; fields: Record<string, string> }, file: Uint8Array, type: string) {
    // The runtime advertises its public base URL; the test engine listens on an ephemeral port.
    const target = `${engine.url}${new URL(upload.url).pathname}`;
    return () => {
      const form = new FormData();
      for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
      form.append("file", new Blob([file], { type }), "tides.md");
      return fetch(target, { method: "POST", body: form });
    };
  }

  it("accepts the form once, then ingests the document; a replayed form is refused with 409", async () => {
    // Prepare
    const { response, body } = await presign({
      filename: "tides.md",
      content_type: "text/markdown",
      size: bytes.length,
    });
    const upload = body.upload as { url: string; fields: Record<string, string> };
    const post = formFor(upload, bytes, "text/markdown");

    // Act
    const first = await post();
    const ready = await alice.settled(String(body.document_id));
    const replay = await post();

    // Assess
    expect(response.status).toBe(200);
    expect(body.document_id).toMatch(/^[0-9a-f]{24}$/);
    expect(new URL(upload.url).pathname).toBe("/local-uploads");
    expect(upload.fields).toMatchObject({ "Content-Type": "text/markdown" });
    expect(first.status).toBe(204);
    expect(ready).toMatchObject({ status: "ready", filename: "tides.md", detected_type: "markdown" });
    expect(replay.status).toBe(409);
    const answer = await alice.ask({ question: "What causes two high tides a day?", source_ids: [ready.source_id] });
    expect(answer.citations[0]?.quote).toContain("two high tides");
  });

  it("refuses a tampered key with 403 and a file larger than the declared size with 400", async () => {
    // Prepare
    const tamperedGrant = await presign({ filename: "tides.md", content_type: "text/markdown", size: bytes.length });
    const smallGrant = await presign({ filename: "tides.md", content_type: "text/markdown", size: 10 });
    const tampered = tamperedGrant.body.upload as { url: string; fields: Record<string, string> };
    const otherDocument = "0123456789abcdef01234567";

    // Act
    const forged = await formFor(
      { ...tampered, fields: { ...tampered.fields, key: `uploads/bob/${otherDocument}/original` } },
      bytes,
      "text/markdown",
    )();
    const tooBig = await formFor(
      smallGrant.body.upload as { url: string; fields: Record<string, string> },
      bytes,
      "text/markdown",
    )();

    // Assess
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { detail: string }).detail).toMatch(/key/i);
    expect(await blobKeys(engine.dataDir, "uploads/bob/")).toEqual([]);
    expect(tooBig.status).toBe(400);
    expect(((await tooBig.json()) as { detail: string }).detail).toMatch(/between 1 and 10 bytes/);
    expect((await alice.getDocument(String(smallGrant.body.document_id))).status).toBe("pending");
  });

  it("refuses a disallowed content type with 400 and a size over the limit with 413 at presign time", async () => {
    // Act
    const badType = await presign({ filename: "tool.exe", content_type: "application/x-msdownload", size: 100 });
    const tooLarge = await presign({ filename: "huge.pdf", content_type: "application/pdf", size: 26 * 1024 * 1024 });

    // Assess
    expect(badType.response.status).toBe(400);
    expect(String(badType.body.detail)).toMatch(/Unsupported content type/);
    expect(tooLarge.response.status).toBe(413);
    expect(String(tooLarge.body.detail)).toMatch(/limit/);
  });
});

describe("failures end failed with a readable error", () => {
  it("a PNG without text renamed .pdf", async () => {
    // Prepare
    const blank = renderTextPng([]);
    const uploaded = await alice.uploadFile("scan.pdf", blank, {}, "application/pdf");

    // Act
    const settled = await alice.settled(uploaded.document_id);

    // Assess
    expect(settled.status).toBe("failed");
    expect(settled.error).toMatch(/PNG image renamed to \.pdf/);
    expect(settled.error).toMatch(/no readable text/i);
  });

  it("a truncated PDF", async () => {
    // Prepare
    const whole = await makeTextPdf(["A page that will be cut off before its content stream ends."]);
    const truncated = whole.slice(0, Math.floor(whole.length / 2));
    expect(new TextDecoder().decode(truncated.slice(0, 5))).toBe("%PDF-");
    const uploaded = await alice.uploadFile("broken.pdf", truncated, {}, "application/pdf");

    // Act
    const settled = await alice.settled(uploaded.document_id);

    // Assess
    expect(settled.status).toBe("failed");
    expect(settled.error).toMatch(/PDF could not be opened; it may be damaged or incomplete/);
  });

  it("random bytes of no supported type", async () => {
    // Prepare
    const binary = new Uint8Array(randomBytes(2048));
    binary[0] = 0x00;
    const uploaded = await alice.uploadFile("data.bin", binary);

    // Act
    const settled = await alice.settled(uploaded.document_id);

    // Assess
    expect(settled.status).toBe("failed");
    expect(settled.error).toMatch(/can't read this kind of file/);
  });

  it("an empty file is refused at upload with 400", async () => {
    // Act
    const response = await alice.postFile("/ai/documents/file", { name: "empty.txt", bytes: new Uint8Array(0) });
    const inline = await alice.send("POST", "/ai/upload", { content: "", filename: "empty.txt" });

    // Assess
    expect(response.status).toBe(400);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/empty/i);
    expect(inline.status).toBe(422);
  });

  describe("with small limits", () => {
    let small: TestEngine;
    let carol: DocumentsClient;

    beforeAll(async () => {
      small = await startTestEngine({ MAX_UPLOAD_BYTES: "4096", MAX_MULTIPART_BYTES: "4096", MAX_DOCUMENT_PAGES: "1" });
      carol = documentsClient(small.url, await small.token("carol"));
    });

    afterAll(async () => {
      await small.cleanup();
    });

    it("refuses a file over the upload limit with 413 and stores nothing", async () => {
      // Prepare
      const text = new TextEncoder().encode("Large notes. ".repeat(400));

      // Act
      const multipart = await carol.postFile("/ai/documents/file", { name: "big.txt", bytes: text });
      const inline = await carol.send("POST", "/ai/upload", { content: "x".repeat(5000), filename: "big.txt" });

      // Assess
      expect(text.byteLength).toBeGreaterThan(4096);
      expect(multipart.status).toBe(413);
      expect(inline.status).toBe(413);
      expect((await carol.listDocuments()).total).toBe(0);
    });

    it("fails a PDF over the page limit with the reason", async () => {
      // Prepare
      const pdf = await makeTextPdf(["First page of the handout.", "Second page of the handout."]);
      expect(pdf.byteLength).toBeLessThan(4096);
      const uploaded = await carol.uploadFile("handout.pdf", pdf);

      // Act
      const settled = await carol.settled(uploaded.document_id);

      // Assess
      expect(settled.status).toBe("failed");
      expect(settled.error).toMatch(/2 pages; the limit is 1/);
    });
  });
});

describe("deletion", () => {
  it("DELETE /ai/documents/{id} removes the record, its upload blobs and its shard files", async () => {
    // Prepare
    const uploaded = await alice.uploadFile("delete-me.md", new TextEncoder().encode("# Delete\n\nTemporary notes."), {
      source_id: "src-delete-one",
    });
    await alice.settled(uploaded.document_id);
    const uploadPrefix = `uploads/alice/${uploaded.document_id}/`;
    const indexPrefix = "indexes/alice/src-delete-one/";
    const before = [
      ...(await blobKeys(engine.dataDir, uploadPrefix)),
      ...(await blobKeys(engine.dataDir, indexPrefix)),
    ];

    // Act
    const deleted = await alice.delete(`/ai/documents/${uploaded.document_id}`);
    const after = await alice.get(`/ai/documents/${uploaded.document_id}`);
    const again = await alice.delete(`/ai/documents/${uploaded.document_id}`);

    // Assess
    expect(before).toEqual(
      expect.arrayContaining([
        `${uploadPrefix}original`,
        `${indexPrefix}${uploaded.document_id}/v1/chunks.json`,
        `${indexPrefix}${uploaded.document_id}/v1/index.faiss`,
      ]),
    );
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toMatchObject({ success: true, deleted_count: 1 });
    expect(after.status).toBe(404);
    expect(again.status).toBe(404);
    expect(await blobKeys(engine.dataDir, uploadPrefix)).toEqual([]);
    expect(await blobKeys(engine.dataDir, indexPrefix)).toEqual([]);
  });

  it("deletes by source and by session with {success, deleted_count}", async () => {
    // Prepare
    const session = await createSession(alice, "Bulk delete");
    const bySource = await alice.uploadFile("a.txt", new TextEncoder().encode("Notes about the source route."), {
      source_id: "src-bulk-a",
    });
    const inSession = await Promise.all(
      ["src-bulk-b", "src-bulk-c"].map((source) =>
        alice.uploadFile(`${source}.txt`, new TextEncoder().encode(`Notes of ${source}.`), {
          source_id: source,
          session_id: session,
        }),
      ),
    );
    for (const document of [bySource, ...inSession]) await alice.settled(document.document_id);

    // Act
    const source = await alice.delete("/ai/documents/source/src-bulk-a");
    const sessionDocs = await alice.delete(`/ai/documents/session/${session}`);
    const remaining = await alice.listDocuments(`?session_id=${session}`);

    // Assess
    expect(await source.json()).toMatchObject({ success: true, deleted_count: 1, source_id: "src-bulk-a" });
    expect(await sessionDocs.json()).toMatchObject({ success: true, deleted_count: 2, session_id: session });
    expect(remaining.total).toBe(0);
    expect((await alice.get(`/ai/documents/${bySource.document_id}`)).status).toBe(404);
    for (const prefix of ["indexes/alice/src-bulk-a/", "indexes/alice/src-bulk-b/", "indexes/alice/src-bulk-c/"]) {
      expect(await blobKeys(engine.dataDir, prefix)).toEqual([]);
    }
  });

  it("deleting a session also deletes its session-scoped documents and their blobs", async () => {
    // Prepare
    const session = await createSession(alice, "Goes away");
    const scoped = await alice.uploadFile("scoped.md", new TextEncoder().encode("# Scoped\n\nSession-only notes."), {
      source_id: "src-session-scoped",
      session_id: session,
    });
    const unscoped = await alice.uploadFile("kept.md", new TextEncoder().encode("# Kept\n\nNotes of no session."), {
      source_id: "src-kept",
    });
    await alice.settled(scoped.document_id);
    await alice.settled(unscoped.document_id);

    // Act
    const deleted = await alice.delete(`/ai/sessions/${session}`);

    // Assess
    expect(deleted.status).toBe(200);
    expect((await alice.get(`/ai/documents/${scoped.document_id}`)).status).toBe(404);
    expect(await blobKeys(engine.dataDir, `uploads/alice/${scoped.document_id}/`)).toEqual([]);
    expect(await blobKeys(engine.dataDir, "indexes/alice/src-session-scoped/")).toEqual([]);
    expect((await alice.getDocument(unscoped.document_id)).status).toBe("ready");
  });
});

describe("re-uploading a source", () => {
  it("replaces the earlier document, and answers cite only the new content", async () => {
    // Prepare
    const first = await alice.uploadFile(
      "capital.txt",
      new TextEncoder().encode("The committee chose Melbourne as the temporary meeting city for the summit."),
      { source_id: "src-replaced" },
    );
    await alice.settled(first.document_id);

    // Act
    const second = await alice.uploadFile(
      "capital.txt",
      new TextEncoder().encode("The committee chose Canberra as the permanent meeting city for the summit."),
      { source_id: "src-replaced" },
    );
    const ready = await alice.settled(second.document_id);
    const listed = await alice.listDocuments("?source_id=src-replaced");
    const answer = await alice.ask({ question: "Which meeting city did the committee choose?", top_k: 10 });

    // Assess
    expect(ready.status).toBe("ready");
    expect(listed.documents.map((document) => document.document_id)).toEqual([second.document_id]);
    expect((await alice.get(`/ai/documents/${first.document_id}`)).status).toBe(404);
    const fromSource = answer.citations.filter((citation) => citation.source_id === "src-replaced");
    expect(fromSource.length).toBeGreaterThan(0);
    expect(fromSource.every((citation) => citation.quote.includes("Canberra"))).toBe(true);
    expect(JSON.stringify(answer)).not.toContain("Melbourne");
  });
});
