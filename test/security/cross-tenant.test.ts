// Cross-tenant attacks generated from the route tables: user A owns real data of every kind, user B
// throws A's ids at every route that takes an id (path, query or body). Each answer is compared with
// the answer to an id nobody was ever issued, so a route can neither leak A's data nor reveal that
// the id exists; afterwards A's data is exactly as it was. A route added to `featureRoutes` that
// takes an id and has no case here fails the coverage test.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newObjectId } from "#shared/store/ids.ts";
import { type DocumentsClient, documentsClient } from "#test/support/documents.ts";
import { startTestEngine, type TestEngine } from "#test/support/engine.ts";
import { allRoutes, idInputsByRoute, pathPattern } from "#test/support/security.ts";

const ALICE_SECRET = "quokka-vault-marmalade-seventeen";
const ALICE_TITLE = "Alice private revision";
const ALICE_FILE = "alice-vault-notes.md";
/** Strings of A's data that must never appear in an answer to B. */
const ALICE_MARKERS = [ALICE_SECRET, ALICE_TITLE, ALICE_FILE];

/** The ids an attack is built from: A's real ones, or ones nobody was ever issued. */
interface Ids {
  userId: string;
  session: string;
  document: string;
  task: string;
  source: string;
  notebook: string;
  deck: string;
  card: string;
  /** B's own session and deck, to smuggle A's body ids into B's own resources. */
  bobSession: string;
  bobDeck: string;
}

interface HttpCall {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  json?: unknown;
  form?: Record<string, string>;
}

/** `404`/`403`: the status, with the same body as for unknown ids; `as-unknown`: the same status as for unknown ids. */
type Expected = 404 | 403 | "as-unknown";

interface Attack {
  label: string;
  /** Id inputs of the route (as `idInputsByRoute` names them) this attack fills with A's ids. */
  covers: string[];
  call: (ids: Ids) => HttpCall;
  expected: Expected;
}

const question = "Which passphrase opens the quokka vault?";
const fileForm = (ids: Ids) => ({ source_id: ids.source, session_id: ids.session, notebook_id: ids.notebook });

/**
 * How each id-taking route is attacked. Routes whose ids only filter the caller's own data (qa
 * retrieval scopes, list filters, deletes by source/session) answer B as for an unknown id (200
 * with nothing), as the contract and the isolation tests pin; all others answer 404 (403 for admin
 * routes). The routes with which B writes come last: B's own records then reuse A's source id,
 * which must not let the earlier cases find anything.
 */
