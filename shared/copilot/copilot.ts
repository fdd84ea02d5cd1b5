// The study copilot's conversation loop: store the student's message, send the recent history to
// the chat model, forward tokens as they arrive, store the answer. Transport-free: the session
// stream, the generic stream and /ai/chat all drive it.
import type { Citation, HistoryTurn, OwnedSession, SessionStore } from "../conversations/session-store.ts";
import { AppError } from "../http/errors.ts";
import type { ChatChunk, ChatModel, ChatTurn, TokenUsage } from "../llm/chat-model.ts";
import { buildChatMessages, STUDY_COPILOT_SYSTEM_PROMPT } from "../llm/prompts.ts";
import { type DegradedNotice, degradedNoticeOf } from "../llm/resilient.ts";
import type { Logger, LogSink } from "../observability/logger.ts";
import type { EngineMetrics } from "../observability/metrics.ts";
import { extractiveAnswer } from "../rag/extractive.ts";
import { groundedQuestion, groundedSystemPrompt } from "../rag/grounding.ts";
import type { RetrievalScope, RetrievedPassage, Retriever } from "../rag/retrieve.ts";
import { meteredModel, type UsageMeter } from "../usage/meter.ts";
import { type ArtifactDeps, type ArtifactKind, detectArtifact, produceArtifact } from "./artifacts.ts";

export interface CopilotDeps {
  sessions: SessionStore;
  model: ChatModel;
  logger: Logger;
  metrics: EngineMetrics;
  retriever: Retriever;
  historyTokenBudget: number;
  /** Generators for study artifacts asked for in chat (quiz, mind map, flashcards, …). */
  artifacts?: ArtifactDeps;
}

/** What a turn is about: the student, the session, the message and the material to ground it in. */
export interface TurnRequest {
  userId: string;
  sessionId: string;
  message: string;
  /** Ground the answer in the student's material within this scope. */
  rag?: { scope: RetrievalScope; topK: number };
  /** The request's usage meter: the turn's model calls (its answer or its study artifact) are charged to it. */
  meter?: UsageMeter;
}

/**
 * A turn whose session is verified as the student's, with its history read and its passages being
 * retrieved (see `prepare`).
 */
export interface PreparedTurn extends TurnRequest {
  readonly session: OwnedSession;
  readonly history: HistoryTurn[];
  /** The study artifact the message asks for, if any (then nothing is retrieved for it). */
  readonly artifact: ArtifactKind | undefined;
  /** The passages for the message: retrieval started with the session read and `reply` awaits it. */
  readonly passages: Promise<RetrievedPassage[]>;
}

/** How a reply reaches its caller. */
export interface ReplyHooks {
  /** The request's logger (with its request id); the engine's logger otherwise. */
  logger?: LogSink;
  /** Called with each token as the model produces it. */
  onToken?: (token: string) => Promise<void> | void;
  /** Called once, before any token, when the offline engine answers because the model is unavailable. */
  onNotice?: (notice: DegradedNotice) => Promise<void> | void;
}

export interface Reply {
  text: string;
  /** True when generation failed part-way; the partial answer was stored marked incomplete. */
  incomplete: boolean;
  /** Why generation stopped early, in words safe to show the student. */
  error?: string;
  citations: Citation[];
  usage?: TokenUsage;
  model: string;
  timeToFirstTokenMs?: number;
  /** Set when the offline engine answered because the model is unavailable. */
  degraded?: DegradedNotice;
}

/** Generation failed before any token: nothing was stored for the assistant (502 on JSON routes). */
export class GenerationFailedError extends AppError {
  override readonly name = "GenerationFailedError";
  constructor(message: string) {
    super(502, message);
  }
}

/** How many stored messages are read to build the history window (the token budget trims further). */
const HISTORY_WINDOW_MESSAGES = 60;

/**
 * Passages below this similarity that also hold under half of the message's content terms are
 * noise for a chat turn (they would cite unrelated text); see RetrieveOptions.relevantOnly.
 */
const MIN_CHAT_PASSAGE_SCORE = 0.15;

async function* wordsOf(text: string): AsyncIterable<ChatChunk> {
  for (const word of text.match(/\S+\s*|\s+/g) ?? []) yield { text: word };
}

