// Chat sessions and messages in the original engine's collections (`chat_sessions`,
// `chat_messages`), so existing MongoDB data stays readable. Every call takes the verified user id.
import { ForbiddenError, NotFoundError } from "../http/errors.ts";
import { isObjectId, newObjectId } from "../store/ids.ts";
import type { DocumentStore, Filter, StoredDocument } from "../store/store.ts";

export const SESSIONS = "chat_sessions";
export const MESSAGES = "chat_messages";

export type MessageRole = "user" | "assistant" | "system";

export interface Citation {
  source_id: string;
  chunk_id: string;
  page?: number;
  quote: string;
  filename?: string;
  score?: number;
}

interface SessionRecord extends StoredDocument {
  user_id: string;
  title: string;
  last_message?: string | null;
  message_count?: number;
  created_at: Date | string;
  updated_at: Date | string;
}

interface MessageRecord extends StoredDocument {
  session_id: string;
  user_id?: string;
  role?: string;
  content?: string;
  /** Legacy field names of early data. */
  sender?: string;
  text?: string;
  timestamp?: Date | string;
  created_at?: Date | string;
  citations?: Citation[];
  incomplete?: boolean;
}

export interface Session {
  id: string;
  user_id: string;
  title: string;
  last_message: string | null;
  message_count: number;
  created_at: string;
  updated_at: string;
}

export interface Message {
  id: string;
  role: MessageRole;
  content: string;
  timestamp: string;
  citations?: Citation[];
  incomplete?: boolean;
}

export interface SessionList {
  sessions: Session[];
  total: number;
  limit_reached: boolean;
  max_sessions: number;
}

export interface SessionStoreOptions {
  maxSessionsPerUser: number;
  now?: () => Date;
}

/** A stored message as a turn of the model's conversation. */
export interface HistoryTurn {
  role: MessageRole;
  content: string;
}

/**
 * A session this request found owned by its user. `append` takes it instead of reading the session
 * again: one store round trip less for each message a reply stores.
 */
export interface OwnedSession {
  readonly id: string;
  readonly userId: string;
  /** The session keeps a message counter (sessions of the original engine start without one). */
  readonly counted: boolean;
}

/** A session and the newest turns of its conversation, read together. */
export interface Conversation {
  session: OwnedSession;
  history: HistoryTurn[];
}

/** The fields a conversation's history reads (and the legacy names of early data). */
const HISTORY_PROJECTION: Record<string, 1> = { role: 1, sender: 1, content: 1, text: 1 };

const LAST_MESSAGE_PREVIEW_CHARS = 200;
const MAX_MESSAGES_PER_PAGE = 1000;

