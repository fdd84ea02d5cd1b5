import { createRoute, z } from "@hono/zod-openapi";
import { authErrors, BEARER, ErrorSchema } from "#shared/http/openapi.ts";
import { CitationSchema } from "../wire.ts";

const Id = z.string().min(1).max(200);

export const CreateDeckBody = z
  .object({
    text: z.string().max(200_000).optional().nullable(),
    source_ids: z.array(Id).max(100).optional().nullable(),
    session_id: Id.optional().nullable(),
    topic: z.string().trim().max(300).optional().nullable(),
    title: z.string().trim().max(200).optional().nullable(),
    count: z.number().int().min(5).max(30).default(15),
  })
  .openapi("FlashcardDeckRequest");

const Difficulty = z.enum(["easy", "medium", "hard"]);
const ScheduleState = z.enum(["new", "learning", "review", "relearning"]);

export const CardSchema = z
  .object({
    id: z.string(),
    front: z.string(),
    back: z.string(),
    category: z.string().optional(),
    difficulty: Difficulty.optional(),
    citations: z.array(CitationSchema).optional(),
    due: z.string(),
    state: ScheduleState,
    reps: z.number().int(),
  })
  .openapi("Flashcard");

const DeckSummarySchema = z
  .object({
    deck_id: z.string(),
    title: z.string(),
    card_count: z.number().int(),
    due_count: z.number().int(),
    offline: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("FlashcardDeckSummary");

export const DeckSchema = DeckSummarySchema.extend({
  cards: z.array(CardSchema),
  due: z.array(CardSchema).openapi({ description: "Cards due now, most overdue first" }),
}).openapi("FlashcardDeck");

export const DeckListSchema = z
  .object({ decks: z.array(DeckSummarySchema), total: z.number().int() })
  .openapi("FlashcardDeckList");

export const ReviewBody = z
  .object({ card_id: Id, grade: z.enum(["again", "hard", "good", "easy"]) })
  .openapi("FlashcardReviewRequest");

export const ReviewSchema = z
  .object({
    deck_id: z.string(),
    card_id: z.string(),
    grade: z.enum(["again", "hard", "good", "easy"]),
    due: z.string(),
    stability: z.number(),
    difficulty: z.number().openapi({ description: "FSRS difficulty, 1 (easy) to 10 (hard)" }),
    reps: z.number().int(),
    lapses: z.number().int(),
    state: ScheduleState,
    scheduled_days: z.number(),
    last_review: z.string(),
  })
  .openapi("FlashcardSchedule");

const DeckParams = z.object({ deck: z.string().openapi({ param: { name: "deck", in: "path" } }) });
const DeckQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) });

const tags = ["flashcards"];
const notFound = {
  404: { description: "No such deck (or card)", content: { "application/json": { schema: ErrorSchema } } },
};

export const createDeckRoute = createRoute({
  method: "post",
  path: "/ai/flashcards",
  tags,
  summary: "Generate a deck of flashcards from text, stored documents or a topic",
  security: BEARER,
  request: { body: { content: { "application/json": { schema: CreateDeckBody } }, required: true } },
  responses: {
    200: { description: "The new deck", content: { "application/json": { schema: DeckSchema } } },
    400: { description: "Not enough material", content: { "application/json": { schema: ErrorSchema } } },
    409: { description: "Documents still processing", content: { "application/json": { schema: ErrorSchema } } },
    502: { description: "The model failed", content: { "application/json": { schema: ErrorSchema } } },
    ...notFound,
    ...authErrors,
  },
});

export const listDecksRoute = createRoute({
  method: "get",
  path: "/ai/flashcards",
  tags,
  summary: "The caller's decks, newest first, with card and due counts",
  security: BEARER,
  responses: {
    200: { description: "Decks", content: { "application/json": { schema: DeckListSchema } } },
    ...authErrors,
  },
});

export const getDeckRoute = createRoute({
  method: "get",
  path: "/ai/flashcards/{deck}",
  tags,
  summary: "One deck with its cards and the queue of cards due now (`limit`)",
  security: BEARER,
  request: { params: DeckParams, query: DeckQuery },
  responses: {
    200: { description: "Deck", content: { "application/json": { schema: DeckSchema } } },
    ...notFound,
    ...authErrors,
  },
});

export const deleteDeckRoute = createRoute({
  method: "delete",
  path: "/ai/flashcards/{deck}",
  tags,
  summary: "Delete a deck and its cards",
  security: BEARER,
  request: { params: DeckParams },
  responses: {
    200: {
      description: "Deleted",
      content: {
        "application/json": {
          schema: z.object({ message: z.string(), deck_id: z.string(), deleted_cards: z.number().int() }),
        },
      },
    },
    ...notFound,
    ...authErrors,
  },
});

export const reviewRoute = createRoute({
  method: "post",
  path: "/ai/flashcards/{deck}/review",
  tags,
  summary: "Grade a card (again, hard, good, easy); returns its new FSRS schedule",
  security: BEARER,
  request: { params: DeckParams, body: { content: { "application/json": { schema: ReviewBody } }, required: true } },
  responses: {
    200: { description: "New schedule", content: { "application/json": { schema: ReviewSchema } } },
    409: { description: "Reviewed concurrently", content: { "application/json": { schema: ErrorSchema } } },
    ...notFound,
    ...authErrors,
  },
});

export const flashcardsOpenApi = [createDeckRoute, listDecksRoute, getDeckRoute, deleteDeckRoute, reviewRoute];
