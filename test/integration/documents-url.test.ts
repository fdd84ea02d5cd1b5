// Adding a web page by URL through the local runtime: POST /ai/documents/url and /ai/upload for
// websites. The page server is on loopback; the engine may fetch it only because this file sets
// the local-only setting ALLOW_LOOPBACK_FETCH=true (honoured with RUNTIME=local only).
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DocumentsClient, documentsClient, waitFor } from "#test/support/documents.ts";
import { startTestEngine, type TestEngine } from "#test/support/engine.ts";

const FIXTURE = new URL("../fixtures/documents/french-revolution.html", import.meta.url);

let pages: Server;
let pagesUrl: string;
let engine: TestEngine;
let strictEngine: TestEngine;
let alice: DocumentsClient;

beforeAll(async () => {
  const html = await readFile(FIXTURE, "utf8");
  pages = createServer((req, res) => {
    if (req.url === "/french-revolution") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(html);
    } else if (req.url === "/to-metadata") {
      res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" });
      res.end();
    } else if (req.url === "/empty") {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html><body><script>var x = 1;</script></body></html>");
    } else {
      res.writeHead(404, { "content-type": "text/html" });
      res.end("<p>Not found</p>");
    }
  });
  await new Promise<void>((resolve) => pages.listen(0, "127.0.0.1", resolve));
  pagesUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  strictEngine = await startTestEngine();
  engine = await startTestEngine({ ALLOW_LOOPBACK_FETCH: "true" });
  alice = documentsClient(engine.url, await engine.token("alice"));
});

afterAll(async () => {
  await engine.cleanup();
  await strictEngine.cleanup();
  await new Promise<void>((resolve) => pages.close(() => resolve()));
});

describe("POST /ai/documents/url", () => {
  it("fetches the page, ingests its main content and cites it in answers", async () => {
    // Act
    const response = await alice.send("POST", "/ai/documents/url", {
      url: `${pagesUrl}/french-revolution`,
      source_id: "src-web-revolution",
      session_id: "session-1",
    });
    const accepted = (await response.json()) as Record<string, unknown>;
    const ready = await alice.settled(String(accepted.document_id));
    const answer = await alice.ask({ question: "When was the Bastille stormed?", source_ids: ["src-web-revolution"] });

    // Assess
    expect(response.status).toBe(200);
    expect(accepted).toMatchObject({
      source_id: "src-web-revolution",
      session_id: "session-1",
      source_type: "website",
      url: `${pagesUrl}/french-revolution`,
      filename: "The French Revolution History Notes.md",
      status: "pending",
    });
    expect(ready).toMatchObject({ status: "ready", error: null });
    expect(ready.chunks).toBeGreaterThanOrEqual(1);
    const quotes = answer.citations.map((citation) => citation.quote).join(" ");
    expect(quotes).toContain("stormed the Bastille");
    expect(quotes).not.toContain("Cookie settings");
    expect(quotes).not.toContain("should never be indexed");
  });

  it.each([
    ["the metadata service", "http://169.254.169.254/latest/meta-data/", "cloud metadata service"],
    ["a private network address", "http://10.0.0.7/notes", "private network"],
    ["a file URL", "file:///etc/passwd", "Only http and https pages can be added"],
  ])("refuses %s with 400 and stores nothing", async (_name, url, reason) => {
    // Prepare
    const before = (await alice.listDocuments()).total;

    // Act
    const response = await alice.send("POST", "/ai/documents/url", { url });
    const body = (await response.json()) as { detail: string };

    // Assess
    expect(response.status).toBe(400);
    expect(body.detail).toContain(reason);
    expect((await alice.listDocuments()).total).toBe(before);
  });

  it("refuses a page that redirects to the metadata service", async () => {
    // Act
    const response = await alice.send("POST", "/ai/documents/url", { url: `${pagesUrl}/to-metadata` });

    // Assess
    expect(response.status).toBe(400);
    expect(((await response.json()) as { detail: string }).detail).toContain(
      "169.254.169.254 (cloud metadata service)",
    );
  });

  it("answers 502 for a page that does not load and 400 for a page without text", async () => {
    // Act
    const missing = await alice.send("POST", "/ai/documents/url", { url: `${pagesUrl}/gone` });
    const empty = await alice.send("POST", "/ai/documents/url", { url: `${pagesUrl}/empty` });

    // Assess
    expect(missing.status).toBe(502);
    expect(await missing.json()).toEqual({ detail: "The page answered HTTP 404." });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toEqual({ detail: "The page has no readable text to add as study material." });
  });

  it("refuses a loopback page on an engine without the local flag", async () => {
    // Prepare
    const strict = documentsClient(strictEngine.url, await strictEngine.token("alice"));

    // Act
    const response = await strict.send("POST", "/ai/documents/url", { url: `${pagesUrl}/french-revolution` });

    // Assess
    expect(response.status).toBe(400);
    expect(((await response.json()) as { detail: string }).detail).toContain("(loopback)");
  });

  it("answers 422 without a url and 401 without a token", async () => {
    // Act
    const invalid = await alice.send("POST", "/ai/documents/url", { source_id: "x" });
    const anonymous = await fetch(`${engine.url}/ai/documents/url`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ url: `${pagesUrl}/french-revolution` }),
    });

    // Assess
    expect(invalid.status).toBe(422);
    expect(anonymous.status).toBe(401);
  });
});

describe("POST /ai/upload for a website (the backend's path)", () => {
  it("ingests the page at metadata.url instead of the placeholder text", async () => {
    // Act
    const response = await alice.send("POST", "/ai/upload", {
      content: "Website source: placeholder",
      filename: "website.txt",
      metadata: { source_type: "website", url: `${pagesUrl}/french-revolution`, source_id: "src-web-upload" },
    });
    const accepted = (await response.json()) as Record<string, string>;
    const status = await waitFor(async () => {
      const current = (await (await alice.get(`/ai/upload/status/${accepted.task_id}`)).json()) as Record<
        string,
        unknown
      >;
      return current.status === "processing" ? undefined : current;
    }, "the website upload to finish");
    const answer = await alice.ask({ question: "What was the Terror?", source_ids: ["src-web-upload"] });

    // Assess
    expect(response.status).toBe(200);
    expect(accepted).toMatchObject({ status: "processing", source_id: "src-web-upload" });
    expect(status).toMatchObject({ status: "completed", error: null });
    const quotes = answer.citations.map((citation) => citation.quote).join(" ");
    expect(quotes).toContain("Committee of Public Safety");
    expect(quotes).not.toContain("placeholder");
  });

  it("refuses a website upload whose URL is internal", async () => {
    // Act
    const response = await alice.send("POST", "/ai/upload", {
      content: "Website source",
      filename: "website.txt",
      metadata: { source_type: "website", url: "http://192.168.0.1/router" },
    });

    // Assess
    expect(response.status).toBe(400);
    expect(((await response.json()) as { detail: string }).detail).toContain("private network");
  });

  it("keeps plain text uploads unchanged when the source is not a website", async () => {
    // Act
    const response = await alice.send("POST", "/ai/upload", {
      content: "Mitochondria are the powerhouse of the cell and make ATP.",
      filename: "notes.txt",
      metadata: { source_type: "text", url: `${pagesUrl}/french-revolution`, source_id: "src-text" },
    });
    const accepted = (await response.json()) as Record<string, string>;
    const document = await alice.settled(String(accepted.document_id));

    // Assess
    expect(document).toMatchObject({ status: "ready", filename: "notes.txt", source_type: "text" });
  });
});
