// One user's documents are invisible to another: every documents, upload-status, qa and chat path
// treats a foreign id exactly like a missing one, and guessed ids never cause a server error.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DocumentsClient, documentsClient } from "#test/support/documents.ts";
import { parseSessionStream, startTestEngine, type TestEngine } from "#test/support/engine.ts";

const SECRET_PHRASE = "the zebra-striped quokka vault opens with passphrase marmalade-seventeen";
const SECRET_WORD = "marmalade-seventeen";

let engine: TestEngine;
let alice: DocumentsClient;
let bob: DocumentsClient;
let aliceSession: string;
let aliceSource: string;
let aliceDocument: string;
let aliceTask: string;

beforeAll(async () => {
  engine = await startTestEngine();
  alice = documentsClient(engine.url, await engine.token("alice"));
  bob = documentsClient(engine.url, await engine.token("bob"));
  aliceSession = ((await (await alice.send("POST", "/ai/sessions", { title: "Private" })).json()) as { id: string }).id;
  aliceSource = "src-alice-secret";
  const uploaded = await alice.uploadFile(
    "secret.md",
    new TextEncoder().encode(`# Vault notes\n\nRemember: ${SECRET_PHRASE}. The quokka vault is in the cellar.\n`),
    { source_id: aliceSource, session_id: aliceSession },
  );
  aliceDocument = uploaded.document_id;
  const inline = await alice.send("POST", "/ai/upload", {
    content: `Inline copy: ${SECRET_PHRASE}.`,
    filename: "inline-secret.txt",
    metadata: { source_id: "src-alice-inline", session_id: aliceSession },
  });
  aliceTask = ((await inline.json()) as { task_id: string }).task_id;
  expect((await alice.settled(aliceDocument)).status).toBe("ready");
  expect((await alice.settled(aliceTask)).status).toBe("ready");
});

afterAll(async () => {
  await engine.cleanup();
});

function otherHexDigit(id: string, at: number): string {
  const digit = id[at] === "0" ? "1" : "0";
  return `${id.slice(0, at)}${digit}${id.slice(at + 1)}`;
}

describe("another user's documents", () => {
  it("answer 404 on read, status and delete, and stay out of the other user's list", async () => {
    // Act
    const read = await bob.get(`/ai/documents/${aliceDocument}`);
    const status = await bob.get(`/ai/upload/status/${aliceTask}`);
    const removed = await bob.delete(`/ai/documents/${aliceDocument}`);
    const list = await bob.listDocuments();
    const filtered = await bob.listDocuments(`?source_id=${aliceSource}`);

    // Assess
    for (const response of [read, status, removed]) {
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ detail: "Document not found" });
    }
    expect(list).toEqual({ documents: [], total: 0 });
    expect(filtered.total).toBe(0);
    expect((await alice.getDocument(aliceDocument)).status).toBe("ready");
  });

  it("are not deleted by the other user's source or session deletes", async () => {
    // Act
    const bySource = await bob.delete(`/ai/documents/source/${aliceSource}`);
    const bySession = await bob.delete(`/ai/documents/session/${aliceSession}`);

    // Assess
    expect(bySource.status).toBe(200);
    expect(await bySource.json()).toMatchObject({ success: true, deleted_count: 0 });
    expect(bySession.status).toBe(200);
    expect(await bySession.json()).toMatchObject({ success: true, deleted_count: 0 });
    expect(await alice.getDocument(aliceDocument)).toMatchObject({ status: "ready", source_id: aliceSource });
    expect((await alice.getDocument(aliceTask)).status).toBe("ready");
  });

  it("never reach the other user's answers, sources or citations", async () => {
    // Prepare
    const question = "What passphrase opens the quokka vault?";
    const bobSession = ((await (await bob.send("POST", "/ai/sessions", { title: "Bob" })).json()) as { id: string }).id;

    // Act
    const answers = await Promise.all([
      bob.send("POST", "/ai/qa", { question, use_rag: true }),
      bob.send("POST", "/ai/qa", { question, use_rag: true, source_ids: [aliceSource, "src-alice-inline"] }),
      bob.send("POST", "/ai/qa", { question, use_rag: true, session_id: aliceSession, top_k: 10 }),
      bob.send("POST", "/ai/qa/stream", { question, use_rag: true, source_ids: [aliceSource] }),
    ]);
    const bodies = await Promise.all(answers.map((response) => response.text()));
    const chat = await bob.send("POST", `/ai/sessions/${bobSession}/chat/stream`, {
      message: question,
      source_ids: [aliceSource],
    });
    const chatRaw = await chat.text();
    const stored = await (await bob.get(`/ai/sessions/${bobSession}/messages`)).text();
    const aliceAnswer = await alice.ask({ question, source_ids: [aliceSource] });

    // Assess
    for (const [index, response] of answers.entries()) {
      expect(response.status).toBe(200);
      expect(bodies[index]).not.toContain(SECRET_WORD);
      expect(bodies[index]).not.toContain("quokka vault is");
    }
    const first = JSON.parse(bodies[0] ?? "{}") as { sources: unknown[]; citations: unknown[] };
    expect(first.sources).toEqual([]);
    expect(first.citations).toEqual([]);
    expect(chat.status).toBe(200);
    expect(chatRaw).not.toContain(SECRET_WORD);
    expect(parseSessionStream(chatRaw).events).toContainEqual({ event: "citations", data: "[]" });
    expect(stored).not.toContain(SECRET_WORD);
    // The same question finds the phrase for its owner, so the searches above were meaningful.
    expect(JSON.stringify(aliceAnswer.citations)).toContain(SECRET_WORD);
  });

  it("cannot be chatted about through the owner's session", async () => {
    // Act
    const response = await bob.send("POST", `/ai/sessions/${aliceSession}/chat/stream`, {
      message: "What passphrase opens the quokka vault?",
    });

    // Assess
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain(SECRET_WORD);
  });
});

describe("guessed ids", () => {
  it("answer 404, never 500, for ids one digit off, non-ObjectIds and operator objects", async () => {
    // Prepare
    // Digits of the random middle part: the timestamp and counter parts of ids minted in the same
    // second differ by one, so changing those could land on an id the guessing user really owns.
    const guesses = [
      otherHexDigit(aliceDocument, 10),
      otherHexDigit(aliceDocument, 14),
      otherHexDigit(aliceTask, 16),
      "not-an-object-id",
      "ZZZZZZZZZZZZZZZZZZZZZZZZ",
      encodeURIComponent('{"$ne": null}'),
      encodeURIComponent('{"$gt": ""}'),
    ];

    // Act
    const responses = await Promise.all(
      guesses.flatMap((guess) => [
        alice.get(`/ai/documents/${guess}`),
        alice.get(`/ai/upload/status/${guess}`),
        alice.delete(`/ai/documents/${guess}`),
        bob.get(`/ai/documents/${guess}`),
        bob.get(`/ai/upload/status/${guess}`),
        bob.delete(`/ai/documents/${guess}`),
      ]),
    );
    const operatorDeletes = await Promise.all([
      bob.delete(`/ai/documents/source/${encodeURIComponent('{"$ne": null}')}`),
      bob.delete(`/ai/documents/session/${encodeURIComponent('{"$ne": null}')}`),
    ]);

    // Assess
    for (const response of responses) {
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ detail: "Document not found" });
    }
    for (const response of operatorDeletes) {
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ success: true, deleted_count: 0 });
    }
    expect((await alice.getDocument(aliceDocument)).status).toBe("ready");
    expect((await alice.listDocuments()).total).toBe(2);
  });
});
