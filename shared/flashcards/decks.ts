// Flashcard decks with spaced-repetition scheduling (FSRS via ts-fsrs). Decks and cards live in the
// document store; every query carries the owner's user id, so another user's deck is simply not found.
import { type Card, createEmptyCard, fsrs, type Grade, generatorParameters, Rating, State } from "ts-fsrs";
import type { Citation } from "../conversations/session-store.ts";
import type { CardDifficulty, Flashcard } from "../generation/flashcards.ts";
import { ConflictError, NotFoundError } from "../http/errors.ts";
import { isObjectId, newObjectId } from "../store/ids.ts";
import type { DocumentStore, StoredDocument } from "../store/store.ts";

export const DECKS = "flashcard_decks";
export const CARDS = "flashcard_cards";

export type ReviewGrade = "again" | "hard" | "good" | "easy";
export type ScheduleState = "new" | "learning" | "review" | "relearning";

interface DeckDocument extends StoredDocument {
  user_id: string;
  title: string;
  card_count: number;
  offline: boolean;
  created_at: Date;
  updated_at: Date;
}

interface ScheduleFields {
  stability: number;
  difficulty: number;
  elapsed_days: number;
  scheduled_days: number;
  learning_steps: number;
  reps: number;
  lapses: number;
  state: number;
  last_review: Date | null;
}

interface CardDocument extends StoredDocument {
  user_id: string;
  deck_id: string;
  position: number;
  front: string;
  back: string;
  category?: string;
  difficulty?: CardDifficulty;
  citations?: Citation[];
  due: Date;
  schedule: ScheduleFields;
  created_at: Date;
  updated_at: Date;
}

export interface CardView {
  id: string;
  front: string;
  back: string;
  category?: string;
  difficulty?: CardDifficulty;
  citations?: Citation[];
  due: string;
  state: ScheduleState;
  reps: number;
}

export interface DeckSummary {
  deck_id: string;
  title: string;
  card_count: number;
  due_count: number;
  offline: boolean;
  created_at: string;
  updated_at: string;
}

export interface DeckView extends DeckSummary {
  cards: CardView[];
  /** Cards due now, most overdue first. */
  due: CardView[];
}

export interface ReviewResult {
  deck_id: string;
  card_id: string;
  grade: ReviewGrade;
  due: string;
  stability: number;
  /** FSRS difficulty (1–10), not the card's easy/medium/hard label. */
  difficulty: number;
  reps: number;
  lapses: number;
  state: ScheduleState;
  scheduled_days: number;
  last_review: string;
}

export interface DeckStoreOptions {
  /** The clock used for due dates (tests inject one). */
  now?: () => Date;
}

const GRADES: Record<ReviewGrade, Grade> = {
  again: Rating.Again,
  hard: Rating.Hard,
  good: Rating.Good,
  easy: Rating.Easy,
};

const STATES: Record<number, ScheduleState> = {
  [State.New]: "new",
  [State.Learning]: "learning",
  [State.Review]: "review",
  [State.Relearning]: "relearning",
};

// Fuzz spreads due dates randomly; off, so that a review's outcome is reproducible.
const scheduler = fsrs(generatorParameters({ enable_fuzz: false }));

/** Creates the flashcard collections' indexes (each starts with `user_id`); safe to call repeatedly. */
export async function ensureFlashcardIndexes(store: DocumentStore): Promise<void> {
  await store.ensureIndexes(DECKS, [{ keys: { user_id: 1, created_at: -1 }, name: "user_id_1_created_at_-1" }]);
  await store.ensureIndexes(CARDS, [
    { keys: { user_id: 1, deck_id: 1, position: 1 }, name: "user_id_1_deck_id_1_position_1" },
    { keys: { user_id: 1, deck_id: 1, due: 1 }, name: "user_id_1_deck_id_1_due_1" },
  ]);
}

function toSchedule(card: Card): { due: Date; schedule: ScheduleFields } {
  return {
    due: card.due,
    schedule: {
      stability: card.stability,
      difficulty: card.difficulty,
      elapsed_days: card.elapsed_days,
      scheduled_days: card.scheduled_days,
      learning_steps: card.learning_steps,
      reps: card.reps,
      lapses: card.lapses,
      state: card.state,
      last_review: card.last_review ?? null,
    },
  };
}

function fromSchedule(doc: CardDocument): Card {
  const { last_review, ...schedule } = doc.schedule;
  return { ...schedule, due: doc.due, ...(last_review ? { last_review } : {}) };
}

function cardView(doc: CardDocument): CardView {
  return {
    id: doc._id,
    front: doc.front,
    back: doc.back,
    ...(doc.category ? { category: doc.category } : {}),
    ...(doc.difficulty ? { difficulty: doc.difficulty } : {}),
    ...(doc.citations?.length ? { citations: doc.citations } : {}),
    due: doc.due.toISOString(),
    state: STATES[doc.schedule.state] ?? "new",
    reps: doc.schedule.reps,
  };
}

export type DeckStore = ReturnType<typeof createDeckStore>;

