// The route tables of every feature, as data. Imported by the local runtime and by the CDK app
// (never handler code), so both serve exactly the same routes.
import type { FeatureRoutes } from "#shared/http/routes.ts";
import { chatRoutes } from "./chat/routes.ts";
import { documentsRoutes } from "./documents/routes.ts";
import { metaRoutes } from "./meta/routes.ts";
import { qaRoutes } from "./qa/routes.ts";
import { sessionsRoutes } from "./sessions/routes.ts";

export const featureRoutes: readonly FeatureRoutes[] = [
  metaRoutes,
  sessionsRoutes,
  chatRoutes,
  documentsRoutes,
  qaRoutes,
];