function toDate(value: Date | string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function toIso(value: Date | string | undefined, fallback: Date): string {
  return (toDate(value) ?? fallback).toISOString();
}

function normaliseRole(value: string | undefined): MessageRole {
  if (value === "assistant" || value === "ai" || value === "bot") return "assistant";
  if (value === "system") return "system";
  return "user";
}

function preview(content: string): string {
  const flat = content.replace(/\s+/g, " ").trim();
  return flat.length > LAST_MESSAGE_PREVIEW_CHARS ? `${flat.slice(0, LAST_MESSAGE_PREVIEW_CHARS - 1)}…` : flat;
}

/** Ensures the indexes of the contract (and one per new query shape, each starting with user_id). */
export async function ensureConversationIndexes(store: DocumentStore): Promise<void> {
  await store.ensureIndexes(SESSIONS, [
    { keys: { user_id: 1, created_at: -1 }, name: "user_id_1_created_at_-1" },
    { keys: { user_id: 1, updated_at: -1 }, name: "user_id_1_updated_at_-1" },
  ]);
  await store.ensureIndexes(MESSAGES, [{ keys: { session_id: 1, timestamp: 1 }, name: "session_id_1_timestamp_1" }]);
}

export type SessionStore = ReturnType<typeof createSessionStore>;

/** Session and message persistence scoped by user; other users' sessions are indistinguishable from missing ones. */
export function createSessionStore(store: DocumentStore, options: SessionStoreOptions) {
  const sessions = store.collection<SessionRecord>(SESSIONS);
  const messages = store.collection<MessageRecord>(MESSAGES);
  const now = options.now ?? (() => new Date());

  async function toSession(record: SessionRecord): Promise<Session> {
    const created = toDate(record.created_at) ?? now();
    // Sessions written by the original engine have no counter: count once, lazily.
    const count =
      typeof record.message_count === "number"
        ? record.message_count
        : await messages.countDocuments({ session_id: record._id });
    return {
      id: record._id,
      user_id: record.user_id,
      title: record.title,
      last_message: record.last_message ?? null,
      message_count: count,
      created_at: created.toISOString(),
      updated_at: toIso(record.updated_at, created),
    };
  }

  function toMessage(record: MessageRecord): Message {
    const timestamp = toDate(record.timestamp) ?? toDate(record.created_at) ?? now();
    return {
      id: record._id,
      role: normaliseRole(record.role ?? record.sender),
      content: record.content ?? record.text ?? "",
      timestamp: timestamp.toISOString(),
      ...(record.citations && record.citations.length > 0 ? { citations: record.citations } : {}),
      ...(record.incomplete ? { incomplete: true } : {}),
    };
  }

  async function findOwned(userId: string, sessionId: string): Promise<SessionRecord> {
    if (!isObjectId(sessionId)) throw new NotFoundError("Session not found");
    return ownedOrNotFound(await sessions.findOne({ _id: sessionId, user_id: userId }));
  }

  function ownedOrNotFound(record: SessionRecord | null): SessionRecord {
    if (!record) throw new NotFoundError("Session not found");
    return record;
  }

  function ownedSession(record: SessionRecord): OwnedSession {
    return { id: record._id, userId: record.user_id, counted: typeof record.message_count === "number" };
  }

  /** The session's counter, preview and activity time after `content` was stored. */
  async function counterUpdate(session: OwnedSession, content: string, stored: Date) {
    const activity = { last_message: preview(content), updated_at: stored };
    // Sessions of the original engine have no counter yet: start it from the real count (this message included).
    return session.counted
      ? { $set: activity, $inc: { message_count: 1 } }
      : { $set: { ...activity, message_count: (await messages.countDocuments({ session_id: session.id })) + 1 } };
  }

  /** The newest `limit` (at most a page) messages matching `filter`, oldest first. */
  async function newest(filter: Filter, limit: number, projection?: Record<string, 1>): Promise<MessageRecord[]> {
    const newestFirst = await messages.find(filter, {
      sort: { timestamp: -1, _id: -1 },
      limit: Math.min(limit, MAX_MESSAGES_PER_PAGE),
      ...(projection ? { projection } : {}),
    });
    return newestFirst.reverse();
  }

  return {
    async list(userId: string): Promise<SessionList> {
      const records = await sessions.find({ user_id: userId }, { sort: { updated_at: -1, _id: -1 } });
      const list = await Promise.all(records.map(toSession));
      return {
        sessions: list,
        total: list.length,
        limit_reached: list.length >= options.maxSessionsPerUser,
        max_sessions: options.maxSessionsPerUser,
      };
    },

    async create(userId: string, title: string): Promise<Session> {
      const count = await sessions.countDocuments({ user_id: userId });
      if (count >= options.maxSessionsPerUser) {
        throw new ForbiddenError(
          `Session limit reached: you have ${count} of ${options.maxSessionsPerUser} sessions. Delete a session to create a new one.`,
        );
      }
      const created = now();
      const record: SessionRecord = {
        _id: newObjectId(created),
        user_id: userId,
        title,
        last_message: null,
        message_count: 0,
        created_at: created,
        updated_at: created,
      };
      await sessions.insertOne(record);
      return toSession(record);
    },

    async get(userId: string, sessionId: string): Promise<Session> {
      return toSession(await findOwned(userId, sessionId));
    },

    async rename(userId: string, sessionId: string, title: string): Promise<Session> {
      await findOwned(userId, sessionId);
      const updated = await sessions.findOneAndUpdate(
        { _id: sessionId, user_id: userId },
        { $set: { title, updated_at: now() } },
        { returnDocument: "after" },
      );
      if (!updated) throw new NotFoundError("Session not found");
      return toSession(updated);
    },

    /** Deletes the session and its messages; returns how many messages went with it. */
    async remove(userId: string, sessionId: string): Promise<number> {
      await findOwned(userId, sessionId);
      // Messages first: a crash in between leaves a session without messages, never orphans.
      const deletedMessages = await messages.deleteMany({ session_id: sessionId });
      await sessions.deleteOne({ _id: sessionId, user_id: userId });
      return deletedMessages;
    },

    /** Messages oldest first; with `limit`, the most recent ones (before `before`, if given). */
    async messages(
      userId: string,
      sessionId: string,
      page: { limit?: number; before?: Date } = {},
    ): Promise<Message[]> {
      await findOwned(userId, sessionId);
      const filter: Record<string, unknown> = { session_id: sessionId };
      if (page.before) filter.timestamp = { $lt: page.before };
      return (await newest(filter, page.limit ?? MAX_MESSAGES_PER_PAGE)).map(toMessage);
    },

    /**
     * The session, verified as the user's, and its newest `limit` messages as the model sees them,
     * oldest first: role and text only. The two reads run concurrently (one round trip to the store
     * instead of two); the messages of a session that turns out not to be the user's are dropped
     * unread. A reply's prompt needs nothing else of the messages, and the store then copies no
     * citations (an answer over documents keeps several quotes): 60 turns of a session with
     * documents read in ~100 µs instead of ~260 through `messages`.
     */
    async conversation(userId: string, sessionId: string, limit: number): Promise<Conversation> {
      if (!isObjectId(sessionId)) throw new NotFoundError("Session not found");
      const [record, newestRecords] = await Promise.all([
        sessions.findOne({ _id: sessionId, user_id: userId }),
        newest({ session_id: sessionId }, Math.max(1, limit), HISTORY_PROJECTION),
      ]);
      return {
        session: ownedSession(ownedOrNotFound(record)),
        history: newestRecords.map((message) => ({
          role: normaliseRole(message.role ?? message.sender),
          content: message.content ?? message.text ?? "",
        })),
      };
    },

    /**
     * Stores one message and updates the session's preview, counter and activity time. With `owned`
     * (this request already verified the session) the session is not read again; if it was deleted
     * meanwhile, the message is taken back and the call fails as for a missing session.
     */
    async append(
      userId: string,
      sessionId: string,
      message: {
        role: MessageRole;
        content: string;
        timestamp?: Date;
        citations?: Citation[];
        incomplete?: boolean;
      },
      owned?: OwnedSession,
    ): Promise<Message> {
      const session =
        owned && owned.id === sessionId && owned.userId === userId
          ? owned
          : ownedSession(await findOwned(userId, sessionId));
      const stored = now();
      const record: MessageRecord = {
        _id: newObjectId(stored),
        session_id: sessionId,
        user_id: userId,
        role: message.role,
        content: message.content,
        timestamp: message.timestamp ?? stored,
        created_at: stored,
        ...(message.citations && message.citations.length > 0 ? { citations: message.citations } : {}),
        ...(message.incomplete ? { incomplete: true } : {}),
      };
      const counter = await counterUpdate(session, message.content, stored);
      // Both writes are issued together so that they share one flush to disk (group commit).
      const [, updated] = await Promise.all([
        messages.insertOne(record),
        sessions.updateOne({ _id: sessionId, user_id: userId }, counter),
      ]);
      if (updated.matchedCount === 0) {
        // The session was deleted after it was verified: no message outlives its session.
        await messages.deleteOne({ _id: record._id });
        throw new NotFoundError("Session not found");
      }
      return toMessage(record);
    },
  };
}