const CASES: Record<string, Attack[]> = {
  "GET /ai/sessions/{id}": [
    {
      label: "A's session",
      covers: ["path:id"],
      expected: 404,
      call: (i) => ({ method: "GET", path: `/ai/sessions/${i.session}` }),
    },
  ],
  "PATCH /ai/sessions/{id}": [
    {
      label: "rename A's session",
      covers: ["path:id"],
      expected: 404,
      call: (i) => ({ method: "PATCH", path: `/ai/sessions/${i.session}`, json: { title: "hijacked by bob" } }),
    },
  ],
  "DELETE /ai/sessions/{id}": [
    {
      label: "delete A's session",
      covers: ["path:id"],
      expected: 404,
      call: (i) => ({ method: "DELETE", path: `/ai/sessions/${i.session}` }),
    },
  ],
  "GET /ai/sessions/{id}/messages": [
    {
      label: "read A's messages",
      covers: ["path:id"],
      expected: 404,
      call: (i) => ({ method: "GET", path: `/ai/sessions/${i.session}/messages?limit=50` }),
    },
  ],
  "POST /ai/sessions/{id}/messages": [
    {
      label: "append to A's session",
      covers: ["path:id"],
      expected: 404,
      call: (i) => ({
        method: "POST",
        path: `/ai/sessions/${i.session}/messages`,
        json: { role: "system", content: "bob was here" },
      }),
    },
  ],
  "POST /ai/sessions/{id}/chat/stream": [
    {
      label: "chat in A's session",
      covers: ["path:id"],
      expected: 404,
      call: (i) => ({ method: "POST", path: `/ai/sessions/${i.session}/chat/stream`, json: { message: question } }),
    },
    {
      label: "A's sources in B's own session",
      covers: ["body:source_ids"],
      expected: "as-unknown",
      call: (i) => ({
        method: "POST",
        path: `/ai/sessions/${i.bobSession}/chat/stream`,
        json: { message: question, source_ids: [i.source] },
      }),
    },
  ],
  "GET /ai/sessions/{id}/chat/stream": [
    {
      label: "chat in A's session through GET",
      covers: ["path:id"],
      expected: 404,
      call: (i) => ({ method: "GET", path: `/ai/sessions/${i.session}/chat/stream?message=hello` }),
    },
  ],
  "POST /ai/chat": [
    {
      label: "A's session_id",
      covers: ["body:session_id"],
      expected: 404,
      call: (i) => ({ method: "POST", path: "/ai/chat", json: { message: question, session_id: i.session } }),
    },
  ],
  "POST /ai/chat/stream": [
    {
      label: "A's session_id",
      covers: ["body:session_id"],
      expected: 404,
      call: (i) => ({ method: "POST", path: "/ai/chat/stream", json: { message: question, session_id: i.session } }),
    },
  ],
  "GET /ai/upload/status/{task_id}": [
    {
      label: "A's upload task",
      covers: ["path:task_id"],
      expected: 404,
      call: (i) => ({ method: "GET", path: `/ai/upload/status/${i.task}` }),
    },
  ],
  "GET /ai/documents": [
    {
      label: "filtered by A's session and source",
      covers: ["query:session_id", "query:source_id"],
      expected: "as-unknown",
      call: (i) => ({
        method: "GET",
        path: `/ai/documents?session_id=${encodeURIComponent(i.session)}&source_id=${encodeURIComponent(i.source)}`,
      }),
    },
  ],
  "GET /ai/documents/{id}": [
    {
      label: "A's document",
      covers: ["path:id"],
      expected: 404,
      call: (i) => ({ method: "GET", path: `/ai/documents/${i.document}` }),
    },
  ],
  "DELETE /ai/documents/{id}": [
    {
      label: "delete A's document",
      covers: ["path:id"],
      expected: 404,
      call: (i) => ({ method: "DELETE", path: `/ai/documents/${i.document}` }),
    },
  ],
  "DELETE /ai/documents/source/{source_id}": [
    {
      label: "delete A's source",
      covers: ["path:source_id"],
      expected: "as-unknown",
      call: (i) => ({ method: "DELETE", path: `/ai/documents/source/${encodeURIComponent(i.source)}` }),
    },
  ],
  "DELETE /ai/documents/session/{session_id}": [
    {
      label: "delete A's session documents",
      covers: ["path:session_id"],
      expected: "as-unknown",
      call: (i) => ({ method: "DELETE", path: `/ai/documents/session/${i.session}` }),
    },
  ],
  "POST /ai/qa": [
    {
      label: "A's source_ids and session_id",
      covers: ["body:session_id", "body:source_ids"],
      expected: "as-unknown",
      call: (i) => ({
        method: "POST",
        path: "/ai/qa",
        json: { question, use_rag: true, top_k: 10, source_ids: [i.source], session_id: i.session },
      }),
    },
  ],
  "POST /ai/qa/stream": [
    {
      label: "A's source_ids and session_id",
      covers: ["body:session_id", "body:source_ids"],
      expected: "as-unknown",
      call: (i) => ({
        method: "POST",
        path: "/ai/qa/stream",
        json: { question, use_rag: true, top_k: 10, source_ids: [i.source], session_id: i.session },
      }),
    },
  ],
  "POST /ai/summarize": [
    {
      label: "A's source_ids",
      covers: ["body:source_ids"],
      expected: 404,
      call: (i) => ({ method: "POST", path: "/ai/summarize", json: { source_ids: [i.source] } }),
    },
    {
      label: "A's session_id",
      covers: ["body:session_id"],
      expected: 404,
      call: (i) => ({ method: "POST", path: "/ai/summarize", json: { session_id: i.session } }),
    },
  ],
  "POST /ai/summarize/stream": [
    {
      label: "A's source_ids",
      covers: ["body:source_ids"],
      expected: 404,
      call: (i) => ({ method: "POST", path: "/ai/summarize/stream", json: { source_ids: [i.source] } }),
    },
    {
      label: "A's session_id",
      covers: ["body:session_id"],
      expected: 404,
      call: (i) => ({ method: "POST", path: "/ai/summarize/stream", json: { session_id: i.session } }),
    },
  ],
  "POST /ai/qa/generate": [
    {
      label: "A's source_ids",
      covers: ["body:source_ids"],
      expected: 404,
      call: (i) => ({ method: "POST", path: "/ai/qa/generate", json: { source_ids: [i.source], num_questions: 2 } }),
    },
    {
      label: "A's session_id",
      covers: ["body:session_id"],
      expected: 404,
      call: (i) => ({ method: "POST", path: "/ai/qa/generate", json: { session_id: i.session, num_questions: 2 } }),
    },
  ],
  "POST /ai/qa/generate/stream": [
    {
      label: "A's source_ids",
      covers: ["body:source_ids"],
      expected: 404,
      call: (i) => ({ method: "POST", path: "/ai/qa/generate/stream", json: { source_ids: [i.source] } }),
    },
    {
      label: "A's session_id",
      covers: ["body:session_id"],
      expected: 404,
      call: (i) => ({ method: "POST", path: "/ai/qa/generate/stream", json: { session_id: i.session } }),
    },
  ],
  "POST /ai/mindmap": [
    {
      label: "A's source_ids",
      covers: ["body:source_ids"],
      expected: 404,
      call: (i) => ({ method: "POST", path: "/ai/mindmap", json: { topic: "Quokka vault", source_ids: [i.source] } }),
    },
    {
      // A session scope without material falls back to a topic-only map, for A's id as for any other.
      label: "A's session_id",
      covers: ["body:session_id"],
      expected: "as-unknown",
      call: (i) => ({ method: "POST", path: "/ai/mindmap", json: { topic: "Quokka vault", session_id: i.session } }),
    },
  ],
  "POST /ai/flashcards": [
    {
      label: "A's source_ids",
      covers: ["body:source_ids"],
      expected: 404,
      call: (i) => ({ method: "POST", path: "/ai/flashcards", json: { source_ids: [i.source], count: 5 } }),
    },
    {
      label: "A's session_id",
      covers: ["body:session_id"],
      expected: 404,
      call: (i) => ({ method: "POST", path: "/ai/flashcards", json: { session_id: i.session, count: 5 } }),
    },
  ],
  "GET /ai/flashcards/{deck}": [
    {
      label: "A's deck",
      covers: ["path:deck"],
      expected: 404,
      call: (i) => ({ method: "GET", path: `/ai/flashcards/${i.deck}` }),
    },
  ],
  "POST /ai/flashcards/{deck}/review": [
    {
      label: "review A's card in A's deck",
      covers: ["path:deck", "body:card_id"],
      expected: 404,
      call: (i) => ({
        method: "POST",
        path: `/ai/flashcards/${i.deck}/review`,
        json: { card_id: i.card, grade: "easy" },
      }),
    },
    {
      label: "review A's card through B's own deck",
      covers: ["body:card_id"],
      expected: 404,
      call: (i) => ({
        method: "POST",
        path: `/ai/flashcards/${i.bobDeck}/review`,
        json: { card_id: i.card, grade: "again" },
      }),
    },
  ],
  "DELETE /ai/flashcards/{deck}": [
    {
      label: "delete A's deck",
      covers: ["path:deck"],
      expected: 404,
      call: (i) => ({ method: "DELETE", path: `/ai/flashcards/${i.deck}` }),
    },
  ],
  "GET /ai/usage/user/{id}": [
    {
      label: "A's usage",
      covers: ["path:id"],
      expected: 403,
      call: (i) => ({ method: "GET", path: `/ai/usage/user/${i.userId}` }),
    },
  ],
  "POST /ai/usage/reset/{id}": [
    {
      label: "reset A's quota",
      covers: ["path:id"],
      expected: 403,
      call: (i) => ({ method: "POST", path: `/ai/usage/reset/${i.userId}` }),
    },
  ],
  // B writes from here on (see above): records of B's own that carry A's ids.
  "POST /ai/documents": [
    {
      label: "presign with A's ids",
      covers: ["body:notebook_id", "body:session_id", "body:source_id"],
      expected: "as-unknown",
      call: (i) => ({
        method: "POST",
        path: "/ai/documents",
        json: { filename: "bob.pdf", content_type: "application/pdf", size: 2048, ...fileForm(i) },
      }),
    },
  ],
  "POST /ai/documents/url": [
    {
      // Loopback is refused by the SSRF guard before any record exists, for A's ids as for others.
      label: "URL with A's ids",
      covers: ["body:notebook_id", "body:session_id", "body:source_id"],
      expected: "as-unknown",
      call: (i) => ({
        method: "POST",
        path: "/ai/documents/url",
        json: { url: "http://127.0.0.1/notes", ...fileForm(i) },
      }),
    },
  ],
  "POST /ai/upload": [
    {
      label: "inline text with A's ids",
      covers: ["body:notebook_id", "body:session_id", "body:source_id"],
      expected: "as-unknown",
      call: (i) => ({
        method: "POST",
        path: "/ai/upload",
        json: { content: "Bob's own notes about wombats.", filename: "bob.txt", metadata: fileForm(i) },
      }),
    },
  ],
  "POST /ai/documents/file": [
    {
      label: "file with A's ids",
      covers: ["body:notebook_id", "body:session_id", "body:source_id"],
      expected: "as-unknown",
      call: (i) => ({ method: "POST", path: "/ai/documents/file", form: fileForm(i) }),
    },
  ],
};

