// Glue between the copilot and SSE, shared by the session stream and the generic chat stream.
import type { Context } from "hono";
import { type SseFraming, sseResponse } from "../http/sse.ts";
import type { DegradedNotice } from "../llm/resilient.ts";
import type { LogSink } from "../observability/logger.ts";
import { type Copilot, GenerationFailedError, type PreparedTurn } from "./copilot.ts";

/**
 * Streams the copilot's reply to a prepared turn (`copilot.prepare`, awaited by the route, so that a
 * session that is not the caller's is a plain JSON 404): tokens as they arrive, then citations
 * (session framing), then `done`.
 */
export function streamCopilotReply(
  c: Context,
  deps: { copilot: Copilot; logger: LogSink },
  turn: PreparedTurn,
  framing: SseFraming,
): Response {
  return sseResponse(
    c,
    framing,
    async (writer) => {
      const reply = await deps.copilot.reply(turn, {
        logger: deps.logger,
        onToken: (token) => writer.token(token),
        // Session framing only (the notebook page): the old engine's generic-stream clients may not skip unknown events.
        ...(framing === "session"
          ? {
              onNotice: (notice: DegradedNotice) =>
                writer.event("notice", JSON.stringify({ degraded: true, reason: notice.reason })),
            }
          : {}),
      });
      if (reply.incomplete) await writer.error(reply.error ?? "The answer was cut short.");
      if (framing === "session") await writer.event("citations", JSON.stringify(reply.citations));
      await writer.done();
      deps.logger.info("reply streamed", {
        session_id: turn.sessionId,
        chars: reply.text.length,
        incomplete: reply.incomplete,
        degraded: reply.degraded !== undefined,
        ttft_ms: reply.timeToFirstTokenMs === undefined ? undefined : Math.round(reply.timeToFirstTokenMs),
        tokens_in: reply.usage?.inputTokens,
        tokens_out: reply.usage?.outputTokens,
      });
    },
    async (error, writer) => {
      const message =
        error instanceof GenerationFailedError ? error.message : "The study copilot could not generate an answer.";
      if (!(error instanceof GenerationFailedError)) deps.logger.error("stream failed", { error: error as Error });
      await writer.error(message);
      await writer.done();
    },
  );
}
