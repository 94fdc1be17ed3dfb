// Ranks instance types per executable by the geometric mean of per-benchmark speed ratios to a
// baseline, over the benchmarks every ranked type completed. A sum of times would let the
// longest benchmarks decide alone; ratios give every benchmark the same weight.
import type { Cell } from './aggregate';
import { geomean, type Interval, mean, ratioInterval } from './stats';

export interface RankRow {
  instanceType: string;
  /** Baseline time / this type's time, geometric mean over the common benchmarks; > 1 is faster. */
  relSpeed: number;
  /** 95 % interval across runs; null for the baseline itself or with fewer than two usable runs. */
  ci: Interval | null;
  /** Runs that have every common benchmark (the ones the interval rests on). */
  runsUsed: number;
  geomeanMs: number;
  noisyCells: number;
  pricePerHour: number | null;
  /** relSpeed per dollar-hour. */
  speedPerDollar: number | null;
}

export interface Ranking {
  exe: string;
  baseline: string | null;
  baselineChosen: 'given' | 'slowest';
  common: string[];
  /** Benchmarks left out of the geometric mean, with the types that lack them. */
  excluded: Array<{ bench: string; missingOn: string[] }>;
  rows: RankRow[];
  /** Instance types with no result at all for this executable. */
  unranked: string[];
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Per run: mean log time over the common benchmarks, for runs that have all of them. */
function runLogMeans(cells: Map<string, Cell>, common: string[]): number[] {
  const perRun = new Map<number, number[]>();
  for (const bench of common) {
    for (const r of cells.get(bench)?.runs ?? []) {
      // A run without a usable (positive) time lacks this benchmark, so it is not counted below.
      if (!(r.ms > 0) || !Number.isFinite(r.ms)) continue;
      const logs = perRun.get(r.run) ?? [];
      logs.push(Math.log(r.ms));
      perRun.set(r.run, logs);
    }
  }
  return [...perRun.entries()]
    .filter(([, logs]) => logs.length === common.length)
    .sort(([a], [b]) => a - b)
    .map(([, logs]) => mean(logs));
}

export function rankInstanceTypes(
  exe: string,
  allTypes: string[],
  cells: Cell[],
  opts: { baseline?: string | undefined; prices?: Record<string, number> | undefined },
  warnings: string[],
): Ranking {
  const byType = new Map<string, Map<string, Cell>>();
  for (const c of cells)
    byType.set(c.instanceType, (byType.get(c.instanceType) ?? new Map()).set(c.bench, c));
  const types = [...byType.keys()].sort(byName);
  const unranked = allTypes.filter((t) => !byType.has(t));
  const benches = [...new Set(cells.map((c) => c.bench))].sort(byName);
  const common = benches.filter((b) => types.every((t) => byType.get(t)?.has(b)));
  const excluded = benches
    .filter((b) => !common.includes(b))
    .map((bench) => ({ bench, missingOn: types.filter((t) => !byType.get(t)?.has(bench)) }));
  const empty: Ranking = {
    exe,
    baseline: null,
    baselineChosen: 'slowest',
    common,
    excluded,
    rows: [],
    unranked,
  };
  if (common.length === 0) {
    if (types.length > 0)
      warnings.push(`${exe}: no benchmark was completed on every instance type, so there is no ranking`);
    return empty;
  }
  const gm = new Map<string, number>();
  for (const t of types) {
    const g = geomean(common.map((b) => byType.get(t)!.get(b)!.meanMs));
    if (g !== null) gm.set(t, g);
    else {
      // The parsers leave 0 ms out already; this keeps NaN and Infinity off the page regardless.
      warnings.push(`${exe}: ${t} has a mean time of 0 ms or less on a compared benchmark; not ranked`);
      unranked.push(t);
    }
  }
  const ranked = types.filter((t) => gm.has(t));
  if (ranked.length === 0) return empty;
  let baseline = ranked.reduce((slow, t) => (gm.get(t)! > gm.get(slow)! ? t : slow));
  let baselineChosen: Ranking['baselineChosen'] = 'slowest';
  if (opts.baseline !== undefined) {
    if (gm.has(opts.baseline)) {
      baseline = opts.baseline;
      baselineChosen = 'given';
    } else {
      warnings.push(
        `${exe}: the baseline ${opts.baseline} has no results; used the slowest type, ${baseline}`,
      );
    }
  }
  const baseLogs = runLogMeans(byType.get(baseline)!, common);
  const rows: RankRow[] = ranked.map((t) => {
    const relSpeed = gm.get(baseline)! / gm.get(t)!;
    const logs = runLogMeans(byType.get(t)!, common);
    const price = opts.prices?.[t] ?? null;
    return {
      instanceType: t,
      relSpeed,
      // ln(relSpeed) = mean(base logs) - mean(type logs): the interval of that difference.
      ci: t === baseline ? null : ratioInterval(relSpeed, logs, baseLogs),
      runsUsed: logs.length,
      geomeanMs: gm.get(t)!,
      noisyCells: common.filter((b) => byType.get(t)!.get(b)!.noisy).length,
      pricePerHour: price,
      speedPerDollar: price !== null && price > 0 ? relSpeed / price : null,
    };
  });
  rows.sort((a, b) => b.relSpeed - a.relSpeed || byName(a.instanceType, b.instanceType));
  return { exe, baseline, baselineChosen, common, excluded, rows, unranked };
}
