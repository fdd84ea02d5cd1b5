// Structured generation: ask the model for JSON, validate it with a zod schema, repair once with
// the validation errors, and fail with a clear 502 rather than hand broken data to the frontend.
import { AppError } from "../http/errors.ts";
import type { z } from "../validation/zod.ts";
import type { ChatModel, ChatTurn, TokenUsage } from "./chat-model.ts";

/** The model's output stayed invalid after a repair attempt. */
export class StructuredOutputError extends AppError {
  override readonly name = "StructuredOutputError";
  constructor(what: string) {
    super(502, `The language model did not produce a valid ${what}. Please try again.`);
  }
}

export interface StructuredRequest<T> {
  model: ChatModel;
  schema: z.ZodType<T>;
  /** What is being generated, for messages ("quiz", "mind map"). */
  name: string;
  messages: ChatTurn[];
  /** Repair attempts after the first invalid answer (default 1). */
  repairs?: number;
  temperature?: number;
  maxTokens?: number;
  signal?: AbortSignal;
}

export interface StructuredResult<T> {
  value: T;
  usage: TokenUsage;
  attempts: number;
}

/** Extracts the JSON value from a model answer: plain JSON, a fenced block, or the first balanced object/array. */
export function extractJson(text: string): unknown {
  const trimmed = text.trim();
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(trimmed);
  const candidates = [trimmed, fenced?.[1]?.trim()].filter((candidate): candidate is string => !!candidate);
  for (const candidate of candidates) {
    try {
      return JSON.parse(candidate);
    } catch {
      // Try the next candidate.
    }
  }
  const start = trimmed.search(/[[{]/);
  if (start < 0) throw new SyntaxError("no JSON value in the answer");
  const open = trimmed[start];
  const close = open === "{" ? "}" : "]";
  let depth = 0;
  let inString = false;
  for (let i = start; i < trimmed.length; i++) {
    const char = trimmed[i];
    if (inString) {
      if (char === "\\") i++;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === open) depth++;
    else if (char === close && --depth === 0) return JSON.parse(trimmed.slice(start, i + 1));
  }
  throw new SyntaxError("unbalanced JSON in the answer");
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 12)
    .map((issue) => `- ${issue.path.join(".") || "(root)"}: ${issue.message}`)
    .join("\n");
}

/** Generates a value matching `schema`, repairing invalid output; throws StructuredOutputError. */
export async function generateStructured<T>(request: StructuredRequest<T>): Promise<StructuredResult<T>> {
  const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  const messages: ChatTurn[] = [...request.messages];
  const repairs = request.repairs ?? 1;
  for (let attempt = 0; attempt <= repairs; attempt++) {
    const result = await request.model.complete({
      messages,
      responseFormat: "json",
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.maxTokens !== undefined ? { maxTokens: request.maxTokens } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    if (result.usage) {
      usage.inputTokens += result.usage.inputTokens;
      usage.outputTokens += result.usage.outputTokens;
    }
    let problem: string;
    try {
      const parsed = request.schema.safeParse(extractJson(result.text));
      if (parsed.success) return { value: parsed.data, usage, attempts: attempt + 1 };
      problem = `The JSON did not match the required shape:\n${describeIssues(parsed.error)}`;
    } catch (error) {
      problem = `The answer was not valid JSON (${error instanceof Error ? error.message : "parse error"}).`;
    }
    messages.push(
      { role: "assistant", content: result.text },
      {
        role: "user",
        content: `${problem}\nAnswer again with only the corrected JSON object, no commentary, no code fences.`,
      },
    );
  }
  throw new StructuredOutputError(request.name);
}