/** The deck repository and scheduler over the document store. */
export function createDeckStore(store: DocumentStore, options: DeckStoreOptions = {}) {
  const now = options.now ?? (() => new Date());
  const decks = store.collection<DeckDocument>(DECKS);
  const cards = store.collection<CardDocument>(CARDS);
  let indexes: Promise<void> | undefined;
  // Indexes are created on first use, so engines that never touch flashcards pay nothing.
  const ready = () => {
    indexes ??= ensureFlashcardIndexes(store).catch((error: unknown) => {
      indexes = undefined;
      throw error;
    });
    return indexes;
  };

  async function ownedDeck(userId: string, deckId: string): Promise<DeckDocument> {
    await ready();
    const deck = isObjectId(deckId) ? await decks.findOne({ _id: deckId, user_id: userId }) : null;
    if (!deck) throw new NotFoundError("Flashcard deck not found");
    return deck;
  }

  async function summary(deck: DeckDocument, at: Date): Promise<DeckSummary> {
    const dueCount = await cards.countDocuments({ user_id: deck.user_id, deck_id: deck._id, due: { $lte: at } });
    return {
      deck_id: deck._id,
      title: deck.title,
      card_count: deck.card_count,
      due_count: dueCount,
      offline: deck.offline,
      created_at: deck.created_at.toISOString(),
      updated_at: deck.updated_at.toISOString(),
    };
  }

  return {
    /** Stores a new deck of cards for the user; every card is due at once. */
    async createDeck(
      userId: string,
      input: { title: string; cards: Flashcard[]; offline: boolean },
    ): Promise<DeckView> {
      await ready();
      const at = now();
      const deck: DeckDocument = {
        _id: newObjectId(at),
        user_id: userId,
        title: input.title,
        card_count: input.cards.length,
        offline: input.offline,
        created_at: at,
        updated_at: at,
      };
      const docs: CardDocument[] = input.cards.map((card, position) => ({
        _id: newObjectId(at),
        user_id: userId,
        deck_id: deck._id,
        position,
        front: card.front,
        back: card.back,
        ...(card.category ? { category: card.category } : {}),
        ...(card.difficulty ? { difficulty: card.difficulty } : {}),
        ...(card.citations?.length ? { citations: card.citations } : {}),
        ...toSchedule(createEmptyCard(at)),
        created_at: at,
        updated_at: at,
      }));
      // Cards first: a crash midway leaves orphan cards nobody can list, never a deck missing cards.
      for (const doc of docs) await cards.insertOne(doc);
      await decks.insertOne(deck);
      const views = docs.map(cardView);
      return { ...(await summary(deck, at)), cards: views, due: views };
    },

    /** The user's decks, newest first, with card and due counts. */
    async listDecks(userId: string): Promise<DeckSummary[]> {
      await ready();
      const at = now();
      const owned = await decks.find({ user_id: userId }, { sort: { created_at: -1 }, limit: 500 });
      return Promise.all(owned.map((deck) => summary(deck, at)));
    },

    /** One deck with all its cards and the queue of cards due now (at most `limit`). */
    async getDeck(userId: string, deckId: string, limit = 20): Promise<DeckView> {
      const deck = await ownedDeck(userId, deckId);
      const at = now();
      const all = await cards.find({ user_id: userId, deck_id: deck._id }, { sort: { position: 1 } });
      const due = await cards.find(
        { user_id: userId, deck_id: deck._id, due: { $lte: at } },
        { sort: { due: 1, position: 1 }, limit },
      );
      return { ...(await summary(deck, at)), cards: all.map(cardView), due: due.map(cardView) };
    },

    /** Records a review and moves the card's due date as FSRS dictates. */
    async review(userId: string, deckId: string, cardId: string, grade: ReviewGrade): Promise<ReviewResult> {
      const deck = await ownedDeck(userId, deckId);
      const doc = isObjectId(cardId) ? await cards.findOne({ _id: cardId, user_id: userId, deck_id: deck._id }) : null;
      if (!doc) throw new NotFoundError("Card not found in this deck");
      const at = now();
      const { card } = scheduler.next(fromSchedule(doc), at, GRADES[grade]);
      const next = toSchedule(card);
      // Guarded by the review count: two clients grading the same card at once cannot both apply.
      const result = await cards.updateOne(
        { _id: doc._id, user_id: userId, "schedule.reps": doc.schedule.reps },
        { $set: { ...next, updated_at: at } },
      );
      if (result.matchedCount === 0) throw new ConflictError("This card was just reviewed elsewhere. Reload the deck.");
      await decks.updateOne({ _id: deck._id, user_id: userId }, { $set: { updated_at: at } });
      return {
        deck_id: deck._id,
        card_id: doc._id,
        grade,
        due: card.due.toISOString(),
        stability: card.stability,
        difficulty: card.difficulty,
        reps: card.reps,
        lapses: card.lapses,
        state: STATES[card.state] ?? "new",
        scheduled_days: card.scheduled_days,
        last_review: at.toISOString(),
      };
    },

    /** Deletes a deck and its cards; returns how many cards went. */
    async deleteDeck(userId: string, deckId: string): Promise<number> {
      const deck = await ownedDeck(userId, deckId);
      await decks.deleteOne({ _id: deck._id, user_id: userId });
      return cards.deleteMany({ user_id: userId, deck_id: deck._id });
    },
  };
}
