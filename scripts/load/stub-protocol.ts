// What the stub model process and the harness share: the completion timing record, the request
// marker, and the answer the stub gives for a marker.
import { hashString, seededRandom } from "./stats.ts";

/** One chat completion as the stub saw it. */
export interface StubTiming {
  /** The `[load:…]` key of the user message, if any. */
  key: string | null;
  stream: boolean;
  receivedAt: number;
  firstTokenAt: number | null;
  finishedAt: number | null;
  plannedFirstTokenMs: number;
  tokens: number;
}

export const STUB_MODEL = "load-stub-model";
export const TIMINGS_PATH = "/__load/timings";
/** Marks a request in the user's message (`[load:u3-17]`); the stub keys its timings and answer on it. */
export const KEY_PATTERN = /\[load:([a-z0-9-]+)\]/;

// Answer words; every answer also carries its request key, so stored answers are unique.
const WORDS = [
  "photosynthesis converts light energy into chemical energy stored in glucose the chloroplast captures photons",
  "while the calvin cycle fixes carbon dioxide mitochondria release that energy during cellular respiration",
]
  .join(" ")
  .split(" ");

/** The answer the stub streams for a request key: the key first, then words, 20–40 tokens in all. */
export function stubTokens(key: string | null, count: number): string[] {
  const random = seededRandom(hashString(key ?? "no-key"));
  const tokens = [`Reply ${key ?? "none"}: `];
  for (let index = 1; index < count; index += 1) {
    const word = WORDS[Math.floor(random() * WORDS.length)] ?? "study";
    tokens.push(index === count - 1 ? `${word}.` : `${word} `);
  }
  return tokens;
}
