// HTTP adapter of the qa feature: questions about stored material, an ad-hoc context or a file.
import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Engine } from "#shared/engine.ts";
import { extractAttachment } from "#shared/extraction/attachment.ts";
import type { DocumentType } from "#shared/extraction/types.ts";
import type { App, AppEnv } from "#shared/http/app.ts";
import { AppError, BadRequestError } from "#shared/http/errors.ts";
import { routeRegistrar } from "#shared/http/openapi.ts";
import { sseResponse } from "#shared/http/sse.ts";
import { type Answer, answerQuestion, gatherPassages, type QuestionRequest } from "#shared/rag/answer.ts";
import type { RetrievedPassage } from "#shared/rag/retrieve.ts";
import { requestModel } from "#shared/usage/middleware.ts";
import { QA_FILE_MAX_BYTES } from "../wire.ts";
import { qaRoutes } from "./routes.ts";
import { type QaBody, qaFileRoute, qaFileStreamRoute, qaRoute, qaStreamRoute } from "./schema.ts";

const QA_FILE_TYPES = new Set<DocumentType>(["pdf", "docx", "markdown", "text"]);

function sourcesOf(passages: RetrievedPassage[]) {
  return passages.map((passage) => ({
    source: passage.filename,
    content: passage.quote,
    metadata: {
      source_id: passage.source_id,
      chunk_id: passage.chunk_id,
      page: passage.page,
      filename: passage.filename,
      score: passage.score,
    },
  }));
}

function citationsOf(passages: RetrievedPassage[]) {
  return passages.map(({ heading_path: _heading, ...citation }) => citation);
}

function publicFailure(error: unknown): string {
  if (error instanceof Error && "expose" in error && error.expose === true) return error.message;
  return "The answer could not be generated. Please try again.";
}

function readQuestionFile(engine: QaDeps, form: Record<string, unknown>) {
  return extractAttachment(form, {
    limits: engine.extractionLimits,
    maxBytes: QA_FILE_MAX_BYTES,
    types: QA_FILE_TYPES,
    wrongTypeMessage: "Questions can be asked about .txt, .md, .pdf and .docx files.",
    tooLargeMessage: "Files attached to a question may be at most 10 MiB.",
  });
}

function formText(form: Record<string, unknown>, name: string): string | undefined {
  const value = form[name];
  return typeof value === "string" ? value.trim() : undefined;
}

/** What the qa routes use of the engine (a Lambda composes only these). */
export type QaDeps = Pick<Engine, "verifyToken" | "retriever" | "embedder" | "model" | "extractionLimits">;

/** Registers the qa routes on the app. */
export function registerQa(app: App, engine: QaDeps): void {
  const route = routeRegistrar(app, qaRoutes, engine.verifyToken);
  /** The model calls of a request charge its usage meter. */
  const deps = (c: Context<AppEnv>) => ({
    retriever: engine.retriever,
    embedder: engine.embedder,
    model: requestModel(c, engine.model),
  });

  function respond(c: Context<AppEnv>, request: QuestionRequest, answer: Answer) {
    return c.json(
      {
        question: request.question,
        answer: answer.answer,
        sources: sourcesOf(answer.passages),
        citations: citationsOf(answer.passages),
        confidence: answer.confidence,
        offline: answer.offline,
        user_id: c.get("user").userId,
        timestamp: new Date().toISOString(),
      },
      200,
    );
  }

  async function answerOrThrow(c: Context<AppEnv>, request: QuestionRequest): Promise<Answer> {
    try {
      return await answerQuestion(deps(c), request);
    } catch (error) {
      throw new AppError(502, publicFailure(error));
    }
  }

  function stream(c: Context<AppEnv>, request: QuestionRequest, file?: string) {
    return sseResponse(
      c,
      "generic",
      async (writer) => {
        if (file !== undefined) await writer.event("file", file);
        const parts = deps(c);
        const passages = await gatherPassages(parts, request);
        await writer.event("sources", String(passages.length));
        await answerQuestion(parts, { ...request, onToken: (token) => writer.token(token) }, passages);
        await writer.event("citations", JSON.stringify(citationsOf(passages)));
        await writer.done();
      },
      async (error, writer) => {
        c.get("logger").warn("qa stream failed", { error: error instanceof Error ? error.name : "unknown" });
        await writer.error(publicFailure(error));
        await writer.done();
      },
    );
  }

  function jsonRequest(c: Context<AppEnv>, body: z.infer<typeof QaBody>): QuestionRequest {
    return {
      question: body.question,
      useRag: body.use_rag,
      topK: body.top_k,
      scope: {
        userId: c.get("user").userId,
        ...(body.session_id ? { sessionId: body.session_id } : {}),
        ...(body.source_ids?.length ? { sourceIds: body.source_ids } : {}),
      },
      ...(body.context ? { context: body.context } : {}),
    };
  }

  route(qaRoute, async (c) => {
    const request = jsonRequest(c, c.req.valid("json"));
    return respond(c, request, await answerOrThrow(c, request));
  });

  route(qaStreamRoute, async (c) => stream(c, jsonRequest(c, c.req.valid("json"))));

  async function fileRequest(c: Context<AppEnv>, form: Record<string, unknown>): Promise<QuestionRequest> {
    const question = formText(form, "question");
    if (!question) throw new BadRequestError('Send the question as a multipart field named "question".');
    const attachment = await readQuestionFile(engine, form);
    const useRag = formText(form, "use_rag") === "true";
    return { question, useRag, topK: 3, scope: { userId: c.get("user").userId }, attachment };
  }

  route(qaFileRoute, async (c) => {
    const request = await fileRequest(c, c.req.valid("form") as Record<string, unknown>);
    return respond(c, request, await answerOrThrow(c, request));
  });

  route(qaFileStreamRoute, async (c) => {
    const request = await fileRequest(c, c.req.valid("form") as Record<string, unknown>);
    return stream(c, request, request.attachment?.filename ?? "document");
  });
}
