// Route tables as data: each feature exports its routes so the local runtime and the CDK app build
// the same table (a route cannot exist in one and not the other).

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Who may call a route: anyone, any authenticated user, or admins only. */
export type RouteAccess = "public" | "user" | "admin";

export interface RouteSpec {
  method: HttpMethod;
  /** Path in OpenAPI form, e.g. `/ai/sessions/{id}`. */
  path: string;
  access: RouteAccess;
  /** Server-sent events: deployed with API Gateway response streaming. */
  streaming: boolean;
}

export interface FeatureRoutes {
  /** Feature name; one Lambda per feature in AWS (`functions/<feature>`). */
  feature: string;
  routes: RouteSpec[];
}
