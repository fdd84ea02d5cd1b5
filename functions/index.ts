// The route tables of every feature, as data. Imported by the local runtime and by the CDK app
// (never handler code), so both serve exactly the same routes.
import type { FeatureRoutes } from "#shared/http/routes.ts";
import { chatRoutes } from "./chat/routes.ts";
import { documentsRoutes } from "./documents/routes.ts";
import { flashcardsRoutes } from "./flashcards/routes.ts";
import { metaRoutes } from "./meta/routes.ts";
import { mindmapRoutes } from "./mindmap/routes.ts";
import { qaRoutes } from "./qa/routes.ts";
import { quizRoutes } from "./quiz/routes.ts";
import { sessionsRoutes } from "./sessions/routes.ts";
import { studyplanRoutes } from "./studyplan/routes.ts";
import { summarizeRoutes } from "./summarize/routes.ts";
import { usageRoutes } from "./usage/routes.ts";

export const featureRoutes: readonly FeatureRoutes[] = [
  metaRoutes,
  mindmapRoutes,
  flashcardsRoutes,
  sessionsRoutes,
  chatRoutes,
  documentsRoutes,
  qaRoutes,
  summarizeRoutes,
  quizRoutes,
  studyplanRoutes,
  usageRoutes,
];