/** Non-public routes that take no id at all (checked against the OpenAPI document below). */
const ID_FREE = new Set([
  "GET /test-auth",
  "POST /ai/mindmap/render",
  "GET /ai/flashcards",
  "GET /ai/sessions",
  "POST /ai/sessions",
  "POST /ai/qa/file",
  "POST /ai/qa/file/stream",
  "POST /ai/qa/generate/file",
  "POST /ai/generate-study-plan",
  "GET /ai/usage/me",
  "GET /ai/usage/global",
  "GET /ai/usage/realtime",
  "GET /ai/usage/stats",
  "POST /ai/usage/reset-me",
]);

let engine: TestEngine;
let alice: DocumentsClient;
let bob: DocumentsClient;
let bobToken: string;
let aliceIds: Ids;
let unknownIds: Ids;

interface AliceState {
  sessions: unknown;
  session: unknown;
  messages: unknown;
  documents: unknown;
  document: unknown;
  task: unknown;
  decks: unknown;
  deck: unknown;
  usage: unknown;
}

let before: AliceState;

async function json(response: Response): Promise<unknown> {
  expect(response.status).toBe(200);
  return response.json();
}

async function aliceState(): Promise<AliceState> {
  const usage = (await json(await alice.get("/ai/usage/me"))) as Record<string, unknown>;
  return {
    sessions: await json(await alice.get("/ai/sessions")),
    session: await json(await alice.get(`/ai/sessions/${aliceIds.session}`)),
    messages: await json(await alice.get(`/ai/sessions/${aliceIds.session}/messages`)),
    documents: await json(await alice.get("/ai/documents")),
    document: await json(await alice.get(`/ai/documents/${aliceIds.document}`)),
    task: await json(await alice.get(`/ai/upload/status/${aliceIds.task}`)),
    decks: await json(await alice.get("/ai/flashcards")),
    deck: await json(await alice.get(`/ai/flashcards/${aliceIds.deck}`)),
    usage: {
      total_operations: usage.total_operations,
      total_tokens: usage.total_tokens,
      operations_by_type: usage.operations_by_type,
    },
  };
}

