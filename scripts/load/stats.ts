// The load run's statistics come from the benchmarks' shared module; the run rounds everything to
// 0.1 (milliseconds, MB), since finer digits are noise at these magnitudes.
import { round as roundTo } from "../../bench/stats.ts";

export {
  between,
  hashString,
  type Percentiles,
  percentiles,
  preciseNow,
  seededRandom,
} from "../../bench/stats.ts";

export const round = (value: number): number => roundTo(value, 1);
