// Mind maps and flashcard decks through the local runtime: offline (the embedded default) from an
// uploaded document, and with a stub model on loopback (valid JSON, invalid JSON, placeholder
// labels). Decks belong to their owner: another user gets 404 on every deck route.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { toChatMindMap } from "#shared/generation/mindmap.ts";
import { type DocumentsClient, documentsClient } from "#test/support/documents.ts";
import { clientFor, startTestEngine, type TestEngine } from "#test/support/engine.ts";
import { mindMapProblems } from "#test/support/frontend-parsers.ts";
import { type StubLlm, startStubLlm } from "#test/support/stub-llm.ts";

const WATER = readFileSync(new URL("../fixtures/corpus/water-cycle.md", import.meta.url), "utf8");

interface TreeNode {
  id: string;
  label: string;
  level: number;
  children: TreeNode[];
}

interface MindMapBody {
  topic: string;
  root: TreeNode;
  total_nodes: number;
  user_id: string;
  offline: boolean;
  citations?: Array<{ source_id: string; chunk_id: string; quote: string }>;
}

interface CardBody {
  id: string;
  front: string;
  back: string;
  due: string;
  state: string;
  citations?: Array<{ source_id: string; quote: string }>;
}

interface DeckBody {
  deck_id: string;
  title: string;
  card_count: number;
  due_count: number;
  offline: boolean;
  cards: CardBody[];
  due: CardBody[];
}

function flatten(node: TreeNode): TreeNode[] {
  return [node, ...node.children.flatMap(flatten)];
}