function send(call: HttpCall): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${bobToken}` };
  let body: string | FormData | undefined;
  if (call.form) {
    const form = new FormData();
    for (const [name, value] of Object.entries(call.form)) form.append(name, value);
    form.append("file", new Blob(["Bob's own notes about wombats and their cubic droppings."]), "bob-notes.txt");
    body = form;
  } else if (call.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(call.json);
  }
  return fetch(`${engine.url}${call.path}`, { method: call.method, headers, ...(body ? { body } : {}) });
}

/** The body with every id of the attack replaced by a placeholder, for comparing A's and unknown ids. */
function withoutIds(text: string, ids: Ids): string {
  let result = text;
  // Longest first: "alice" is also part of "src-alice-vault".
  for (const value of Object.values(ids).sort((a, b) => b.length - a.length)) result = result.split(value).join("<id>");
  return result;
}

beforeAll(async () => {
  engine = await startTestEngine();
  alice = documentsClient(engine.url, await engine.token("alice"));
  bobToken = await engine.token("bob");
  bob = documentsClient(engine.url, bobToken);

  const session = (await json(await alice.send("POST", "/ai/sessions", { title: ALICE_TITLE }))) as { id: string };
  await json(
    await alice.send("POST", `/ai/sessions/${session.id}/messages`, {
      role: "user",
      content: `Remember for me: ${ALICE_SECRET}.`,
    }),
  );
  await json(
    await alice.send("POST", "/ai/chat", { message: `Explain the ${ALICE_SECRET} rule`, session_id: session.id }),
  );
  const uploaded = await alice.uploadFile(
    ALICE_FILE,
    new TextEncoder().encode(
      `# Vault\n\nThe quokka vault opens with the passphrase ${ALICE_SECRET}. It is kept in the cellar.\n`,
    ),
    { source_id: "src-alice-vault", session_id: session.id, notebook_id: "nb-alice" },
  );
  const inline = (await json(
    await alice.send("POST", "/ai/upload", {
      content: `Inline copy of the vault passphrase: ${ALICE_SECRET}.`,
      filename: "alice-inline.txt",
      metadata: { source_id: "src-alice-inline", session_id: session.id },
    }),
  )) as { task_id: string };
  const deck = (await json(
    await alice.send("POST", "/ai/flashcards", {
      title: "Alice vault deck",
      count: 5,
      text:
        "The quokka vault sits in the cellar of the old library. Its passphrase changes every seventeen days. " +
        "Only the head librarian keeps the spare key. The vault door is made of brass and oak. " +
        "Visitors sign the ledger before they enter the vault.",
    }),
  )) as { deck_id: string; cards: Array<{ id: string }> };
  const bobSession = (await json(await bob.send("POST", "/ai/sessions", { title: "Bob" }))) as { id: string };
  const bobDeck = (await json(
    await bob.send("POST", "/ai/flashcards", {
      count: 5,
      text: "Wombats produce cubic droppings. They dig long burrows. Wombats are marsupials of Australia.",
    }),
  )) as { deck_id: string };
  expect((await alice.settled(uploaded.document_id)).status).toBe("ready");
  expect((await alice.settled(inline.task_id)).status).toBe("ready");
  const card = deck.cards[0]?.id;
  if (card === undefined) throw new Error("Alice's deck has no cards");

  aliceIds = {
    userId: "alice",
    session: session.id,
    document: uploaded.document_id,
    task: inline.task_id,
    source: "src-alice-vault",
    notebook: "nb-alice",
    deck: deck.deck_id,
    card,
    bobSession: bobSession.id,
    bobDeck: bobDeck.deck_id,
  };
  unknownIds = {
    ...aliceIds,
    userId: "nobody-at-all",
    session: newObjectId(),
    document: newObjectId(),
    task: newObjectId(),
    source: "src-never-issued",
    notebook: "nb-never-issued",
    deck: newObjectId(),
    card: newObjectId(),
  };
  before = await aliceState();
});