/** Passes chunks through; when the fallback answers, reports it first and answers from the material when there is some. */
async function* announcingFallback(
  source: AsyncIterable<ChatChunk>,
  onDegraded: (notice: DegradedNotice) => Promise<void>,
  fromMaterial: (() => AsyncIterable<ChatChunk>) | undefined,
): AsyncIterable<ChatChunk> {
  for await (const chunk of source) {
    const notice = degradedNoticeOf(chunk);
    if (notice === undefined) {
      yield chunk;
      continue;
    }
    await onDegraded(notice);
    // As when no model is configured: an answer quoted from the material beats the "unavailable" text.
    if (fromMaterial) {
      yield* fromMaterial();
      return;
    }
  }
}

function toCitations(passages: RetrievedPassage[]): Citation[] {
  return passages.map((passage) => ({
    source_id: passage.source_id,
    chunk_id: passage.chunk_id,
    page: passage.page,
    quote: passage.quote,
    filename: passage.filename,
    score: passage.score,
  }));
}

function publicMessage(error: unknown): string {
  if (error instanceof Error && "expose" in error && error.expose === true) return error.message;
  return "The study copilot could not generate an answer. Please try again.";
}

export type Copilot = ReturnType<typeof createCopilot>;

/** An artifact reply: produced whole by the study-tool generators, then streamed and stored like any answer. */
async function replyWithArtifact(
  artifacts: ArtifactDeps,
  kind: ArtifactKind,
  request: TurnRequest,
  hooks: ReplyHooks,
  logger: LogSink,
): Promise<Reply> {
  const started = performance.now();
  let produced: Awaited<ReturnType<typeof produceArtifact>>;
  try {
    produced = await produceArtifact(artifacts, kind, request);
  } catch (error) {
    logger.warn("artifact generation failed", {
      artifact: kind,
      error: error instanceof Error ? error.name : "unknown",
    });
    throw new GenerationFailedError(publicMessage(error));
  }
  const timeToFirstTokenMs = performance.now() - started;
  let clientGone = false;
  for await (const chunk of wordsOf(produced.text)) {
    if (!hooks.onToken || clientGone) break;
    try {
      await hooks.onToken(chunk.text);
    } catch {
      clientGone = true;
    }
  }
  return { text: produced.text, incomplete: false, citations: produced.citations, model: kind, timeToFirstTokenMs };
}

