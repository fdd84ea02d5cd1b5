// Which HTTP routes are AI operations, in one table: the usage middleware meters and gates exactly
// these, so a new study-tool route is covered by adding a row here rather than touching its code.
import type { HttpMethod } from "../http/routes.ts";

/** The operation types of `usage_logs.operation` (the original engine's names). */
export type AiOperation = "chat" | "qa" | "quiz" | "summarize" | "mindmap" | "flashcards" | "study_plan";

/** One row of the table: which method and path perform which operation. */
export interface AiOperationRule {
  methods: readonly HttpMethod[];
  /**
   * OpenAPI-style path: `{param}` matches one segment; a trailing `/*` matches the path itself and
   * anything below it (`/ai/qa/*` covers `/ai/qa`, `/ai/qa/stream`, `/ai/qa/file/stream`).
   */
  path: string;
  operation: AiOperation;
}

/** First match wins, so more specific paths come first (`/ai/qa/generate` before `/ai/qa`). */
export const AI_OPERATION_RULES: readonly AiOperationRule[] = [
  { methods: ["POST"], path: "/ai/chat/*", operation: "chat" },
  { methods: ["POST", "GET"], path: "/ai/sessions/{id}/chat/stream", operation: "chat" },
  { methods: ["POST"], path: "/ai/qa/generate/*", operation: "quiz" },
  { methods: ["POST"], path: "/ai/qa/*", operation: "qa" },
  { methods: ["POST"], path: "/ai/summarize/*", operation: "summarize" },
  // `/ai/mindmap/render` only draws a tree the client sends: no model, no quota.
  { methods: ["POST"], path: "/ai/mindmap", operation: "mindmap" },
  // Reviewing a deck (`/ai/flashcards/{deck}/review`) is scheduling, not generation.
  { methods: ["POST"], path: "/ai/flashcards", operation: "flashcards" },
  { methods: ["POST"], path: "/ai/generate-study-plan", operation: "study_plan" },
];

function matches(pattern: string, path: string): boolean {
  const open = pattern.endsWith("/*");
  const wanted = (open ? pattern.slice(0, -2) : pattern).split("/");
  const actual = (path.length > 1 ? path.replace(/\/+$/, "") : path).split("/");
  if (open ? actual.length < wanted.length : actual.length !== wanted.length) return false;
  return wanted.every((segment, index) => {
    const got = actual[index];
    if (got === undefined) return false;
    return segment.startsWith("{") && segment.endsWith("}") ? got !== "" : segment === got;
  });
}

/** The AI operation a request performs, or undefined for every other route. */
export function classifyAiOperation(
  method: string,
  path: string,
  rules: readonly AiOperationRule[] = AI_OPERATION_RULES,
): AiOperation | undefined {
  const upper = method.toUpperCase();
  return rules.find((rule) => rule.methods.includes(upper as HttpMethod) && matches(rule.path, path))?.operation;
}
