// HTTP adapter of the quiz feature: text, stored sources or an attached file; JSON or a stream of
// one JSON question per `data:` line.
import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Engine } from "#shared/engine.ts";
import { extractAttachment } from "#shared/extraction/attachment.ts";
import type { DocumentType } from "#shared/extraction/types.ts";
import { loadMaterial, type Material, materialFromDocument, materialScope } from "#shared/generation/material.ts";
import { generateQuiz, type QuizQuestion, type QuizRequest } from "#shared/generation/quiz.ts";
import { materialLength } from "#shared/generation/sentences.ts";
import type { App, AppEnv } from "#shared/http/app.ts";
import { toValidationIssues } from "#shared/http/app.ts";
import { BadRequestError, ValidationError } from "#shared/http/errors.ts";
import { routeRegistrar } from "#shared/http/openapi.ts";
import { sseResponse } from "#shared/http/sse.ts";
import { requestModel } from "#shared/usage/middleware.ts";
import { quizRoutes } from "./routes.ts";
import { type QuizBody, QuizFileFields, quizFileRoute, quizRoute, quizStreamRoute } from "./schema.ts";

/** The contract's limit for files a quiz is generated from. */
export const QUIZ_FILE_MAX_BYTES = 10 * 1024 * 1024;
const QUIZ_FILE_TYPES = new Set<DocumentType>(["pdf", "docx", "markdown", "text"]);

type Body = z.infer<typeof QuizBody>;

function publicFailure(error: unknown): string {
  if (error instanceof Error && "expose" in error && error.expose === true) return error.message;
  return "The quiz could not be generated. Please try again.";
}

/** The contract's question shape: options only when asked for. */
function present(question: QuizQuestion, includeOptions: boolean): QuizQuestion {
  return includeOptions ? question : { ...question, options: [] };
}

async function readQuizFile(engine: QuizDeps, form: Record<string, unknown>): Promise<Material> {
  const { filename, document } = await extractAttachment(form, {
    limits: engine.extractionLimits,
    maxBytes: QUIZ_FILE_MAX_BYTES,
    types: QUIZ_FILE_TYPES,
    wrongTypeMessage: "Quizzes can be generated from .txt, .md, .pdf and .docx files.",
    tooLargeMessage: "Files for a quiz may be at most 10 MiB.",
  });
  const material = materialFromDocument(document, filename);
  if (material.sections.length === 0) throw new BadRequestError("The file contains no text to build a quiz from.");
  return material;
}

/** What the quiz routes use of the engine (a Lambda composes only these). */
export type QuizDeps = Pick<Engine, "verifyToken" | "model" | "extractionLimits" | "records" | "blobs" | "retriever">;

/** Registers the quiz routes on the app. */
export function registerQuiz(app: App, engine: QuizDeps): void {
  const route = routeRegistrar(app, quizRoutes, engine.verifyToken);
  /** The model calls of a request charge its usage meter. */
  const deps = (c: Context<AppEnv>) => ({ model: requestModel(c, engine.model) });

  function material(c: Context<AppEnv>, body: Body): Promise<Material> {
    return loadMaterial(engine, {
      userId: c.get("user").userId,
      ...materialScope(body),
      ...(body.topic && !body.text ? { topic: body.topic } : {}),
    });
  }

  function request(body: Body, loaded: Material): QuizRequest {
    return {
      material: loaded,
      numQuestions: body.num_questions,
      difficulty: body.difficulty,
      ...(body.topic ? { topic: body.topic } : {}),
    };
  }

  async function respond(c: Context<AppEnv>, quizRequest: QuizRequest, includeOptions: boolean, text?: string) {
    const started = Date.now();
    const quiz = await generateQuiz(deps(c), quizRequest);
    c.get("logger").info("quiz generated", {
      offline: quiz.offline,
      questions: quiz.questions.length,
      ms: Date.now() - started,
    });
    return c.json(
      {
        questions: quiz.questions.map((question) => present(question, includeOptions)),
        source_length: text ? text.length : materialLength(quizRequest.material),
        user_id: c.get("user").userId,
        timestamp: new Date().toISOString(),
        offline: quiz.offline,
      },
      200,
    );
  }

  route(quizRoute, async (c) => {
    const body = c.req.valid("json");
    return respond(c, request(body, await material(c, body)), body.include_options, body.text ?? undefined);
  });

  route(quizStreamRoute, async (c) => {
    const body = c.req.valid("json");
    // Loaded before the stream starts, so an unknown source is a normal 404 and not a stream error.
    const loaded = await material(c, body);
    return sseResponse(
      c,
      "generic",
      async (writer) => {
        await generateQuiz(deps(c), {
          ...request(body, loaded),
          onQuestion: (question) => writer.token(JSON.stringify(present(question, body.include_options))),
        });
        await writer.done();
      },
      async (error, writer) => {
        c.get("logger").warn("quiz stream failed", { error: error instanceof Error ? error.name : "unknown" });
        await writer.error(publicFailure(error));
        await writer.done();
      },
    );
  });

  route(quizFileRoute, async (c) => {
    const form = c.req.valid("form") as Record<string, unknown>;
    const fields = QuizFileFields.safeParse({
      num_questions:
        typeof form.num_questions === "string" && form.num_questions !== "" ? form.num_questions : undefined,
      difficulty: typeof form.difficulty === "string" && form.difficulty !== "" ? form.difficulty : undefined,
      include_options: typeof form.include_options === "string" ? form.include_options : undefined,
    });
    if (!fields.success) throw new ValidationError(toValidationIssues(fields.error, "form"));
    const loaded = await readQuizFile(engine, form);
    return respond(
      c,
      { material: loaded, numQuestions: fields.data.num_questions, difficulty: fields.data.difficulty },
      fields.data.include_options,
    );
  });
}
