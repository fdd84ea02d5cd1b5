// Helpers for the documents integration tests: multipart uploads as the browser sends them, bounded
// polling of ingestion status, and a look at the blob tree a document leaves in DATA_DIR.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { clientFor } from "./engine.ts";

/** The public view of a document (`GET /ai/documents/{id}`). */
export interface DocumentView {
  document_id: string;
  source_id: string;
  session_id: string | null;
  notebook_id: string | null;
  source_type: string | null;
  filename: string;
  detected_type: string | null;
  status: "pending" | "processing" | "ready" | "failed";
  error: string | null;
  pages: number | null;
  chunks: number | null;
}

export interface CitationView {
  source_id: string;
  chunk_id: string;
  page: number;
  quote: string;
  filename: string;
  score: number;
}

export interface QaAnswer {
  answer: string;
  sources: Array<{ source: string; content: string; metadata: { source_id: string; chunk_id: string; page: number } }>;
  citations: CitationView[];
}

/** Polls `probe` every `stepMs` until it returns a value, for at most `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  { timeoutMs = 20_000, stepMs = 50 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

/** A client of the documents and qa routes for one user, with multipart uploads. */
export function documentsClient(baseUrl: string, token: string) {
  const http = clientFor(baseUrl, token);
  const auth = { Authorization: `Bearer ${token}` };

  async function getDocument(id: string): Promise<DocumentView> {
    const response = await http.get(`/ai/documents/${id}`);
    if (response.status !== 200) throw new Error(`GET /ai/documents/${id} answered ${response.status}`);
    return (await response.json()) as DocumentView;
  }

  /** `POST` of a multipart form with the file under `file` and extra string fields. */
  function postFile(
    path: string,
    file: { name: string; bytes: Uint8Array; type?: string },
    fields: Record<string, string> = {},
  ): Promise<Response> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append("file", new Blob([file.bytes], { type: file.type ?? "application/octet-stream" }), file.name);
    return fetch(`${baseUrl}${path}`, { method: "POST", headers: auth, body: form });
  }

  return {
    ...http,
    postFile,

    /** Uploads through `POST /ai/documents/file`; throws unless accepted. */
    async uploadFile(
      name: string,
      bytes: Uint8Array,
      fields: Record<string, string> = {},
      type?: string,
    ): Promise<DocumentView> {
      const response = await postFile("/ai/documents/file", { name, bytes, ...(type ? { type } : {}) }, fields);
      if (response.status !== 200) {
        throw new Error(`upload of ${name} answered ${response.status}: ${await response.text()}`);
      }
      return (await response.json()) as DocumentView;
    },

    getDocument,

    /** Waits until the document is `ready` or `failed` and returns it. */
    settled(id: string, timeoutMs = 20_000): Promise<DocumentView> {
      return waitFor(
        async () => {
          const document = await getDocument(id);
          return document.status === "ready" || document.status === "failed" ? document : undefined;
        },
        `document ${id} to be ready or failed`,
        { timeoutMs },
      );
    },

    async listDocuments(query = ""): Promise<{ documents: DocumentView[]; total: number }> {
      return (await (await http.get(`/ai/documents${query}`)).json()) as { documents: DocumentView[]; total: number };
    },

    async ask(body: Record<string, unknown>): Promise<QaAnswer> {
      const response = await http.send("POST", "/ai/qa", body);
      if (response.status !== 200) throw new Error(`/ai/qa answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as QaAnswer;
    },
  };
}

export type DocumentsClient = ReturnType<typeof documentsClient>;

/** Text as a reader sees it: Markdown heading markers dropped and whitespace collapsed. */
export function normaliseText(text: string): string {
  return text
    .replace(/^[ \t]*#{1,6}[ \t]+/gm, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** Visible text of an HTML page (scripts, styles and tags removed), whitespace-normalised. */
export function visibleHtmlText(html: string): string {
  return normaliseText(
    html
      .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, " ")
      .replace(/<[^>]+>/g, " ")
      .replace(/&amp;/g, "&"),
  );
}

/** Blob keys stored under `prefix` in the engine's DATA_DIR (filesystem blob store). */
export async function blobKeys(dataDir: string, prefix: string): Promise<string[]> {
  const root = join(dataDir, "blobs");
  const keys: string[] = [];
  async function walk(dir: string, relative: string): Promise<void> {
    let entries: Array<{ name: string; isDirectory(): boolean }>;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const key = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await walk(join(dir, entry.name), key);
      else keys.push(key);
    }
  }
  await walk(root, "");
  return keys.filter((key) => key.startsWith(prefix)).sort();
}
