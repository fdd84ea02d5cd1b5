// The one shape every benchmark reports in, so `npm run bench` can put all figures side by side:
// each figure carries its value, the baseline it is measured against (measured in the same run),
// their ratio, and the target it must meet. Each benchmark script writes its figures into
// bench/results-<name>.json under `figures`; bench/run.ts collects them into bench/results.json.

export type Better = "lower" | "higher";

export interface Target {
  op: "<=" | ">=";
  value: number;
}

export interface Figure {
  /** Stable dotted id, e.g. "retrieval.100k.p95_ms". */
  id: string;
  /** What a reader sees in the table, e.g. "retrieval p95, 100k chunks, cached". */
  label: string;
  unit: string;
  value: number | null;
  better: Better;
  /** What the value is compared with, measured in the same run (e.g. "plain TypeScript scan"). */
  baseline?: { label: string; value: number | null };
  /** value / baseline.value, rounded; null without a usable baseline. */
  ratio: number | null;
  target?: Target;
  /** Whether the value meets the target; null when there is no target or no value. */
  pass: boolean | null;
  /** One line on how it was measured or why it misses, when a reader needs it. */
  note?: string;
}

export interface FigureInput {
  id: string;
  label: string;
  unit: string;
  value: number | null | undefined;
  better: Better;
  baseline?: { label: string; value: number | null | undefined };
  target?: Target;
  note?: string;
}

function ratioOf(value: number | null, baseline: number | null): number | null {
  if (value === null || baseline === null || baseline === 0) return null;
  const ratio = value / baseline;
  return Number(ratio.toPrecision(3));
}

/** Builds a figure, computing its ratio to the baseline and whether it meets its target. */
export function figure(input: FigureInput): Figure {
  const value = input.value ?? null;
  const baselineValue = input.baseline ? (input.baseline.value ?? null) : null;
  const pass =
    input.target === undefined || value === null
      ? null
      : input.target.op === "<="
        ? value <= input.target.value
        : value >= input.target.value;
  return {
    id: input.id,
    label: input.label,
    unit: input.unit,
    value,
    better: input.better,
    ...(input.baseline ? { baseline: { label: input.baseline.label, value: baselineValue } } : {}),
    ratio: ratioOf(value, baselineValue),
    ...(input.target ? { target: input.target } : {}),
    pass,
    ...(input.note ? { note: input.note } : {}),
  };
}

function formatNumber(value: number | null): string {
  if (value === null) return "—";
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

/** A Markdown table of figures: value, baseline, ratio, target and verdict. */
export function figuresTable(figures: readonly Figure[]): string {
  const rows = ["| figure | value | baseline | ratio | target | |", "| --- | ---: | --- | ---: | --- | --- |"];
  for (const item of figures) {
    const unit = item.unit ? ` ${item.unit}` : "";
    const baseline = item.baseline ? `${formatNumber(item.baseline.value)}${unit} (${item.baseline.label})` : "";
    const ratio = item.ratio === null ? "" : `×${formatNumber(item.ratio)}`;
    const target = item.target ? `${item.target.op} ${formatNumber(item.target.value)}${unit}` : "";
    const verdict = item.pass === null ? "" : item.pass ? "pass" : "**miss**";
    rows.push(
      `| ${item.label} | ${formatNumber(item.value)}${unit} | ${baseline} | ${ratio} | ${target} | ${verdict} |`,
    );
  }
  return `${rows.join("\n")}\n`;
}