describe("offline engine", () => {
  let engine: TestEngine;
  let alice: DocumentsClient;
  let bob: ReturnType<typeof clientFor>;

  beforeAll(async () => {
    engine = await startTestEngine();
    alice = documentsClient(engine.url, await engine.token("alice"));
    bob = clientFor(engine.url, await engine.token("bob"));
    const upload = await alice.uploadFile("water-cycle.md", new TextEncoder().encode(WATER), {
      source_id: "src-water",
    });
    expect((await alice.settled(upload.document_id)).status).toBe("ready");
  });

  afterAll(async () => {
    await engine.cleanup();
  });

  describe("POST /ai/mindmap", () => {
    it("builds a cited key-phrase map of the topic from the user's document", async () => {
      // Act
      const started = performance.now();
      const response = await alice.send("POST", "/ai/mindmap", { topic: "The water cycle", depth: 2 });
      const elapsed = performance.now() - started;
      const body = (await response.json()) as MindMapBody;

      // Assess
      expect(response.status).toBe(200);
      expect(body).toMatchObject({ topic: "The water cycle", user_id: "alice", offline: true });
      expect(body.root).toMatchObject({ id: "root", label: "The water cycle", level: 0 });
      const nodes = flatten(body.root);
      expect(body.total_nodes).toBe(nodes.length);
      expect(nodes.length).toBeGreaterThanOrEqual(10);
      expect(Math.max(...nodes.map((node) => node.level))).toBe(2);
      expect(mindMapProblems(toChatMindMap(body.root), WATER)).toEqual([]);
      expect(body.citations?.length).toBeGreaterThan(0);
      for (const citation of body.citations ?? []) expect(citation.source_id).toBe("src-water");
      expect(elapsed).toBeLessThan(2_000);
    });

    it("without documents keeps only the topic, honestly marked offline", async () => {
      // Act
      const response = await alice.send("POST", "/ai/mindmap", { topic: "Volcanoes", use_documents: false });
      const body = (await response.json()) as MindMapBody;

      // Assess
      expect(response.status).toBe(200);
      expect(body.root).toEqual({ id: "root", label: "Volcanoes", level: 0, children: [] });
      expect(body.total_nodes).toBe(1);
      expect(body.citations).toBeUndefined();
    });

    it("answers 404 for a source the caller does not have and 422 for a bad depth", async () => {
      // Act
      const unknown = await bob.send("POST", "/ai/mindmap", { topic: "Water", source_ids: ["src-water"] });
      const deep = await alice.send("POST", "/ai/mindmap", { topic: "Water", depth: 5 });

      // Assess
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { detail: string }).detail).toContain("src-water");
      expect(deep.status).toBe(422);
    });
  });

  describe("POST /ai/mindmap/render", () => {
    it("renders Mermaid and an SVG from a tree in the client's aliases", async () => {
      // Prepare
      const tree = { name: "Water", nodes: [{ text: "Evaporation" }, { label: 'Rain "shadow"', children: [] }] };

      // Act
      const response = await alice.send("POST", "/ai/mindmap/render?format=both", tree);
      const body = (await response.json()) as { mermaid: string; json: TreeNode; svg_base64?: string };

      // Assess
      expect(response.status).toBe(200);
      expect(body.mermaid).toBe(
        'graph TD\n  n1["Water"]\n  n2["Evaporation"]\n  n1 --> n2\n  n3["Rain #quot;shadow#quot;"]\n  n1 --> n3',
      );
      expect(body.json.children.map((child) => child.id)).toEqual(["n2", "n3"]);
      const svg = Buffer.from(body.svg_base64 ?? "", "base64").toString("utf8");
      expect(svg).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
      expect(svg).toContain("Rain &quot;shadow&quot;");
    });

    it("leaves the SVG out for format=mermaid and refuses a tree without labels", async () => {
      // Act
      const mermaid = await alice.send("POST", "/ai/mindmap/render?format=mermaid", { label: "Root" });
      const bad = await alice.send("POST", "/ai/mindmap/render", { children: [{ label: "orphan" }] });

      // Assess
      expect(mermaid.status).toBe(200);
      expect(await mermaid.json()).not.toHaveProperty("svg_base64");
      expect(bad.status).toBe(422);
      expect(((await bad.json()) as { detail: Array<{ loc: unknown[] }> }).detail[0]?.loc).toEqual(["body", "label"]);
    });
  });

  describe("flashcard decks", () => {
    let deck: DeckBody;

    beforeEach(async () => {
      const response = await alice.send("POST", "/ai/flashcards", { source_ids: ["src-water"], count: 15 });
      expect(response.status).toBe(200);
      deck = (await response.json()) as DeckBody;
    });

    it("creates a deck of definition and cloze cards from a document, all due now, with citations", async () => {
      // Assess
      expect(deck).toMatchObject({ title: "The Water Cycle", card_count: 15, due_count: 15, offline: true });
      expect(deck.cards).toHaveLength(15);
      expect(deck.cards[0]).toMatchObject({ front: "What is evaporation?", state: "new" });
      expect(deck.cards[0]?.citations?.[0]).toMatchObject({ source_id: "src-water" });
      expect(new Set(deck.cards.map((card) => card.front)).size).toBe(15);
    });

    it("reschedules reviewed cards as the grades dictate and shrinks the due queue", async () => {
      // Prepare
      const [first, second, third] = deck.cards;

      // Act
      const again = await alice.send("POST", `/ai/flashcards/${deck.deck_id}/review`, {
        card_id: first?.id,
        grade: "again",
      });
      const good = await alice.send("POST", `/ai/flashcards/${deck.deck_id}/review`, {
        card_id: second?.id,
        grade: "good",
      });
      const easy = await alice.send("POST", `/ai/flashcards/${deck.deck_id}/review`, {
        card_id: third?.id,
        grade: "easy",
      });
      const view = (await (await alice.get(`/ai/flashcards/${deck.deck_id}?limit=5`)).json()) as DeckBody;

      // Assess
      expect([again.status, good.status, easy.status]).toEqual([200, 200, 200]);
      const dues = await Promise.all(
        [again, good, easy].map(async (r) => Date.parse(((await r.json()) as { due: string }).due)),
      );
      expect(dues[0]).toBeLessThan(dues[1] ?? 0);
      expect(dues[1]).toBeLessThan(dues[2] ?? 0);
      expect(view.due_count).toBe(12);
      expect(view.due).toHaveLength(5);
      expect(view.due.map((card) => card.id)).not.toContain(third?.id);
    });

    it("lists the caller's decks with counts and deletes a deck", async () => {
      // Act
      const list = (await (await alice.get("/ai/flashcards")).json()) as { decks: DeckBody[]; total: number };
      const deleted = await alice.delete(`/ai/flashcards/${deck.deck_id}`);
      const after = await alice.get(`/ai/flashcards/${deck.deck_id}`);

      // Assess
      expect(list.decks.find((item) => item.deck_id === deck.deck_id)).toMatchObject({ card_count: 15, due_count: 15 });
      expect(deleted.status).toBe(200);
      expect(await deleted.json()).toMatchObject({ deck_id: deck.deck_id, deleted_cards: 15 });
      expect(after.status).toBe(404);
    });

    it("gives another user 404 on the deck, its review and its deletion, and an empty list", async () => {
      // Act
      const read = await bob.get(`/ai/flashcards/${deck.deck_id}`);
      const review = await bob.send("POST", `/ai/flashcards/${deck.deck_id}/review`, {
        card_id: deck.cards[0]?.id,
        grade: "easy",
      });
      const remove = await bob.delete(`/ai/flashcards/${deck.deck_id}`);
      const list = (await (await bob.get("/ai/flashcards")).json()) as { total: number };
      const still = (await (await alice.get(`/ai/flashcards/${deck.deck_id}`)).json()) as DeckBody;

      // Assess
      expect([read.status, review.status, remove.status]).toEqual([404, 404, 404]);
      expect(((await read.json()) as { detail: string }).detail).toBe("Flashcard deck not found");
      expect(list.total).toBe(0);
      expect(still.due_count).toBe(15);
    });
  });

  it("makes cards from inline text and refuses too little text or a bad count", async () => {
    // Act
    const fromText = await alice.send("POST", "/ai/flashcards", { text: WATER, title: "Hydrology", count: 5 });
    const tooShort = await alice.send("POST", "/ai/flashcards", { text: "Hello there." });
    const badCount = await alice.send("POST", "/ai/flashcards", { text: WATER, count: 3 });
    const badGrade = await alice.send("POST", "/ai/flashcards/000000000000000000000000/review", {
      card_id: "x",
      grade: "perfect",
    });

    // Assess
    expect(fromText.status).toBe(200);
    expect(await fromText.json()).toMatchObject({ title: "Hydrology", card_count: 5 });
    expect(tooShort.status).toBe(400);
    expect(((await tooShort.json()) as { detail: string }).detail).toMatch(/too short/);
    expect(badCount.status).toBe(422);
    expect(badGrade.status).toBe(422);
  });
});

