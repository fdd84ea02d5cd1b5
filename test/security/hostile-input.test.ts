// Hostile input on the public surface: oversized, deeply nested, mistyped and malformed bodies,
// wrong content types, hostile files (renamed images, zip bombs, traversal and NUL filenames) and
// SSRF targets. Every answer is a 4xx with a JSON `detail` — never a 500 — and no error body carries
// a stack trace, a source path, an exception class name or the JWT secret.
import { existsSync, promises as fs } from "node:fs";
import { basename, join, relative, resolve, sep } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docxEntries, makeZip, renderTextPng } from "#test/fixtures/documents/make-documents.ts";
import { type DocumentsClient, documentsClient } from "#test/support/documents.ts";
import { startTestEngine, TEST_SECRET, type TestEngine } from "#test/support/engine.ts";
import { leaksIn, type RawResponse, rawRequest } from "#test/support/security.ts";

const ORIGIN = "http://localhost:3000";
const MAX_BODY_BYTES = 65_536;
const MAX_UPLOAD_BYTES = 131_072;
const MAX_MULTIPART_BYTES = 65_536;
const MAX_DOCX_BYTES = 1_048_576;

let engine: TestEngine;
let alice: DocumentsClient;
let token: string;

beforeAll(async () => {
  engine = await startTestEngine({
    MAX_BODY_BYTES: String(MAX_BODY_BYTES),
    MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
    MAX_MULTIPART_BYTES: String(MAX_MULTIPART_BYTES),
    MAX_DOCX_UNCOMPRESSED_BYTES: String(MAX_DOCX_BYTES),
  });
  token = await engine.token("alice");
  alice = documentsClient(engine.url, token);
});

afterAll(async () => {
  await engine.cleanup();
});

/** A 4xx JSON error the clients can read, with nothing of the server's internals in it. */
async function expectCleanError(response: Response | RawResponse, status: number | number[]): Promise<unknown> {
  const text = response instanceof Response ? await response.text() : response.text;
  const contentType =
    response instanceof Response ? response.headers.get("content-type") : String(response.headers["content-type"]);
  const statuses = Array.isArray(status) ? status : [status];
  expect(statuses, text.slice(0, 300)).toContain(response.status);
  expect(contentType).toContain("application/json");
  const body = JSON.parse(text) as { detail: unknown };
  expect(body.detail).toBeDefined();
  expect(leaksIn(text, [TEST_SECRET, token])).toEqual([]);
  return body.detail;
}

function rawJson(path: string, body: string): Promise<RawResponse> {
  return rawRequest(
    engine.url,
    "POST",
    path,
    { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Origin: ORIGIN },
    body,
  );
}

function rawMultipart(path: string, filename: string, bytes: Uint8Array, fields: Record<string, string> = {}) {
  const boundary = "----collabry-security-boundary";
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
        "Content-Type: application/octet-stream\r\n\r\n",
    ),
    Buffer.from(bytes),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return rawRequest(
    engine.url,
    "POST",
    path,
    { Authorization: `Bearer ${token}`, "Content-Type": `multipart/form-data; boundary=${boundary}`, Origin: ORIGIN },
    new Uint8Array(Buffer.concat(parts)),
  );
}

function multipart(path: string, form: FormData): Promise<Response> {
  return fetch(`${engine.url}${path}`, { method: "POST", headers: { Authorization: `Bearer ${token}` }, body: form });
}

describe("oversized bodies", () => {
  it("answer 413 on JSON routes, inline uploads, file uploads and question files, with CORS headers", async () => {
    // Prepare
    const chat = JSON.stringify({ message: "x".repeat(MAX_BODY_BYTES + 10) });
    const upload = JSON.stringify({ content: "x".repeat(MAX_UPLOAD_BYTES * 2 + 10), filename: "big.txt" });

    // Act
    const responses = [
      await rawJson("/ai/chat", chat),
      await rawJson("/ai/upload", upload),
      await rawMultipart("/ai/documents/file", "big.txt", new Uint8Array(MAX_MULTIPART_BYTES + 1024).fill(0x61)),
      await rawMultipart("/ai/qa/file", "big.txt", new Uint8Array(11 * 1024 * 1024).fill(0x61), { question: "Why?" }),
    ];

    // Assess
    for (const response of responses) {
      await expectCleanError(response, 413);
      expect(response.headers["access-control-allow-origin"]).toBe(ORIGIN);
    }
    expect((await alice.listDocuments()).total).toBe(0);
  });
});

