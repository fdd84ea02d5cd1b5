// Route definitions (zod + OpenAPI) of every feature, for the one OpenAPI document at /openapi.json.
import type { RouteConfig } from "@hono/zod-openapi";
import { chatOpenApi } from "./chat/schema.ts";
import { documentsOpenApi } from "./documents/schema.ts";
import { flashcardsOpenApi } from "./flashcards/schema.ts";
import { metaOpenApi } from "./meta/schema.ts";
import { mindmapOpenApi } from "./mindmap/schema.ts";
import { qaOpenApi } from "./qa/schema.ts";
import { quizOpenApi } from "./quiz/schema.ts";
import { sessionsOpenApi } from "./sessions/schema.ts";
import { studyplanOpenApi } from "./studyplan/schema.ts";
import { summarizeOpenApi } from "./summarize/schema.ts";
import { usageOpenApi } from "./usage/schema.ts";

export const allRouteDefinitions: readonly RouteConfig[] = [
  ...metaOpenApi,
  ...mindmapOpenApi,
  ...flashcardsOpenApi,
  ...sessionsOpenApi,
  ...chatOpenApi,
  ...documentsOpenApi,
  ...qaOpenApi,
  ...summarizeOpenApi,
  ...quizOpenApi,
  ...studyplanOpenApi,
  ...usageOpenApi,
];
