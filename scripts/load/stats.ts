// Summary statistics of the load run: nearest-rank percentiles over the raw samples (a run holds
// tens of thousands of samples at most, so sorting them is cheap and exact).

export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** Rounds to 0.1 (milliseconds, MB): finer digits are noise at these magnitudes. */
export function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Nearest-rank percentiles; null fields when there is no sample. */
export function percentiles(samples: readonly number[]): Percentiles {
  if (samples.length === 0) return { count: 0, p50: null, p95: null, p99: null, max: null };
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => {
    const rank = Math.max(1, Math.ceil(q * sorted.length));
    return round(sorted[Math.min(rank, sorted.length) - 1] ?? Number.NaN);
  };
  return {
    count: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: round(sorted[sorted.length - 1] ?? 0),
  };
}

/** mulberry32: a tiny seeded PRNG, so a run's workload mix and stub delays are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Integer in [min, max], both included. */
export function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** A stable 32-bit hash of a string (FNV-1a), to derive per-request seeds from request keys. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes of one machine. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