/** Builds the copilot over a session store and a chat model. */
export function createCopilot(deps: CopilotDeps) {
  return {
    /**
     * Everything a reply reads before the model is called, at once: the session (verified as the
     * student's: NotFoundError otherwise, before any response starts), its recent history and the
     * retrieval of passages for the message. With MongoDB each is a round trip, so reading them
     * concurrently shortens the time to the first token by as many round trips as it saves.
     * Retrieval only searches the student's own documents; for a session that is not theirs it finds
     * nothing and its result is dropped. Its failure fails the reply, not this call.
     */
    async prepare(request: TurnRequest): Promise<PreparedTurn> {
      const artifact = deps.artifacts ? detectArtifact(request.message) : undefined;
      const passages =
        request.rag && !artifact
          ? deps.retriever
              .retrieve(request.rag.scope, request.message, request.rag.topK, {
                relevantOnly: { minCosine: MIN_CHAT_PASSAGE_SCORE },
              })
              .then((result) => result.passages)
          : Promise.resolve([]);
      // Awaited by `reply`; this only keeps a rejection from being reported as unhandled meanwhile.
      passages.catch(() => undefined);
      const { session, history } = await deps.sessions.conversation(
        request.userId,
        request.sessionId,
        HISTORY_WINDOW_MESSAGES,
      );
      return { ...request, session, history, artifact, passages };
    },

    /**
     * Answers one prepared turn. The reply is generated to the end even if the client went away
     * (`onToken` errors are ignored), so the stored conversation is complete on reload.
     */
    async reply(turn: PreparedTurn, hooks: ReplyHooks = {}): Promise<Reply> {
      const logger = hooks.logger ?? deps.logger;
      const store = (message: Parameters<SessionStore["append"]>[2]) =>
        deps.sessions.append(turn.userId, turn.sessionId, message, turn.session);
      const model = meteredModel(deps.model, turn.meter);
      // The student's message is stored while the model call starts: its write (and flush to disk)
      // overlaps the model's first-token delay instead of preceding it. No token reaches the client
      // before the message is stored, and a failed store fails the reply.
      const userMessageStored = store({ role: "user", content: turn.message });
      // Awaited below; this only keeps a rejection from being reported as unhandled meanwhile.
      userMessageStored.catch(() => undefined);
      if (deps.artifacts && turn.artifact) {
        await userMessageStored;
        const artifacts = { ...deps.artifacts, model: meteredModel(deps.artifacts.model, turn.meter) };
        const reply = await replyWithArtifact(artifacts, turn.artifact, turn, hooks, logger);
        await store({ role: "assistant", content: reply.text, citations: reply.citations });
        return reply;
      }
      const turns: ChatTurn[] = turn.history
        .filter((message) => message.role !== "system" && message.content.trim() !== "")
        .map((message) => ({ role: message.role, content: message.content }));
      let passages: RetrievedPassage[];
      try {
        passages = await turn.passages;
      } catch (error) {
        await userMessageStored;
        throw error;
      }
      const citations = toCitations(passages);
      const messages = buildChatMessages({
        systemPrompt:
          passages.length > 0 ? groundedSystemPrompt(STUDY_COPILOT_SYSTEM_PROMPT) : STUDY_COPILOT_SYSTEM_PROMPT,
        history: turns,
        userMessage: passages.length > 0 ? groundedQuestion(turn.message, passages) : turn.message,
        historyTokenBudget: deps.historyTokenBudget,
      });
      // Offline, an answer from the material beats the "no model" notice.
      const degraded: { notice?: DegradedNotice } = {};
      const source =
        model.info.kind === "offline" && passages.length > 0
          ? wordsOf(extractiveAnswer(turn.message, passages))
          : announcingFallback(
              model.stream({ messages }),
              async (notice) => {
                degraded.notice = notice;
                try {
                  await hooks.onNotice?.(notice);
                } catch {
                  // The client went away; the answer is still generated and stored.
                }
              },
              passages.length > 0 ? () => wordsOf(extractiveAnswer(turn.message, passages)) : undefined,
            );

      const started = performance.now();
      let text = "";
      let usage: TokenUsage | undefined;
      let timeToFirstTokenMs: number | undefined;
      let clientGone = false;
      try {
        for await (const chunk of source) {
          if (chunk.usage) usage = chunk.usage;
          if (chunk.text === "") continue;
          if (timeToFirstTokenMs === undefined) {
            await userMessageStored;
            timeToFirstTokenMs = performance.now() - started;
          }
          text += chunk.text;
          if (hooks.onToken && !clientGone) {
            try {
              // Awaited only when the client makes the stream wait (most tokens are taken at once).
              const sending = hooks.onToken(chunk.text);
              if (sending) await sending;
            } catch {
              clientGone = true;
            }
          }
        }
      } catch (error) {
        // A failed store of the student's message is the reply's error, not the model's.
        await userMessageStored;
        deps.metrics.record("ModelErrors", 1);
        logger.warn("generation failed", {
          session_id: turn.sessionId,
          streamed_chars: text.length,
          error: error instanceof Error ? error.name : "unknown",
        });
        if (text.trim() === "") throw new GenerationFailedError(publicMessage(error));
        await store({ role: "assistant", content: text, citations, incomplete: true });
        return {
          text,
          incomplete: true,
          error: publicMessage(error),
          citations,
          ...(usage ? { usage } : {}),
          model: model.info.model,
          ...(timeToFirstTokenMs !== undefined ? { timeToFirstTokenMs } : {}),
          ...(degraded.notice ? { degraded: degraded.notice } : {}),
        };
      }
      await userMessageStored;
      if (text.trim() !== "") {
        await store({ role: "assistant", content: text, citations });
      }
      if (timeToFirstTokenMs !== undefined) deps.metrics.record("TimeToFirstToken", timeToFirstTokenMs);
      if (usage) {
        deps.metrics.record("ModelTokensIn", usage.inputTokens);
        deps.metrics.record("ModelTokensOut", usage.outputTokens);
      }
      return {
        text,
        incomplete: false,
        citations,
        ...(usage ? { usage } : {}),
        model: model.info.model,
        ...(timeToFirstTokenMs !== undefined ? { timeToFirstTokenMs } : {}),
        ...(degraded.notice ? { degraded: degraded.notice } : {}),
      };
    },
  };
}
