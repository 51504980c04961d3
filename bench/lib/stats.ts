/** Order statistics over timing samples. Every function copies before sorting: callers keep their order. */

/** Median and 99th percentile of one set of samples, in the samples' unit. */
export interface Summary {
  readonly median: number;
  readonly p99: number;
  /** Number of samples. */
  readonly count: number;
}

// Typed arrays sort numerically (and faster) without a comparator.
const sorted = (values: readonly number[]): Float64Array => Float64Array.from(values).sort();

/** Value at percentile `p` (0..100), nearest-rank on the sorted samples. */
export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) throw new RangeError('percentile of no samples');
  const order = sorted(values);
  return order[Math.min(order.length - 1, Math.max(0, Math.ceil((p / 100) * order.length) - 1))]!;
};

/** Median (mean of the two middle samples for an even count). */
export const median = (values: readonly number[]): number => {
  if (values.length === 0) throw new RangeError('median of no samples');
  const order = sorted(values);
  const middle = order.length >> 1;
  return order.length % 2 === 1 ? order[middle]! : (order[middle - 1]! + order[middle]!) / 2;
};

/** Median, p99 and count of `values`. */
export const summarise = (values: readonly number[]): Summary => ({
  median: median(values),
  p99: percentile(values, 99),
  count: values.length,
});

/** Rounds to `digits` decimals (for reports; keep raw samples unrounded). */
export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));
