// Web search port and its adapters: Serper (Google results) when a key is configured, otherwise an
// adapter that answers 503 so features say clearly what is missing instead of inventing results.
import type { Config } from "../config/config.ts";
import { resolveSecret } from "../config/secrets.ts";
import { AppError, ServiceUnavailableError } from "../http/errors.ts";

export interface WebSearchResult {
  title: string;
  url: string;
  snippet: string;
  /** A rating the search engine reported as structured data (e.g. Serper's `rating`), if any. */
  rating?: number;
}

export interface WebSearchOptions {
  /** Results wanted (1..20, default 10). */
  limit?: number;
  signal?: AbortSignal;
}

/** Searches the web; results are in the engine's ranking order, http(s) URLs only. */
export interface WebSearch {
  readonly configured: boolean;
  search(query: string, options?: WebSearchOptions): Promise<WebSearchResult[]>;
}

export const WEB_SEARCH_NOT_CONFIGURED = "Web search is not configured on this engine (SERPER_API_KEY).";

/** The adapter used when no key is configured: every search is a 503 with the contract's message. */
export function createUnconfiguredWebSearch(): WebSearch {
  return {
    configured: false,
    async search() {
      throw new ServiceUnavailableError(WEB_SEARCH_NOT_CONFIGURED);
    },
  };
}

export interface SerperOptions {
  apiKey: string;
  /** Default https://google.serper.dev; tests point it at a loopback stub. */
  baseUrl?: string;
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
}

interface SerperOrganic {
  title?: unknown;
  link?: unknown;
  snippet?: unknown;
  rating?: unknown;
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== "string") return false;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

/** Serper adapter: `POST {baseUrl}/search` with `X-API-KEY`. */
export function createSerperWebSearch(options: SerperOptions): WebSearch {
  const baseUrl = (options.baseUrl ?? "https://google.serper.dev").replace(/\/+$/, "");
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    configured: true,
    async search(query, searchOptions = {}) {
      const limit = Math.min(20, Math.max(1, searchOptions.limit ?? 10));
      const signals = [AbortSignal.timeout(timeoutMs), ...(searchOptions.signal ? [searchOptions.signal] : [])];
      let response: Response;
      try {
        response = await fetchImpl(`${baseUrl}/search`, {
          method: "POST",
          headers: { "X-API-KEY": options.apiKey, "Content-Type": "application/json" },
          body: JSON.stringify({ q: query, num: limit }),
          signal: AbortSignal.any(signals),
        });
      } catch (error) {
        if (searchOptions.signal?.aborted) throw error;
        throw new AppError(502, "Web search did not answer. Please try again.");
      }
      if (response.status === 401 || response.status === 403) {
        // A wrong key is an operator problem; the student only needs to know search is unavailable.
        throw new ServiceUnavailableError("Web search is unavailable (the search provider refused the engine's key).");
      }
      if (!response.ok) throw new AppError(502, `Web search failed (HTTP ${response.status}). Please try again.`);
      let body: unknown;
      try {
        body = await response.json();
      } catch {
        throw new AppError(502, "Web search answered something that is not JSON.");
      }
      const organic =
        typeof body === "object" && body !== null && "organic" in body && Array.isArray(body.organic)
          ? (body.organic as SerperOrganic[])
          : [];
      const results: WebSearchResult[] = [];
      for (const item of organic) {
        if (!isHttpUrl(item.link) || typeof item.title !== "string" || item.title.trim() === "") continue;
        results.push({
          title: item.title.trim(),
          url: item.link,
          snippet: typeof item.snippet === "string" ? item.snippet.trim() : "",
          ...(typeof item.rating === "number" && item.rating >= 0 && item.rating <= 5 ? { rating: item.rating } : {}),
        });
        if (results.length >= limit) break;
      }
      return results;
    },
  };
}

/** The web search the configuration asks for: Serper with a key (value or secret), else the 503 adapter. */
export async function createWebSearch(
  config: Pick<Config, "SERPER_API_KEY" | "SERPER_API_KEY_SECRET_ARN">,
  overrides: Omit<SerperOptions, "apiKey"> = {},
): Promise<WebSearch> {
  const apiKey = await resolveSecret("SERPER_API_KEY", config.SERPER_API_KEY, config.SERPER_API_KEY_SECRET_ARN);
  return apiKey ? createSerperWebSearch({ apiKey, ...overrides }) : createUnconfiguredWebSearch();
}
