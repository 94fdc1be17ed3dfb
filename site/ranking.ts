// Ranks instance types per executable by the geometric mean of per-benchmark speed ratios to a
// baseline, over the benchmarks every ranked type completed. A sum of times would let the
// longest benchmarks decide alone; ratios give every benchmark the same weight.
import type { Cell } from './aggregate';
import { type Interval, mean, ratioInterval } from './stats';

export interface RankRow {
  instanceType: string;
  /**
   * Baseline time / this type's time, each the geometric mean over the type's runs that have every
   * common benchmark and over those benchmarks; > 1 is faster. The interval rests on the same runs.
   */
  relSpeed: number;
  /** 95 % interval across runs, centred on relSpeed; null for the baseline or too few runs. */
  ci: Interval | null;
  /** Why there is no interval (shown beside the dash); null when there is one, or for the baseline. */
  ciNote: string | null;
  /** Runs that have every common benchmark (the ones the point and the interval rest on). */
  runsUsed: number;
  /** Runs with results that lack a common benchmark (it failed there), left out of the estimate. */
  runsLacking: number[];
  /** Runs of the type with no results at all (failed, timed out, cancelled, missing), with why. */
  runsLost: Array<{ run: number; why: string }>;
  /** Benchmarks some type completed that this one did not: left out of every type's mean. */
  lacks: string[];
  geomeanMs: number;
  noisyCells: number;
  pricePerHour: number | null;
  /** relSpeed per dollar-hour: one Ruby process per machine. */
  speedPerDollar: number | null;
  /** vCPUs of the type (its tasks' meta.json); null when none says. */
  vcpus: number | null;
  /**
   * relSpeed times vCPUs per dollar-hour: a machine full of Ruby processes, one per vCPU, as the
   * runners measured them (all slots at work at once). null without a price or a vCPU count.
   */
  workPerDollar: number | null;
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

interface TypeEstimate {
  /** ln of the type's geometric mean time over the common benchmarks. */
  logMs: number;
  /** Per run with every common benchmark, by run number: its mean log time over them. */
  runLogs: number[];
  runsLacking: number[];
}

/**
 * One estimator for the point and the interval: the mean over runs of each run's mean log time,
 * over the runs that have every common benchmark (a run that lacks one would compare a different
 * set of benchmarks). Only when no run has them all does the point fall back to per-benchmark
 * means of every run's logs (the same value when no run lacks one), and then there is no interval.
 */
function estimate(cells: Map<string, Cell>, common: string[]): TypeEstimate | null {
  const perRun = new Map<number, number[]>();
  const perBench: number[] = [];
  for (const bench of common) {
    const logs: number[] = [];
    for (const r of cells.get(bench)?.runs ?? []) {
      // A run without a usable (positive) time lacks this benchmark.
      if (!(r.ms > 0) || !Number.isFinite(r.ms)) continue;
      logs.push(Math.log(r.ms));
      perRun.set(r.run, [...(perRun.get(r.run) ?? []), Math.log(r.ms)]);
    }
    if (logs.length === 0) return null;
    perBench.push(mean(logs));
  }
  const runs = [...perRun.keys()].sort((a, b) => a - b);
  const complete = runs.filter((r) => perRun.get(r)!.length === common.length);
  const runLogs = complete.map((r) => mean(perRun.get(r)!));
  const logMs = runLogs.length > 0 ? mean(runLogs) : mean(perBench);
  if (!Number.isFinite(logMs)) return null;
  return { logMs, runLogs, runsLacking: runs.filter((r) => !complete.includes(r)) };
}

function runsText(type: string, e: TypeEstimate): string {
  const n = e.runLogs.length;
  const lacking =
    e.runsLacking.length === 0
      ? ''
      : ` (run ${e.runsLacking.join(', ')} lack${e.runsLacking.length === 1 ? 's' : ''} a compared benchmark)`;
  return `${type} has ${n}${lacking}`;
}

export function rankInstanceTypes(
  exe: string,
  allTypes: string[],
  cells: Cell[],
  opts: {
    baseline?: string | undefined;
    prices?: Record<string, number> | undefined;
    vcpus?: Record<string, number> | undefined;
    /** Per type, its runs that have no results at all, and why (a task failed, timed out...). */
    lostRuns?: Record<string, Array<{ run: number; why: string }>> | undefined;
  },
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
  const lacking = types
    .map((t) => ({ t, lacks: benches.filter((b) => !byType.get(t)?.has(b)) }))
    .filter((x) => x.lacks.length > 0);
  if (lacking.length > 0) {
    // A type that failed some benchmarks shrinks the comparison of every other type to the rest:
    // the ranking can change with it, so the page says which type did it.
    const culprits = lacking.map((x) => x.t).join(', ');
    warnings.push(
      `${exe}: every type is ranked on ${common.length} of the ${benches.length} benchmarks, because ` +
        `${lacking.map((x) => `${x.t} lacks ${x.lacks.join(', ')}`).join('; ')} (failed or not run there)` +
        (lacking.length < types.length
          ? `; without ${culprits} the others would be compared on all ${benches.length}`
          : ''),
    );
  }
  const est = new Map<string, TypeEstimate>();
  for (const t of types) {
    const e = estimate(byType.get(t)!, common);
    if (e !== null) est.set(t, e);
    else {
      // The parsers leave 0 ms out already; this keeps NaN and Infinity off the page regardless.
      warnings.push(`${exe}: ${t} has a mean time of 0 ms or less on a compared benchmark; not ranked`);
      unranked.push(t);
    }
  }
  const ranked = types.filter((t) => est.has(t));
  if (ranked.length === 0) return empty;
  const logMs = (t: string): number => est.get(t)!.logMs;
  let baseline = ranked.reduce((slow, t) => (logMs(t) > logMs(slow) ? t : slow));
  let baselineChosen: Ranking['baselineChosen'] = 'slowest';
  if (opts.baseline !== undefined) {
    if (est.has(opts.baseline)) {
      baseline = opts.baseline;
      baselineChosen = 'given';
    } else {
      warnings.push(
        `${exe}: the baseline ${opts.baseline} has no results; used the slowest type, ${baseline}`,
      );
    }
  }
  const base = est.get(baseline)!;
  const lost = (t: string) => opts.lostRuns?.[t] ?? [];
  for (const t of ranked) {
    const gone = lost(t);
    if (gone.length === 0) continue;
    const total = est.get(t)!.runLogs.length + est.get(t)!.runsLacking.length + gone.length;
    // A timeout ends the slowest runs first: the runs left can flatter the type.
    // a run cancelled by a stop says nothing of the type's speed; one that timed out or failed may
    const telling = gone.some((g) => g.why !== 'cancelled');
    warnings.push(
      `${exe}: ${t} is ranked on ${est.get(t)!.runLogs.length} of its ${total} runs; ` +
        `${gone.map((g) => `run ${g.run} has no results (${g.why})`).join(', ')}` +
        (telling ? '. A run that timed out or failed is often a slow one, so its rank may flatter it' : ''),
    );
  }
  const rows: RankRow[] = ranked.map((t) => {
    const e = est.get(t)!;
    // = exp(mean(base run logs) - mean(this type's run logs)) whenever both sides have a full run
    const relSpeed = Math.exp(base.logMs - e.logMs);
    const ci = t === baseline ? null : ratioInterval(e.runLogs, base.runLogs);
    const price = opts.prices?.[t] ?? null;
    const vcpus = opts.vcpus?.[t] ?? null;
    const priced = price !== null && price > 0;
    return {
      instanceType: t,
      relSpeed,
      ci,
      ciNote:
        t === baseline || ci !== null
          ? null
          : `no interval: it needs two or more runs with every compared benchmark on both sides; ${runsText(t, e)}, ${runsText(baseline, base)}`,
      runsUsed: e.runLogs.length,
      runsLacking: e.runsLacking,
      runsLost: lost(t),
      lacks: benches.filter((b) => !byType.get(t)?.has(b)),
      geomeanMs: Math.exp(e.logMs),
      noisyCells: common.filter((b) => byType.get(t)!.get(b)!.noisy).length,
      pricePerHour: price,
      speedPerDollar: priced ? relSpeed / price : null,
      vcpus,
      workPerDollar: priced && vcpus !== null ? (relSpeed * vcpus) / price : null,
    };
  });
  rows.sort((a, b) => b.relSpeed - a.relSpeed || byName(a.instanceType, b.instanceType));
  return { exe, baseline, baselineChosen, common, excluded, rows, unranked };
}