describe("deeply nested and mistyped JSON", () => {
  it("answers 422 (never 500) for nesting tens of thousands of levels deep", async () => {
    // Prepare
    const depth = 30_000;
    const arrays = `{"message": ${"[".repeat(depth)}${"]".repeat(depth)}}`;
    const objects = `{"question": "Why?", "context": ${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}`;
    const tree = `${'{"label":"n","children":['.repeat(1_500)}{"label":"leaf"}${"]}".repeat(1_500)}`;

    // Act
    const responses = [
      await alice.send("POST", "/ai/chat", arrays),
      await alice.send("POST", "/ai/qa", objects),
      await alice.send("POST", "/ai/mindmap/render?format=both", tree),
      await alice.send("POST", "/ai/sessions", `{"title": ${"[".repeat(depth)}${"]".repeat(depth)}}`),
    ];

    // Assess
    for (const response of responses) {
      const detail = await expectCleanError(response, 422);
      expect(Array.isArray(detail)).toBe(true);
    }
  });

  it.each([
    ["/ai/chat", { message: 42 }],
    ["/ai/chat", { message: ["hello"], session_id: { $ne: null } }],
    ["/ai/sessions", { title: { $gt: "" } }],
    ["/ai/qa", { question: "Why?", top_k: "ten", source_ids: "src-1" }],
    ["/ai/qa", { question: "Why?", use_rag: "yes please" }],
    ["/ai/summarize", { text: 1234567890123, style: "poem" }],
    ["/ai/qa/generate", { text: "A long enough text about cells.", num_questions: 1e9 }],
    ["/ai/mindmap", { topic: "Cells", depth: -1 }],
    ["/ai/flashcards", { text: "Cells divide.", count: "many" }],
    ["/ai/generate-study-plan", { subject: "Biology", topics: "cells", startDate: "soon", endDate: 5 }],
    ["/ai/upload", { content: { text: "hi" }, filename: ["a.txt"] }],
    ["/ai/documents/url", { url: 12345 }],
  ])("answers 422 with {loc, msg, type} for wrong types on %s", async (path, body) => {
    // Act
    const response = await alice.send("POST", path, body);

    // Assess
    const detail = (await expectCleanError(response, 422)) as Array<Record<string, unknown>>;
    expect(detail.length).toBeGreaterThan(0);
    for (const issue of detail) expect(Object.keys(issue).sort()).toEqual(["loc", "msg", "type"]);
  });

  it.each([
    ["POST", "/ai/chat", "message"],
    ["POST", "/ai/chat/stream", "message"],
    ["POST", "/ai/sessions", "title"],
    ["PATCH", "/ai/sessions/64b7f0c2a1b2c3d4e5f60718", "title"],
    ["POST", "/ai/qa", "question"],
    ["POST", "/ai/qa/stream", "question"],
    ["POST", "/ai/mindmap", "topic"],
    ["POST", "/ai/upload", "filename"],
    ["POST", "/ai/flashcards", "topic"],
    ["POST", "/ai/flashcards", "title"],
    ["POST", "/ai/generate-study-plan", "subject"],
  ])("refuses a huge string in %s %s `%s` with 422/413", async (method, path, field) => {
    // Prepare
    const base: Record<string, unknown> = {
      message: "hi",
      question: "Why?",
      topic: "Cells",
      content: "Some notes.",
      filename: "notes.txt",
      subject: "Biology",
      topics: ["cells"],
      startDate: "2027-01-01",
      endDate: "2027-01-10",
      text: "Cells divide by mitosis. Each daughter cell gets a full copy of the DNA.",
    };

    // Act
    const response = await alice.send(method, path, { ...base, [field]: "ẞ".repeat(21_000) });

    // Assess
    await expectCleanError(response, [413, 422]);
  });
});

