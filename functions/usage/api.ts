// HTTP adapter of the usage feature: statistics for the caller and for admins, quota resets.
import type { Engine } from "#shared/engine.ts";
import type { App } from "#shared/http/app.ts";
import { ForbiddenError } from "#shared/http/errors.ts";
import { routeRegistrar } from "#shared/http/openapi.ts";
import { quotaLimitsFrom } from "#shared/usage/quota.ts";
import { createUsageReports } from "#shared/usage/reports.ts";
import { usageRoutes } from "./routes.ts";
import {
  globalUsageRoute,
  myUsageRoute,
  realtimeUsageRoute,
  resetMeRoute,
  resetUserRoute,
  statsRoute,
  userUsageRoute,
} from "./schema.ts";

/** What the usage routes use of the engine (a Lambda composes only these). */
export type UsageDeps = Pick<Engine, "verifyToken" | "config" | "usage">;

/** Registers the usage routes on the app. */
export function registerUsage(app: App, engine: UsageDeps): void {
  const route = routeRegistrar(app, usageRoutes, engine.verifyToken);
  const reports = createUsageReports({ ledger: engine.usage, limits: quotaLimitsFrom(engine.config) });

  route(myUsageRoute, async (c) => {
    const user = c.get("user");
    return c.json(await reports.userStats(user.userId, c.req.valid("query").days, user.tier), 200);
  });

  route(userUsageRoute, async (c) =>
    c.json(await reports.userStats(c.req.valid("param").id, c.req.valid("query").days), 200),
  );

  route(globalUsageRoute, async (c) => c.json(await reports.globalStats(c.req.valid("query").days), 200));

  route(statsRoute, async (c) => c.json(await reports.globalStats(c.req.valid("query").days), 200));

  route(realtimeUsageRoute, async (c) => c.json(await reports.realtime(), 200));

  route(resetUserRoute, async (c) => {
    const userId = c.req.valid("param").id;
    const reset = await reports.resetQuota(userId, c.get("user").userId);
    c.get("logger").info("quota reset", { user_id: userId, tokens_cleared: reset.tokens_cleared });
    return c.json({ message: `Daily AI quota reset for user ${userId}`, user_id: userId, ...reset }, 200);
  });

  // Admins included: a quota is reset through /ai/usage/reset/{id}, which leaves an audit record.
  route(resetMeRoute, async () => {
    throw new ForbiddenError("Admin access required");
  });
}
