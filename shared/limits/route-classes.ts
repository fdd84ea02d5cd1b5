// Which rate-limit class each authenticated route belongs to, in one table. A class groups routes
// that cost the engine alike, so that a student who floods one kind of request still gets the others.
//
// Choices worth knowing:
// - Questions on documents (`/ai/qa`, `/ai/qa/stream`, `/ai/qa/file…`) are `chat`: one model answer
//   to one question, interactive, like the copilot. Quiz generation (`/ai/qa/generate…`) is `generate`.
// - `generate` is the study tools that build a whole artifact (several model calls, long outputs).
// - Rendering a mind map the student already has (`/ai/mindmap/render`) and reviewing flashcards
//   call no model and happen many times a minute while studying: they stay `read`.
// - Anything not listed (sessions, messages, document lists, usage, …) is `read`.

/** The rate-limit classes; each has its own per-minute limit in the configuration. */
export type RouteClass = "chat" | "generate" | "upload" | "read";

export const ROUTE_CLASSES: readonly RouteClass[] = ["chat", "generate", "upload", "read"];

interface RouteClassRule {
  /** Upper-case HTTP method; undefined matches any. */
  method?: string;
  path: RegExp;
  routeClass: RouteClass;
}

// First match wins, so the more specific paths come first.
const RULES: readonly RouteClassRule[] = [
  { path: /^\/ai\/chat(\/stream)?$/, routeClass: "chat" },
  { path: /^\/ai\/sessions\/[^/]+\/chat\/stream$/, routeClass: "chat" },
  { method: "POST", path: /^\/ai\/qa\/generate(\/stream|\/file)?$/, routeClass: "generate" },
  { method: "POST", path: /^\/ai\/qa(\/stream|\/file|\/file\/stream)?$/, routeClass: "chat" },
  { method: "POST", path: /^\/ai\/upload$/, routeClass: "upload" },
  { method: "POST", path: /^\/ai\/documents(\/file|\/url)?$/, routeClass: "upload" },
  { method: "POST", path: /^\/ai\/summarize(\/stream)?$/, routeClass: "generate" },
  { method: "POST", path: /^\/ai\/mindmap\/render$/, routeClass: "read" },
  { method: "POST", path: /^\/ai\/mindmap(\/stream)?$/, routeClass: "generate" },
  { method: "POST", path: /^\/ai\/flashcards$/, routeClass: "generate" },
  { method: "POST", path: /^\/ai\/generate-study-plan$/, routeClass: "generate" },
];

/** The rate-limit class of a request (by method and path); `read` when no rule matches. */
export function classifyRoute(method: string, path: string): RouteClass {
  const upper = method.toUpperCase();
  // A trailing slash must not be a way around the chat limit.
  const normalised = path.length > 1 ? path.replace(/\/+$/, "") : path;
  for (const rule of RULES) {
    if (rule.method !== undefined && rule.method !== upper) continue;
    if (rule.path.test(normalised)) return rule.routeClass;
  }
  return "read";
}
