// Route definitions (zod + OpenAPI) of every feature, for the one OpenAPI document at /openapi.json.
import type { RouteConfig } from "@hono/zod-openapi";
import { chatOpenApi } from "./chat/schema.ts";
import { documentsOpenApi } from "./documents/schema.ts";
import { metaOpenApi } from "./meta/schema.ts";
import { qaOpenApi } from "./qa/schema.ts";
import { sessionsOpenApi } from "./sessions/schema.ts";

export const allRouteDefinitions: readonly RouteConfig[] = [
  ...metaOpenApi,
  ...sessionsOpenApi,
  ...chatOpenApi,
  ...documentsOpenApi,
  ...qaOpenApi,
];