describe("malformed JSON and wrong content types", () => {
  it.each([
    ["a truncated object", '{"message": "hi"'],
    ["unquoted keys", "{message: 'hi'}"],
    ["trailing garbage", '{"message": "hi"} {"message": "again"}'],
    ["a lone surrogate escape and garbage", '{"message": "\\ud800"'],
    ["binary noise", "\u0000\u0001\u0002{"],
  ])("answers %s with 400 and a JSON detail", async (_label, body) => {
    // Act
    const response = await alice.send("POST", "/ai/chat", body);

    // Assess
    expect(await expectCleanError(response, 400)).toBe("Malformed JSON in request body");
  });

  it.each([
    ["text/plain", '{"message": "hi"}'],
    ["application/x-www-form-urlencoded", "message=hi"],
    ["application/xml", "<message>hi</message>"],
  ])("answers a %s body on a JSON route with 415", async (contentType, body) => {
    // Act
    const response = await alice.send("POST", "/ai/chat", body, { "Content-Type": contentType });

    // Assess
    expect(await expectCleanError(response, 415)).toBe("Request body must be JSON (Content-Type: application/json)");
  });

  it("answers multipart without a file, or with text where the file goes, with 4xx on every file route", async () => {
    // Prepare
    const paths = ["/ai/documents/file", "/ai/qa/file", "/ai/qa/file/stream", "/ai/qa/generate/file"];
    const forms = paths.flatMap((path) => {
      const empty = new FormData();
      empty.append("question", "What is osmosis?");
      const textual = new FormData();
      textual.append("question", "What is osmosis?");
      textual.append("file", "just a string, not a file");
      return [
        { path, form: empty },
        { path, form: textual },
      ];
    });

    // Act
    const responses = await Promise.all(forms.map(({ path, form }) => multipart(path, form)));

    // Assess
    for (const response of responses) await expectCleanError(response, [400, 422]);
    expect((await alice.listDocuments()).total).toBe(0);
  });
});

describe("hostile files", () => {
  it("refuses a PNG renamed .pdf on the question and quiz file routes without running OCR first", async () => {
    // Prepare
    const png = renderTextPng(["Photosynthesis makes sugar from light"]);
    const started = Date.now();

    // Act
    const qa = await alice.postFile(
      "/ai/qa/file",
      { name: "notes.pdf", bytes: png, type: "application/pdf" },
      {
        question: "What does photosynthesis make?",
      },
    );
    const quiz = await alice.postFile("/ai/qa/generate/file", {
      name: "notes.pdf",
      bytes: png,
      type: "application/pdf",
    });
    const elapsed = Date.now() - started;

    // Assess
    expect(await expectCleanError(qa, 400)).toBe("Questions can be asked about .txt, .md, .pdf and .docx files.");
    expect(await expectCleanError(quiz, 400)).toBe("Quizzes can be generated from .txt, .md, .pdf and .docx files.");
    // An OCR run (worker start and recognition) takes seconds; a type check takes milliseconds.
    expect(elapsed).toBeLessThan(1_000);
  });

  it("refuses zip-bomb DOCX files, whether their sizes are declared huge or lie low", async () => {
    // Prepare
    const declaredHuge = makeZip(
      docxEntries([{ text: "Hello" }]).map((entry) =>
        entry.name === "word/document.xml" ? { ...entry, declaredSize: 0xffff_fff0 } : entry,
      ),
    );
    const lyingLow = makeZip(
      docxEntries([{ text: "A".repeat(MAX_DOCX_BYTES * 3) }]).map((entry) =>
        entry.name === "word/document.xml" ? { ...entry, declaredSize: 1_000 } : entry,
      ),
    );

    // Act
    const answers = [
      await alice.postFile("/ai/qa/file", { name: "bomb.docx", bytes: declaredHuge }, { question: "What?" }),
      await alice.postFile("/ai/qa/file", { name: "bomb.docx", bytes: lyingLow }, { question: "What?" }),
      await alice.postFile("/ai/qa/generate/file", { name: "bomb.docx", bytes: lyingLow }),
    ];
    const stored = await alice.uploadFile("bomb.docx", lyingLow);
    const settled = await alice.settled(stored.document_id);

    // Assess
    expect(lyingLow.byteLength).toBeLessThan(MAX_MULTIPART_BYTES);
    for (const answer of answers) await expectCleanError(answer, [400, 413]);
    expect(settled.status).toBe("failed");
    expect(settled.error).toMatch(/expands to more data than we accept/);
    expect(leaksIn(settled.error ?? "", [TEST_SECRET])).toEqual([]);
  });

  it("stores only the basename of traversal filenames and writes nothing outside DATA_DIR", async () => {
    // Prepare
    const text = new TextEncoder().encode("Traversal notes: the mitochondrion makes ATP.");
    // Where a naive join of DATA_DIR and the filename would land (other suites share /tmp, so only
    // these names are checked, not the whole directory).
    const escapes = ["passwd", "win.ini", "collabry-escape.md", "evil.txt"].flatMap((name) => [
      resolve(engine.dataDir, "..", name),
      resolve(engine.dataDir, "..", "..", name),
      resolve(engine.dataDir, "blobs", "..", "..", name),
    ]);

    // Act
    const posix = await alice.uploadFile("../../etc/passwd", text);
    const windows = await alice.uploadFile("..\\..\\..\\Windows\\win.ini", text);
    const absolute = await alice.uploadFile("/tmp/collabry-escape.md", text);
    const inline = await alice.send("POST", "/ai/upload", {
      content: "Inline traversal",
      filename: "../../../tmp/evil.txt",
    });
    const task = ((await inline.json()) as { task_id: string; filename: string }).task_id;
    const settled = await Promise.all(
      [posix, windows, absolute].map((document) => alice.settled(document.document_id)).concat(alice.settled(task)),
    );
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else files.push(await fs.realpath(path));
      }
    };
    await walk(engine.dataDir);
    const root = await fs.realpath(engine.dataDir);

    // Assess
    expect(settled.map((document) => document.filename)).toEqual([
      "passwd",
      "win.ini",
      "collabry-escape.md",
      "evil.txt",
    ]);
    expect(settled.map((document) => document.status)).toEqual(["ready", "ready", "ready", "ready"]);
    for (const file of files) {
      expect(file.startsWith(`${root}${sep}`)).toBe(true);
      expect(relative(root, file).split(sep)).not.toContain("..");
    }
    expect(files.map((file) => basename(file))).not.toContain("passwd");
    expect(escapes.filter((path) => existsSync(path))).toEqual([]);
  });

  it("keeps NUL bytes out of stored names and answers NUL ids with 404, never 500", async () => {
    // Act
    const file = await alice.uploadFile("nul\u0000name.txt", new TextEncoder().encode("Nul\u0000 notes about cells."));
    const inline = await alice.send("POST", "/ai/upload", { content: "Nul\u0000 text", filename: "in\u0000line.txt" });
    const session = await alice.send("POST", "/ai/sessions", { title: "nul\u0000title" });
    const chat = await alice.send("POST", "/ai/chat", { message: "what is\u0000 osmosis?" });
    const ids = await Promise.all([
      alice.get("/ai/sessions/%00"),
      alice.get("/ai/documents/abc%00def"),
      alice.get("/ai/upload/status/%00%00"),
      alice.get(`/ai/flashcards/${encodeURIComponent("deck\u0000")}`),
    ]);

    // Assess
    expect(file.filename).toBe("nulname.txt");
    expect(inline.status).toBe(200);
    expect(((await inline.json()) as { filename: string }).filename).toBe("inline.txt");
    expect([200, 422]).toContain(session.status);
    await session.text();
    expect(chat.status).toBe(200);
    await chat.text();
    for (const response of ids) await expectCleanError(response, 404);
    const stored = await alice.settled(file.document_id);
    expect(stored.filename).not.toContain("\u0000");
  });
});

