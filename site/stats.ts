// Small statistics for the aggregation: run-to-run spread and a t-based confidence interval.

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1): runs are a sample of what the instance type does. */
export function sampleStddev(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

// Two-sided 95 % quantiles of Student's t; degrees of freedom between rows round down, which
// widens the interval a little rather than narrowing it.
const T975: ReadonlyArray<readonly [number, number]> = [
  [1, 12.706],
  [2, 4.303],
  [3, 3.182],
  [4, 2.776],
  [5, 2.571],
  [6, 2.447],
  [7, 2.365],
  [8, 2.306],
  [9, 2.262],
  [10, 2.228],
  [12, 2.179],
  [15, 2.131],
  [20, 2.086],
  [30, 2.042],
  [40, 2.021],
  [60, 2.0],
  [120, 1.98],
];

export function tQuantile975(df: number): number {
  let q = T975[0]![1];
  // Rounding can leave a df a hair under a whole number (1.9999999999999998 for 2); taken as is,
  // that would select the next row up and triple the interval.
  for (const [d, t] of T975) if (df >= d - 1e-9) q = t;
  return df >= 1000 ? 1.96 : q;
}

export interface Interval {
  low: number;
  high: number;
}

/**
 * exp(mean(b) - mean(a)) and its 95 % interval, from a's and b's per-run log values: Welch's t on
 * the difference of the means, so each side keeps its own run count and spread. The point is
 * computed here from the same values, so the interval is always centred on it (in log scale).
 */
export function ratioInterval(logsA: readonly number[], logsB: readonly number[]): Interval | null {
  const sa = sampleStddev(logsA);
  const sb = sampleStddev(logsB);
  if (sa === null || sb === null) return null;
  const point = Math.exp(mean(logsB) - mean(logsA));
  const va = sa ** 2 / logsA.length;
  const vb = sb ** 2 / logsB.length;
  const se = Math.sqrt(va + vb);
  if (se === 0) return { low: point, high: point };
  const df = (va + vb) ** 2 / (va ** 2 / (logsA.length - 1) + vb ** 2 / (logsB.length - 1));
  const half = tQuantile975(df) * se;
  return { low: point * Math.exp(-half), high: point * Math.exp(half) };
}
