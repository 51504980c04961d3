import type { Summary } from './stats.js';

/** One measured quantity: what was timed and its median/p99 (or a single value for counts and sizes). */
export interface Measurement {
  /** What was measured, e.g. `chain (identity-resolve → identity-verify → secrets-inject)`. */
  readonly label: string;
  /** Unit of `median` and `p99`: `µs`, `ms`, `bytes`, `queries`, `MB`. */
  readonly unit: string;
  readonly median: number;
  /** Absent for single values (bundle size, query count). */
  readonly p99?: number;
  /** Samples behind the figure (1 for single values). */
  readonly count: number;
}

/** A published figure: a subject, the baseline measured in the same process and run, their ratio, and the target. */
export interface Figure {
  /** Stable key in results.json, e.g. `warmChain`. */
  readonly id: string;
  /** Heading in the table. */
  readonly title: string;
  readonly subject: Measurement;
  readonly baseline: Measurement;
  /** The ratio that is judged, rounded to 2 decimals. */
  readonly ratio: number;
  /** How `ratio` is formed: `subject/baseline` (a cost, lower is better) or `baseline/subject` (a speed-up). */
  readonly ratioOf: 'subject/baseline' | 'baseline/subject';
  /** Target, when the issue sets one: on `ratio` (default), or on the subject's median in its own unit. */
  readonly target?: {
    readonly comparison: '<=' | '>=' | '==';
    readonly value: number;
    readonly on?: 'ratio' | 'subject';
  };
  /** Whether the figure meets `target`; absent without a target. */
  readonly met?: boolean;
  /** Other figures of the same experiment (counts, sizes, costs of parts), by name. */
  readonly details?: Readonly<Record<string, number | string | boolean>>;
  /** How it was measured, in one or two sentences (shown under the table). */
  readonly method: string;
}

/** A measurement from a set of samples in µs (or ms) and a label. */
export const measurement = (label: string, unit: string, summary: Summary): Measurement => ({
  label,
  unit,
  median: summary.median,
  p99: summary.p99,
  count: summary.count,
});

/** A measurement that is one value (a size, a count). */
export const singleValue = (label: string, unit: string, value: number): Measurement => ({
  label,
  unit,
  median: value,
  count: 1,
});

/** Builds a {@link Figure}, computing the ratio and whether it meets its target. */
export const figure = (spec: Omit<Figure, 'ratio' | 'met'>): Figure => {
  const raw =
    spec.ratioOf === 'subject/baseline'
      ? spec.subject.median / spec.baseline.median
      : spec.baseline.median / spec.subject.median;
  const ratio = Number(raw.toFixed(2));
  const judged = spec.target?.on === 'subject' ? spec.subject.median : ratio;
  const met =
    spec.target === undefined
      ? undefined
      : spec.target.comparison === '<='
        ? judged <= spec.target.value
        : spec.target.comparison === '>='
          ? judged >= spec.target.value
          : judged === spec.target.value;
  return { ...spec, ratio, ...(met === undefined ? {} : { met }) };
};

/** What every benchmark receives from the runner. */
export interface BenchContext {
  /** `--quick`: small counts, to prove the benchmark works (CI), not to judge speed. */
  readonly quick: boolean;
  /** Progress line on stderr (bypasses silenced stdout/stderr). */
  log(message: string): void;
}

/** A benchmark file's export: a named suite that yields figures. */
export interface BenchSuite {
  /** Short name, usable with `--only <name>`. */
  readonly name: string;
  run(context: BenchContext): Promise<Figure[]>;
}
