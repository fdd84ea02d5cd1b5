import { createRoute, z } from "@hono/zod-openapi";
import { authErrors, BEARER, ErrorSchema } from "#shared/http/openapi.ts";

const DayUsage = z.object({ operations: z.number().int(), tokens: z.number().int() });

export const UsageStatsSchema = z
  .object({
    user_id: z.string(),
    period_days: z.number().int(),
    total_operations: z.number().int(),
    successful_operations: z.number().int(),
    failed_operations: z.number().int(),
    total_tokens: z.number().int(),
    avg_response_time_ms: z.number(),
    success_rate: z.number().openapi({ description: "Percent of successful operations (0–100)" }),
    operations_by_type: z.record(z.string(), z.number().int()),
    daily_usage: z.record(z.string(), DayUsage).openapi({ description: "Every UTC day of the period, YYYY-MM-DD" }),
    most_recent_activity: z.string().nullable(),
    subscription_limit: z.number().int().openapi({ description: "Daily token limit of the tier; 0 = unlimited" }),
    usage_percentage: z.number().openapi({ description: "Percent of today's limit used (0 when unlimited)" }),
  })
  .openapi("UsageStats");

const WindowSchema = z.object({
  operations: z.number().int(),
  tokens: z.number().int(),
  failed: z.number().int(),
  active_users: z.number().int(),
});

export const GlobalUsageSchema = z
  .object({
    period_days: z.number().int(),
    total_users: z.number().int(),
    total_operations: z.number().int(),
    successful_operations: z.number().int(),
    failed_operations: z.number().int(),
    total_tokens: z.number().int(),
    avg_response_time_ms: z.number(),
    success_rate: z.number(),
    top_users: z.array(z.object({ user_id: z.string(), operations: z.number().int(), tokens: z.number().int() })),
    operations_by_type: z.record(z.string(), z.number().int()),
    daily_usage: z.record(z.string(), DayUsage.extend({ active_users: z.number().int() })),
  })
  .openapi("GlobalUsage");

export const RealtimeUsageSchema = z
  .object({
    timestamp: z.string(),
    last_5_minutes: WindowSchema,
    last_hour: WindowSchema,
    active_users: z.number().int(),
    error_rate: z.number().openapi({ description: "Percent of the last hour's operations that failed" }),
  })
  .openapi("RealtimeUsage");

export const QuotaResetSchema = z
  .object({
    message: z.string(),
    user_id: z.string(),
    date: z.string(),
    tokens_cleared: z.number().int(),
  })
  .openapi("QuotaReset");

const days = (fallback: number) =>
  z.object({
    days: z.coerce
      .number()
      .int()
      .min(1)
      .max(90)
      .default(fallback)
      .openapi({ description: `UTC days up to today (1–90, default ${fallback})` }),
  });

const UserIdParams = z.object({ id: z.string().min(1).max(200).openapi({ description: "The user's id" }) });

const tags = ["usage"];
const adminErrors = {
  403: { description: "Admin access required", content: { "application/json": { schema: ErrorSchema } } },
  ...authErrors,
};

export const myUsageRoute = createRoute({
  method: "get",
  path: "/ai/usage/me",
  tags,
  summary: "The caller's AI usage and today's share of their daily quota",
  security: BEARER,
  request: { query: days(30) },
  responses: {
    200: { description: "Usage stats", content: { "application/json": { schema: UsageStatsSchema } } },
    ...authErrors,
  },
});

export const userUsageRoute = createRoute({
  method: "get",
  path: "/ai/usage/user/{id}",
  tags,
  summary: "One user's AI usage (admin)",
  security: BEARER,
  request: { params: UserIdParams, query: days(30) },
  responses: {
    200: { description: "Usage stats", content: { "application/json": { schema: UsageStatsSchema } } },
    ...adminErrors,
  },
});

export const globalUsageRoute = createRoute({
  method: "get",
  path: "/ai/usage/global",
  tags,
  summary: "AI usage across users: totals, top users, operations by type, daily usage (admin)",
  security: BEARER,
  request: { query: days(7) },
  responses: {
    200: { description: "Global usage", content: { "application/json": { schema: GlobalUsageSchema } } },
    ...adminErrors,
  },
});

export const statsRoute = createRoute({
  method: "get",
  path: "/ai/usage/stats",
  tags,
  summary: "Global usage statistics (admin; same report as /ai/usage/global)",
  security: BEARER,
  request: { query: days(7) },
  responses: {
    200: { description: "Global usage", content: { "application/json": { schema: GlobalUsageSchema } } },
    ...adminErrors,
  },
});

export const realtimeUsageRoute = createRoute({
  method: "get",
  path: "/ai/usage/realtime",
  tags,
  summary: "AI operations, active users and error rate of the last 5 minutes and hour (admin)",
  security: BEARER,
  responses: {
    200: { description: "Recent activity", content: { "application/json": { schema: RealtimeUsageSchema } } },
    ...adminErrors,
  },
});

export const resetUserRoute = createRoute({
  method: "post",
  path: "/ai/usage/reset/{id}",
  tags,
  summary: "Give a user today's full AI quota back (admin; usage history is kept)",
  security: BEARER,
  request: { params: UserIdParams },
  responses: {
    200: { description: "Quota reset", content: { "application/json": { schema: QuotaResetSchema } } },
    ...adminErrors,
  },
});

export const resetMeRoute = createRoute({
  method: "post",
  path: "/ai/usage/reset-me",
  tags,
  summary: "Removed: users can no longer clear their own quota (always 403)",
  security: BEARER,
  responses: {
    403: { description: "Admin access required", content: { "application/json": { schema: ErrorSchema } } },
    ...authErrors,
  },
});

export const usageOpenApi = [
  myUsageRoute,
  userUsageRoute,
  globalUsageRoute,
  statsRoute,
  realtimeUsageRoute,
  resetUserRoute,
  resetMeRoute,
];
