import type { FeatureRoutes } from "#shared/http/routes.ts";

/** Flashcard decks generated from the student's material, reviewed with spaced repetition. */
export const flashcardsRoutes: FeatureRoutes = {
  feature: "flashcards",
  routes: [
    { method: "POST", path: "/ai/flashcards", access: "user", streaming: false },
    { method: "GET", path: "/ai/flashcards", access: "user", streaming: false },
    { method: "GET", path: "/ai/flashcards/{deck}", access: "user", streaming: false },
    { method: "DELETE", path: "/ai/flashcards/{deck}", access: "user", streaming: false },
    { method: "POST", path: "/ai/flashcards/{deck}/review", access: "user", streaming: false },
  ],
};