afterAll(async () => {
  await engine.cleanup();
});

describe("route coverage", () => {
  it("has an attack for every id of every non-public route of featureRoutes, and nothing stale", async () => {
    // Prepare
    const spec = (await (await fetch(`${engine.url}/openapi.json`)).json()) as unknown;
    const idInputs = idInputsByRoute(spec);
    const protectedRoutes = allRoutes().filter((route) => route.access !== "public");
    const keys = new Set(protectedRoutes.map((route) => route.key));

    // Act
    const problems: string[] = [];
    for (const route of protectedRoutes) {
      const inputs = idInputs.get(route.key);
      if (inputs === undefined) {
        problems.push(`${route.key}: missing from /openapi.json`);
      } else if (ID_FREE.has(route.key)) {
        if (inputs.length > 0) problems.push(`${route.key}: listed as id-free but takes ${inputs.join(", ")}`);
      } else {
        const attacks = CASES[route.key];
        const covered = [...new Set((attacks ?? []).flatMap((attack) => attack.covers))].sort();
        if (!attacks) problems.push(`${route.key}: no cross-tenant case (takes ${inputs.join(", ") || "no id"})`);
        else if (JSON.stringify(covered) !== JSON.stringify(inputs)) {
          problems.push(`${route.key}: cases cover ${covered.join(", ")} but the route takes ${inputs.join(", ")}`);
        }
      }
    }
    for (const key of [...Object.keys(CASES), ...ID_FREE]) if (!keys.has(key)) problems.push(`${key}: stale entry`);

    // Assess
    expect(problems).toEqual([]);
    expect(Object.keys(CASES).length + ID_FREE.size).toBe(protectedRoutes.length);
  });
});

