// Decks and FSRS scheduling over the embedded store, with an injected clock.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDeckStore, type DeckStore } from "#shared/flashcards/decks.ts";
import { NotFoundError } from "#shared/http/errors.ts";
import { openEmbeddedStore } from "#shared/store/embedded.ts";
import type { DocumentStore } from "#shared/store/store.ts";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const START = new Date("2026-03-02T09:00:00.000Z");

let dir: string;
let store: DocumentStore;
let clock: Date;
let decks: DeckStore;

const CARDS = Array.from({ length: 6 }, (_, i) => ({ front: `Question ${i + 1}?`, back: `Answer ${i + 1}.` }));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "collabry-decks-"));
  store = await openEmbeddedStore({ dir });
  decks = createDeckStore(store, { now: () => clock });
});

afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  clock = START;
});

async function newDeck(userId = "alice") {
  return decks.createDeck(userId, { title: "Water", cards: CARDS, offline: true });
}

async function reviewAt(at: Date, deckId: string, cardId: string, grade: "again" | "hard" | "good" | "easy") {
  clock = at;
  return decks.review("alice", deckId, cardId, grade);
}

describe("deck store", () => {
  it("creates a deck whose cards are all due at once, in order", async () => {
    // Act
    const deck = await newDeck();

    // Assess
    expect(deck).toMatchObject({ title: "Water", card_count: 6, due_count: 6, offline: true });
    expect(deck.cards.map((card) => card.front)).toEqual(CARDS.map((card) => card.front));
    expect(deck.cards.every((card) => card.due === START.toISOString() && card.state === "new")).toBe(true);
  });

  it("orders new-card grades again < hard < good < easy", async () => {
    // Prepare
    const deck = await newDeck();
    const [a, b, c, d] = deck.cards;

    // Act
    const dues = await Promise.all(
      (
        [
          [a, "again"],
          [b, "hard"],
          [c, "good"],
          [d, "easy"],
        ] as const
      ).map(([card, grade]) => decks.review("alice", deck.deck_id, card?.id ?? "", grade)),
    );

    // Assess
    const times = dues.map((result) => Date.parse(result.due));
    expect(times[0]).toBeLessThan(times[1] ?? 0);
    expect(times[1]).toBeLessThan(times[2] ?? 0);
    expect(times[2]).toBeLessThan(times[3] ?? 0);
    expect((times[0] ?? 0) - START.getTime()).toBeLessThanOrEqual(10 * MINUTE);
    expect((times[3] ?? 0) - START.getTime()).toBeGreaterThanOrEqual(DAY);
    expect(dues[3]).toMatchObject({ reps: 1, lapses: 0, state: "review" });
  });

  it("moves due forward with each good review and counts a lapse on again", async () => {
    // Prepare
    const deck = await newDeck();
    const id = deck.cards[0]?.id ?? "";

    // Act
    const first = await reviewAt(START, deck.deck_id, id, "good");
    const second = await reviewAt(new Date(first.due), deck.deck_id, id, "good");
    const third = await reviewAt(new Date(second.due), deck.deck_id, id, "good");
    const lapse = await reviewAt(new Date(third.due), deck.deck_id, id, "again");

    // Assess
    expect(Date.parse(second.due)).toBeGreaterThan(Date.parse(first.due));
    expect(Date.parse(third.due) - Date.parse(second.due)).toBeGreaterThan(
      Date.parse(second.due) - Date.parse(first.due),
    );
    expect(third.stability).toBeGreaterThan(first.stability);
    expect(lapse).toMatchObject({ reps: 4, lapses: 1, state: "relearning" });
    expect(Date.parse(lapse.due) - Date.parse(third.due)).toBeLessThan(DAY);
  });

  it("leaves a reviewed card out of the due queue until its due date", async () => {
    // Prepare
    const deck = await newDeck();
    const id = deck.cards[0]?.id ?? "";
    const result = await decks.review("alice", deck.deck_id, id, "easy");

    // Act
    const now = await decks.getDeck("alice", deck.deck_id);
    clock = new Date(Date.parse(result.due) + MINUTE);
    const later = await decks.getDeck("alice", deck.deck_id, 3);

    // Assess
    expect(now.due_count).toBe(5);
    expect(now.due.map((card) => card.id)).not.toContain(id);
    expect(later.due_count).toBe(6);
    expect(later.due).toHaveLength(3);
  });

  it("lists only the caller's decks and hides other users' decks and cards", async () => {
    // Prepare
    const deck = await newDeck("alice");
    const id = deck.cards[0]?.id ?? "";

    // Act
    const bobs = await decks.listDecks("bob");
    const alices = await decks.listDecks("alice");

    // Assess
    expect(bobs).toEqual([]);
    expect(alices.map((summary) => summary.deck_id)).toContain(deck.deck_id);
    await expect(decks.getDeck("bob", deck.deck_id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(decks.review("bob", deck.deck_id, id, "good")).rejects.toBeInstanceOf(NotFoundError);
    await expect(decks.deleteDeck("bob", deck.deck_id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(decks.getDeck("alice", "not-an-id")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("deletes a deck with its cards", async () => {
    // Prepare
    const deck = await newDeck();

    // Act
    const deleted = await decks.deleteDeck("alice", deck.deck_id);

    // Assess
    expect(deleted).toBe(6);
    await expect(decks.getDeck("alice", deck.deck_id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.collection("flashcard_cards").countDocuments({ deck_id: deck.deck_id })).toBe(0);
  });
});
