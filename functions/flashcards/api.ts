// HTTP adapter of the flashcards feature: generate a deck, list and read decks, review cards.
import type { Engine } from "#shared/engine.ts";
import { createDeckStore } from "#shared/flashcards/decks.ts";
import { generateFlashcards } from "#shared/generation/flashcards.ts";
import type { App } from "#shared/http/app.ts";
import { routeRegistrar } from "#shared/http/openapi.ts";
import { requestModel } from "#shared/usage/middleware.ts";
import { flashcardsRoutes } from "./routes.ts";
import { createDeckRoute, deleteDeckRoute, getDeckRoute, listDecksRoute, reviewRoute } from "./schema.ts";

/** What the flashcards routes use of the engine (a Lambda composes only these). */
export type FlashcardsDeps = Pick<Engine, "verifyToken" | "model" | "records" | "blobs" | "retriever" | "store">;

/** Registers the flashcards routes on the app. */
export function registerFlashcards(app: App, engine: FlashcardsDeps): void {
  const route = routeRegistrar(app, flashcardsRoutes, engine.verifyToken);
  const parts = { records: engine.records, blobs: engine.blobs, retriever: engine.retriever };
  const decks = createDeckStore(engine.store);

  route(createDeckRoute, async (c) => {
    const body = c.req.valid("json");
    const userId = c.get("user").userId;
    const set = await generateFlashcards(
      { ...parts, model: requestModel(c, engine.model) },
      {
        userId,
        count: body.count,
        ...(body.text?.trim() ? { text: body.text } : {}),
        ...(body.source_ids?.length ? { sourceIds: body.source_ids } : {}),
        ...(body.session_id ? { sessionId: body.session_id } : {}),
        ...(body.topic ? { topic: body.topic } : {}),
        ...(body.title ? { title: body.title } : {}),
      },
    );
    const deck = await decks.createDeck(userId, set);
    return c.json(deck, 200);
  });

  route(listDecksRoute, async (c) => {
    const list = await decks.listDecks(c.get("user").userId);
    return c.json({ decks: list, total: list.length }, 200);
  });

  route(getDeckRoute, async (c) => {
    const { deck } = c.req.valid("param");
    const { limit } = c.req.valid("query");
    return c.json(await decks.getDeck(c.get("user").userId, deck, limit), 200);
  });

  route(deleteDeckRoute, async (c) => {
    const { deck } = c.req.valid("param");
    const deleted = await decks.deleteDeck(c.get("user").userId, deck);
    return c.json({ message: "Deck deleted successfully", deck_id: deck, deleted_cards: deleted }, 200);
  });

  route(reviewRoute, async (c) => {
    const { deck } = c.req.valid("param");
    const body = c.req.valid("json");
    return c.json(await decks.review(c.get("user").userId, deck, body.card_id, body.grade), 200);
  });
}