describe("SSRF on POST /ai/documents/url", () => {
  const targets = [
    ["loopback", "http://127.0.0.1/admin", /loopback/],
    ["localhost by name", "http://localhost:8000/health", /loopback/],
    ["a short loopback form", "http://127.1/", /loopback/],
    ["a decimal IP", "http://2130706433/", /loopback/],
    ["a hexadecimal IP", "http://0x7f000001/", /loopback/],
    ["IPv6 loopback", "http://[::1]/", /loopback/],
    ["IPv4-mapped IPv6 loopback", "http://[::ffff:127.0.0.1]/", /loopback/],
    ["a private 10.x address", "http://10.1.2.3/", /private network/],
    ["a private 192.168.x address", "http://192.168.0.10/", /private network/],
    ["the cloud metadata service", "http://169.254.169.254/latest/meta-data/iam/", /metadata/],
    ["the unspecified address", "http://0.0.0.0:8000/", /unspecified/],
    ["a file: URL", "file:///etc/passwd", /Only http and https/],
    ["a gopher: URL", "gopher://127.0.0.1:25/", /Only http and https/],
  ] as const;

  it.each(targets)("refuses %s with 400 and a reason", async (_label, url, reason) => {
    // Act
    const response = await alice.send("POST", "/ai/documents/url", { url, source_id: "src-ssrf" });

    // Assess
    expect(await expectCleanError(response, 400)).toMatch(reason);
  });

  it("refuses the same targets through /ai/upload with source_type website, and stores nothing", async () => {
    // Act
    const responses = await Promise.all(
      targets.map(([, url]) =>
        alice.send("POST", "/ai/upload", {
          content: "placeholder",
          filename: "site",
          metadata: { source_type: "website", url, source_id: "src-ssrf-upload" },
        }),
      ),
    );

    // Assess
    for (const response of responses) await expectCleanError(response, 400);
    expect((await alice.listDocuments("?source_id=src-ssrf")).total).toBe(0);
    expect((await alice.listDocuments("?source_id=src-ssrf-upload")).total).toBe(0);
  });
});
