// HTTP adapter of the sessions feature: parse → session store / copilot → response.
import { streamCopilotReply } from "#shared/copilot/stream.ts";
import type { Engine } from "#shared/engine.ts";
import type { App } from "#shared/http/app.ts";
import { routeRegistrar } from "#shared/http/openapi.ts";
import { usageMeterOf } from "#shared/usage/middleware.ts";
import { sessionsRoutes } from "./routes.ts";
import {
  createSessionRoute,
  deleteSessionRoute,
  getChatStreamRoute,
  getSessionRoute,
  listMessagesRoute,
  listSessionsRoute,
  postChatStreamRoute,
  postMessageRoute,
  renameSessionRoute,
} from "./schema.ts";

const DEFAULT_TITLE = "New Chat Session";
/** Passages retrieved per chat turn. */
const CHAT_TOP_K = 5;

/** What the sessions routes use of the engine (a Lambda composes only these). */
export type SessionsDeps = Pick<Engine, "verifyToken" | "sessions" | "copilot" | "documents">;

/** Registers every session route on the app (the local runtime; each Lambda registers its half). */
export function registerSessions(app: App, engine: SessionsDeps): void {
  registerSessionRecords(app, engine);
  registerSessionChat(app, engine);
}

/** The buffered routes: sessions and their messages, without the model (the buffered function). */
export function registerSessionRecords(
  app: App,
  engine: Pick<SessionsDeps, "verifyToken" | "sessions" | "documents">,
): void {
  const route = routeRegistrar(app, sessionsRoutes, engine.verifyToken);
  const { sessions } = engine;

  route(listSessionsRoute, async (c) => c.json(await sessions.list(c.get("user").userId), 200));

  route(createSessionRoute, async (c) => {
    const body = c.req.valid("json") ?? {};
    const title = body.title && body.title !== "" ? body.title : DEFAULT_TITLE;
    return c.json(await sessions.create(c.get("user").userId, title), 200);
  });

  route(getSessionRoute, async (c) => c.json(await sessions.get(c.get("user").userId, c.req.valid("param").id), 200));

  route(renameSessionRoute, async (c) => {
    const { id } = c.req.valid("param");
    return c.json(await sessions.rename(c.get("user").userId, id, c.req.valid("json").title), 200);
  });

  route(deleteSessionRoute, async (c) => {
    const userId = c.get("user").userId;
    const { id } = c.req.valid("param");
    await sessions.get(userId, id);
    // Session-scoped documents and their shards go with the session.
    await engine.documents.removeSession(userId, id);
    const deleted = await sessions.remove(userId, id);
    return c.json({ message: "Session deleted successfully", deleted_messages: deleted }, 200);
  });

  route(listMessagesRoute, async (c) => {
    const { limit, before } = c.req.valid("query");
    const page = { ...(limit ? { limit } : {}), ...(before ? { before: new Date(before) } : {}) };
    return c.json(await sessions.messages(c.get("user").userId, c.req.valid("param").id, page), 200);
  });

  route(postMessageRoute, async (c) => {
    const body = c.req.valid("json");
    const stored = await sessions.append(c.get("user").userId, c.req.valid("param").id, {
      role: body.role,
      content: body.content,
      ...(body.timestamp ? { timestamp: new Date(body.timestamp) } : {}),
    });
    return c.json({ role: stored.role, content: stored.content, timestamp: stored.timestamp }, 200);
  });
}

/** The chat stream routes: the copilot's streamed reply in a session (the streaming function). */
export function registerSessionChat(app: App, engine: Pick<SessionsDeps, "verifyToken" | "copilot">): void {
  const route = routeRegistrar(app, sessionsRoutes, engine.verifyToken);

  route(postChatStreamRoute, async (c) => {
    const userId = c.get("user").userId;
    const { id } = c.req.valid("param");
    const { message, use_rag, source_ids } = c.req.valid("json");
    // Grounding is on unless the client turns it off; a session without documents finds nothing.
    const scope = { userId, sessionId: id, ...(source_ids?.length ? { sourceIds: source_ids } : {}) };
    const rag = use_rag === false ? {} : { rag: { scope, topK: CHAT_TOP_K } };
    // Ownership is checked before the stream starts, so a foreign session is a plain JSON 404.
    const turn = await engine.copilot.prepare({ userId, sessionId: id, message, ...rag, ...usageMeterOf(c) });
    return streamCopilotReply(c, { copilot: engine.copilot, logger: c.get("logger") }, turn, "session");
  });

  route(getChatStreamRoute, async (c) => {
    const userId = c.get("user").userId;
    const { id } = c.req.valid("param");
    const { message, use_rag } = c.req.valid("query");
    const rag = use_rag === false ? {} : { rag: { scope: { userId, sessionId: id }, topK: CHAT_TOP_K } };
    const turn = await engine.copilot.prepare({ userId, sessionId: id, message, ...rag, ...usageMeterOf(c) });
    return streamCopilotReply(c, { copilot: engine.copilot, logger: c.get("logger") }, turn, "session");
  });
}
