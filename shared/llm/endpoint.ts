// An OpenAI-compatible endpoint without its client: where it is (from the environment) and whether
// it answers. Apart from openai-compatible.ts so that a function reporting on the model (/health)
// does not load LangChain.

const HEALTH_TIMEOUT_MS = 2_500;

export interface ModelEndpoint {
  baseUrl: string;
  model: string;
  apiKey?: string;
}

/** Picks the chat endpoint from the environment: LLM_* first, then Ollama's OpenAI-compatible /v1; undefined when neither is set. */
export function resolveModelEndpoint(env: {
  LLM_BASE_URL?: string;
  LLM_MODEL?: string;
  LLM_API_KEY?: string;
  OLLAMA_BASE_URL?: string;
  OLLAMA_MODEL?: string;
}): ModelEndpoint | undefined {
  // Empty values count as unset: `.env` files often carry `LLM_BASE_URL=`.
  const llmBaseUrl = nonEmpty(env.LLM_BASE_URL);
  if (llmBaseUrl !== undefined) {
    const model = nonEmpty(env.LLM_MODEL);
    // No default model: a guessed name would fail on every request instead of at start-up.
    if (model === undefined) throw new Error("LLM_MODEL must be set when LLM_BASE_URL is set");
    const apiKey = nonEmpty(env.LLM_API_KEY);
    const endpoint = { baseUrl: trimTrailingSlashes(llmBaseUrl), model };
    return apiKey === undefined ? endpoint : { ...endpoint, apiKey };
  }
  const ollamaBaseUrl = nonEmpty(env.OLLAMA_BASE_URL);
  if (ollamaBaseUrl !== undefined) {
    const root = trimTrailingSlashes(ollamaBaseUrl);
    return {
      baseUrl: /\/v1$/.test(root) ? root : `${root}/v1`,
      model: nonEmpty(env.OLLAMA_MODEL) ?? "llama3.1",
    };
  }
  return undefined;
}
/** Health probe: GET {baseUrl}/models within a short timeout; resolves "ok" or "down" (never throws). */
export async function probeModelEndpoint(endpoint: {
  baseUrl: string;
  apiKey?: string;
}): Promise<{ status: "ok" | "down"; detail?: string }> {
  const headers: Record<string, string> = {};
  if (endpoint.apiKey !== undefined) headers.authorization = `Bearer ${endpoint.apiKey}`;
  try {
    const response = await fetch(`${trimTrailingSlashes(endpoint.baseUrl)}/models`, {
      headers,
      signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.ok) return { status: "ok" };
    return { status: "down", detail: `the model endpoint answered HTTP ${response.status}` };
  } catch (error) {
    const timedOut = error instanceof Error && error.name === "TimeoutError";
    return {
      status: "down",
      detail: timedOut ? `no answer within ${HEALTH_TIMEOUT_MS} ms` : "the model endpoint could not be reached",
    };
  }
}

export function trimTrailingSlashes(url: string): string {
  return url.trim().replace(/\/+$/, "");
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed.length === 0 ? undefined : trimmed;
}
