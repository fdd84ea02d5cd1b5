import { createRoute, z } from "@hono/zod-openapi";
import { authErrors, BEARER, ErrorSchema } from "#shared/http/openapi.ts";

const DateString = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/, "must be a date (YYYY-MM-DD) or an ISO date-time")
  .openapi({ example: "2026-12-01" });

const Text = (max: number) => z.string().trim().max(max);

/** Accepts a list or a single comma/newline-separated string (the frontend sends either for goals). */
const TextList = z
  .union([z.array(Text(300)).max(20), Text(3000)])
  .transform((value) =>
    (Array.isArray(value) ? value : value.split(/[\n,;]/)).map((item) => item.trim()).filter((item) => item !== ""),
  );

export const StudyPlanBody = z
  .object({
    subject: z.string().trim().min(1, "subject must not be empty").max(200),
    topics: z.array(z.string().trim().min(1).max(200)).min(1, "give at least one topic").max(50),
    startDate: DateString,
    endDate: DateString,
    dailyStudyHours: z.number().min(0.5).max(12).default(2),
    preferredTimeSlots: z.array(Text(40)).max(4).optional().nullable(),
    difficulty: Text(40).optional().nullable(),
    planType: Text(40).optional().nullable(),
    examDate: DateString.optional().nullable(),
    currentKnowledge: Text(2000).optional().nullable(),
    goals: TextList.optional().nullable(),
  })
  .openapi("StudyPlanRequest");

export const StudyTaskSchema = z
  .object({
    title: z.string(),
    description: z.string(),
    topic: z.string(),
    scheduledDate: z.string().openapi({ description: "Noon UTC of the task's day (ISO-8601)" }),
    duration: z.number().int().openapi({ description: "Minutes" }),
    priority: z.enum(["high", "medium", "low"]),
    difficulty: z.enum(["easy", "medium", "hard"]),
    order: z.number().int(),
    resources: z.array(z.string()),
    timeSlot: z.string(),
  })
  .openapi("StudyTask");

export const StudyPlanResponse = z
  .object({
    title: z.string(),
    description: z.string(),
    tasks: z.array(StudyTaskSchema),
    estimatedCompletionDays: z.number().int(),
    totalTasks: z.number().int(),
    recommendations: z.array(z.string()),
    warnings: z.array(z.string()),
    generatedBy: z.enum(["model", "rules"]),
    offline: z.boolean(),
    user_id: z.string(),
    timestamp: z.string(),
  })
  .openapi("StudyPlan");

export const generateStudyPlanRoute = createRoute({
  method: "post",
  path: "/ai/generate-study-plan",
  tags: ["studyplan"],
  summary: "Schedule a study plan between two dates (tasks within the range, daily time respected)",
  security: BEARER,
  request: { body: { content: { "application/json": { schema: StudyPlanBody } }, required: true } },
  responses: {
    200: { description: "Study plan", content: { "application/json": { schema: StudyPlanResponse } } },
    400: { description: "Impossible dates", content: { "application/json": { schema: ErrorSchema } } },
    ...authErrors,
  },
});

export const studyplanOpenApi = [generateStudyPlanRoute];