const attacks = Object.entries(CASES).flatMap(([key, list]) =>
  list.map((attack) => ({ name: `${key} — ${attack.label}`, key, attack })),
);

describe("user B with user A's ids", () => {
  it.each(attacks)("$name", async ({ key, attack }) => {
    // Prepare
    const route = allRoutes().find((candidate) => candidate.key === key);
    const withAlice = attack.call(aliceIds);
    const withUnknown = attack.call(unknownIds);

    // Act
    const unknownResponse = await send(withUnknown);
    const unknownBody = await unknownResponse.text();
    const response = await send(withAlice);
    const body = await response.text();

    // Assess
    expect(route?.method).toBe(withAlice.method);
    expect(withAlice.path.split("?")[0]).toMatch(pathPattern(route?.path ?? ""));
    expect(response.status).toBe(unknownResponse.status);
    if (attack.expected === "as-unknown") {
      expect(response.status).toBeLessThan(500);
    } else {
      expect(response.status).toBe(attack.expected);
      expect(withoutIds(body, aliceIds)).toBe(withoutIds(unknownBody, unknownIds));
      expect(JSON.parse(body)).toEqual(
        attack.expected === 403 ? { detail: "Admin access required" } : { detail: expect.any(String) },
      );
    }
    for (const marker of ALICE_MARKERS) expect(body).not.toContain(marker);
  });
});

describe("user A afterwards", () => {
  it("still has every session, message, document, task, deck and usage record unchanged", async () => {
    // Act
    const after = await aliceState();
    const answer = await alice.ask({ question, source_ids: [aliceIds.source] });

    // Assess
    expect(after).toEqual(before);
    expect(after.document).toMatchObject({ status: "ready", source_id: "src-alice-vault", filename: ALICE_FILE });
    expect((after.documents as { total: number }).total).toBe(2);
    expect((after.messages as Array<{ content: string }>).map((message) => message.content)).toContain(
      `Remember for me: ${ALICE_SECRET}.`,
    );
    expect((after.deck as { cards: unknown[] }).cards.length).toBeGreaterThan(0);
    expect(JSON.stringify(answer.citations)).toContain(ALICE_SECRET);
  });

  it("is invisible in B's own lists and admin views stay closed to B", async () => {
    // Prepare
    const reads = [...ID_FREE].filter((key) => key.startsWith("GET "));

    // Act
    const responses = await Promise.all(reads.map((key) => bob.get(key.slice(4))));
    const bodies = await Promise.all(responses.map((response) => response.text()));

    // Assess
    for (const [index, key] of reads.entries()) {
      const admin = allRoutes().find((route) => route.key === key)?.access === "admin";
      expect(responses[index]?.status, key).toBe(admin ? 403 : 200);
      for (const marker of ALICE_MARKERS) expect(bodies[index], key).not.toContain(marker);
    }
  });
});
