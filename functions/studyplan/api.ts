// HTTP adapter of the studyplan feature: parse → study plan service → response.
import type { Engine } from "#shared/engine.ts";
import { generateStudyPlan, type StudyPlanRequest } from "#shared/generation/studyplan.ts";
import type { App } from "#shared/http/app.ts";
import { routeRegistrar } from "#shared/http/openapi.ts";
import { requestModel } from "#shared/usage/middleware.ts";
import { studyplanRoutes } from "./routes.ts";
import { generateStudyPlanRoute } from "./schema.ts";

/** What the studyplan routes use of the engine (a Lambda composes only these). */
export type StudyPlanDeps = Pick<Engine, "verifyToken" | "model">;

/** Registers the studyplan route on the app. */
export function registerStudyPlan(app: App, engine: StudyPlanDeps): void {
  const route = routeRegistrar(app, studyplanRoutes, engine.verifyToken);

  route(generateStudyPlanRoute, async (c) => {
    const body = c.req.valid("json");
    const request: StudyPlanRequest = {
      subject: body.subject,
      topics: body.topics,
      startDate: body.startDate,
      endDate: body.endDate,
      dailyStudyHours: body.dailyStudyHours,
      ...(body.preferredTimeSlots?.length ? { preferredTimeSlots: body.preferredTimeSlots } : {}),
      ...(body.difficulty ? { difficulty: body.difficulty } : {}),
      ...(body.planType ? { planType: body.planType } : {}),
      ...(body.examDate ? { examDate: body.examDate } : {}),
      ...(body.currentKnowledge ? { currentKnowledge: body.currentKnowledge } : {}),
      ...(body.goals?.length ? { goals: body.goals } : {}),
    };
    const plan = await generateStudyPlan({ model: requestModel(c, engine.model) }, request);
    return c.json(
      {
        ...plan,
        offline: engine.model.info.kind === "offline",
        user_id: c.get("user").userId,
        timestamp: new Date().toISOString(),
      },
      200,
    );
  });
}