describe("with a model", () => {
  let stub: StubLlm;
  let engine: TestEngine;
  let alice: ReturnType<typeof clientFor>;

  const completions = () => stub.requests.filter((request) => request.path === "/v1/chat/completions");

  beforeAll(async () => {
    stub = await startStubLlm();
    engine = await startTestEngine({ LLM_BASE_URL: stub.baseUrl, LLM_MODEL: "stub-model", LLM_MAX_RETRIES: "0" });
    alice = clientFor(engine.url, await engine.token("alice"));
  });

  afterAll(async () => {
    await engine.cleanup();
    await stub.close();
  });

  beforeEach(() => {
    stub.requests.length = 0;
  });

  it("returns the model's mind map", async () => {
    // Prepare
    const tree = {
      root: {
        label: "Volcanoes",
        children: [
          { label: "Magma chamber pressure", children: [{ label: "Dissolved gas bubbles" }] },
          { label: "Types of eruptions", children: [{ label: "Explosive ash columns" }] },
        ],
      },
    };
    stub.setBehaviour({ tokens: [JSON.stringify(tree)] });

    // Act
    const response = await alice.send("POST", "/ai/mindmap", { topic: "Volcanoes", use_documents: false });
    const body = (await response.json()) as MindMapBody;

    // Assess
    expect(response.status).toBe(200);
    expect(body.offline).toBe(false);
    expect(flatten(body.root).map((node) => node.label)).toEqual([
      "Volcanoes",
      "Magma chamber pressure",
      "Dissolved gas bubbles",
      "Types of eruptions",
      "Explosive ash columns",
    ]);
    expect(completions()).toHaveLength(1);
  });

  it("answers 502 with a detail when the model's JSON stays invalid after a repair", async () => {
    // Prepare
    stub.setBehaviour({ tokens: ["Sure! Here is your mind map: {not json"] });

    // Act
    const response = await alice.send("POST", "/ai/mindmap", { topic: "Volcanoes", use_documents: false });

    // Assess
    expect(response.status).toBe(502);
    expect(((await response.json()) as { detail: string }).detail).toBe(
      "The language model did not produce a valid mind map. Please try again.",
    );
    expect(completions()).toHaveLength(2);
  });

  it("refuses placeholder labels the model keeps after being told to fix them", async () => {
    // Prepare
    const placeholder = {
      root: { label: "Main Topic Name", children: [{ label: "Subtopic 1" }, { label: "Subtopic 2" }] },
    };
    stub.setBehaviour({ tokens: [JSON.stringify(placeholder)] });

    // Act
    const response = await alice.send("POST", "/ai/mindmap", { topic: "Volcanoes", use_documents: false });

    // Assess
    expect(response.status).toBe(502);
    expect(completions()).toHaveLength(2);
    const second = completions()[1]?.body as { messages: Array<{ content: string }> } | undefined;
    const repair = second?.messages.at(-1)?.content;
    expect(repair).toContain("placeholder");
  });

  it("stores the model's flashcards as a deck, and answers 502 when its JSON is invalid", async () => {
    // Prepare
    const cards = Array.from({ length: 6 }, (_, i) => ({
      front: `What erupts from vent ${i + 1}?`,
      back: `Lava and ash from vent ${i + 1}.`,
      difficulty: "medium",
    }));
    stub.setBehaviour({ tokens: [JSON.stringify({ title: "Volcano basics", cards })] });

    // Act
    const created = await alice.send("POST", "/ai/flashcards", { text: WATER, count: 5 });
    stub.setBehaviour({ tokens: ["not json at all"] });
    const failed = await alice.send("POST", "/ai/flashcards", { text: WATER, count: 5 });

    // Assess
    expect(created.status).toBe(200);
    const deck = (await created.json()) as DeckBody;
    expect(deck).toMatchObject({ title: "Volcano basics", card_count: 5, offline: false });
    expect(deck.cards[0]).toMatchObject({ front: "What erupts from vent 1?", back: "Lava and ash from vent 1." });
    expect(failed.status).toBe(502);
    expect(await failed.json()).toHaveProperty("detail");
  });
});
