// HTTP adapter of the chat feature: the original engine's session-optional chat routes.
import { streamCopilotReply } from "#shared/copilot/stream.ts";
import type { Engine } from "#shared/engine.ts";
import type { App, AppContext } from "#shared/http/app.ts";
import { routeRegistrar } from "#shared/http/openapi.ts";
import { usageMeterOf } from "#shared/usage/middleware.ts";
import { chatRoutes } from "./routes.ts";
import { chatRoute, chatStreamRoute } from "./schema.ts";

const TITLE_CHARS = 60;

function titleFrom(message: string): string {
  const flat = message.replace(/\s+/g, " ").trim();
  return flat.length > TITLE_CHARS ? `${flat.slice(0, TITLE_CHARS - 1)}…` : flat;
}

/** What the chat routes use of the engine (a Lambda composes only these). */
export type ChatDeps = Pick<Engine, "verifyToken" | "sessions" | "copilot">;

/** Registers `/ai/chat` and `/ai/chat/stream`. */
export function registerChat(app: App, engine: ChatDeps): void {
  const route = routeRegistrar(app, chatRoutes, engine.verifyToken);

  /**
   * The turn in the given session (404 unless the caller owns it, before any response starts), or
   * in a new one named after the message.
   */
  async function prepareTurn(c: AppContext, sessionId: string | null | undefined, message: string) {
    const userId = c.get("user").userId;
    const id = sessionId || (await engine.sessions.create(userId, titleFrom(message))).id;
    return engine.copilot.prepare({ userId, sessionId: id, message, ...usageMeterOf(c) });
  }

  route(chatRoute, async (c) => {
    const userId = c.get("user").userId;
    const { message, session_id } = c.req.valid("json");
    const turn = await prepareTurn(c, session_id, message);
    const reply = await engine.copilot.reply(turn, { logger: c.get("logger") });
    return c.json(
      {
        response: reply.text,
        session_id: turn.sessionId,
        user_id: userId,
        timestamp: new Date().toISOString(),
        tool_used: null,
        ...(reply.incomplete ? { incomplete: true } : {}),
        ...(reply.degraded ? { degraded: true, notice: reply.degraded.reason } : {}),
      },
      200,
    );
  });

  route(chatStreamRoute, async (c) => {
    const { message, session_id } = c.req.valid("json");
    const turn = await prepareTurn(c, session_id, message);
    c.header("X-Session-Id", turn.sessionId);
    return streamCopilotReply(c, { copilot: engine.copilot, logger: c.get("logger") }, turn, "generic");
  });
}
