// Per (executable, instance type, benchmark): the spread across runs (not across iterations of
// one run, which ruby-bench already summarises; that spread only flags a type with one run as
// noisy). Ranking lives in ranking.ts.
import { hostWarnings } from './hosts';
import type { LoadedRun, TaskResult } from './model';
import { type Ranking, rankInstanceTypes } from './ranking';
import { mean, sampleStddev } from './stats';
import { workloadWarnings } from './workload';

/** Above this coefficient of variation across runs a result is flagged as noisy. */
export const NOISY_CV = 0.05;

export interface RunValue {
  run: number;
  ms: number;
  rssMiB: number | null;
  iterStddevPct: number | null;
  /** benchmarking iterations behind `ms` (ruby-bench's count), when the output says */
  iterations: number | null;
  siblingBusy: boolean;
}

export interface Cell {
  exe: string;
  instanceType: string;
  bench: string;
  runs: RunValue[];
  meanMs: number;
  stddevMs: number | null;
  /** stddev / mean across runs; null with a single run. */
  cv: number | null;
  minMs: number;
  maxMs: number;
  rssMiB: number | null;
  noisy: boolean;
  noise: string[];
  /** Runs where ruby-bench printed N/A for this benchmark. */
  failedRuns: number[];
}

export interface BenchFailure {
  exe: string;
  instanceType: string;
  bench: string;
  /** Runs where ruby-bench printed N/A for it. */
  runs: number[];
  /** Runs that have a result for it: empty when it failed in every run that tried it. */
  resultRuns: number[];
}

export interface Aggregate {
  executables: string[];
  instanceTypes: string[];
  /** Per executable, every benchmark that has a value or a failure anywhere, sorted. */
  benchmarks: Record<string, string[]>;
  cells: Cell[];
  /** (executable, instance type, benchmark) that failed in at least one run, partly or in all. */
  failures: BenchFailure[];
  rankings: Ranking[];
  /** Why there is no result at all (no executable), shown in the empty sections; null otherwise. */
  noResults: string | null;
  warnings: string[];
}

export interface AggregateOptions {
  baseline?: string | undefined;
  prices?: Record<string, number> | undefined;
}

const key = (exe: string, type: string, bench: string): string => `${exe}\u0000${type}\u0000${bench}`;
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function collect(
  tasks: TaskResult[],
  warnings: string[],
): { values: Map<string, RunValue[]>; failed: Map<string, number[]> } {
  const values = new Map<string, RunValue[]>();
  const failed = new Map<string, number[]>();
  for (const t of tasks) {
    // A task whose every benchmark failed has no values, but its failures are listed.
    if ((t.outcome !== 'completed' && t.outcome !== 'benchmarks_failed') || !t.output) continue;
    const siblingBusy = t.meta?.sibling_busy === true;
    for (const s of t.output.samples) {
      if (!(s.meanMs > 0) || !Number.isFinite(s.meanMs)) {
        // The parsers drop these already; a time that is not positive has no ratio to compare.
        warnings.push(
          `${t.folder}/${t.output.source}: benchmark "${s.bench}" of ${s.exe} has a mean of ${s.meanMs} ms; left out`,
        );
        continue;
      }
      const k = key(s.exe, t.instanceType, s.bench);
      const list = values.get(k) ?? [];
      list.push({
        run: t.run,
        ms: s.meanMs,
        rssMiB: s.rssMiB,
        iterStddevPct: s.iterStddevPct,
        iterations: s.iterations,
        siblingBusy,
      });
      values.set(k, list);
    }
    for (const f of t.output.failed) {
      const k = key(f.exe, t.instanceType, f.bench);
      failed.set(k, [...(failed.get(k) ?? []), t.run]);
    }
  }
  return { values, failed };
}

function cellOf(
  exe: string,
  instanceType: string,
  bench: string,
  runs: RunValue[],
  failedRuns: number[],
): Cell {
  const ms = runs.map((r) => r.ms);
  const m = mean(ms);
  const sd = sampleStddev(ms);
  const cv = sd === null || m === 0 ? null : sd / m;
  const rss = runs.map((r) => r.rssMiB).filter((x): x is number => x !== null);
  const noise: string[] = [];
  if (cv !== null && cv > NOISY_CV) {
    noise.push(
      `runs differ by ${(cv * 100).toFixed(1)} % (coefficient of variation over ${NOISY_CV * 100} %)`,
    );
  }
  // With one run there is no spread across runs to judge it by: the uncertainty of its mean comes
  // from ruby-bench's own ± across that run's iterations (its standard error, when their count is known).
  // (output.txt alone gives no count, and the ± of the iterations is not the mean's: no flag then)
  const only = runs.length === 1 ? runs[0] : undefined;
  if (only?.iterStddevPct != null && only.iterations !== null && only.iterations > 0) {
    const se = only.iterStddevPct / Math.sqrt(only.iterations);
    if (se > NOISY_CV * 100) {
      noise.push(
        `one run only, whose mean is uncertain by ±${se.toFixed(1)} % (ruby-bench's ±${only.iterStddevPct.toFixed(1)} % over ${only.iterations} iterations; over ${NOISY_CV * 100} %)`,
      );
    }
  }
  const busy = runs.filter((r) => r.siblingBusy).map((r) => r.run);
  if (busy.length > 0) noise.push(`the CPU's SMT sibling was busy during run ${busy.join(', ')}`);
  return {
    exe,
    instanceType,
    bench,
    runs: [...runs].sort((a, b) => a.run - b.run),
    meanMs: m,
    stddevMs: sd,
    cv,
    minMs: Math.min(...ms),
    maxMs: Math.max(...ms),
    rssMiB: rss.length > 0 ? mean(rss) : null,
    noisy: noise.length > 0,
    noise,
    failedRuns: failedRuns.sort((a, b) => a - b),
  };
}

/**
 * Each type's vCPU count, from its tasks' meta.json: the runners ran one ruby-bench per vCPU at
 * once, so a machine's Ruby work is its per-process speed times that. Tasks that disagree (a
 * mislabelled host) give the most common count, and a warning.
 */
function vcpusByType(tasks: LoadedRun['tasks'], warnings: string[]): Record<string, number> {
  const seen = new Map<string, Map<number, number>>();
  for (const t of tasks) {
    const n = t.meta?.vcpus;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) continue;
    const counts = seen.get(t.instanceType) ?? new Map<number, number>();
    seen.set(t.instanceType, counts.set(n, (counts.get(n) ?? 0) + 1));
  }
  const out: Record<string, number> = {};
  for (const [type, counts] of seen) {
    const [top] = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    if (!top) continue;
    out[type] = top[0];
    if (counts.size > 1) {
      const all = [...counts.keys()].sort((a, b) => a - b).join(', ');
      warnings.push(`${type}: its tasks' meta.json give ${all} vCPUs; price-performance uses ${top[0]}`);
    }
  }
  return out;
}

export function aggregate(run: LoadedRun, opts: AggregateOptions = {}): Aggregate {
  const warnings: string[] = [];
  const { values, failed } = collect(run.tasks, warnings);
  const split = (k: string): [string, string, string] => k.split('\u0000') as [string, string, string];
  const cells: Cell[] = [];
  const failures: BenchFailure[] = [];
  const benches = new Map<string, Set<string>>();
  const note = (exe: string, bench: string): void => {
    benches.set(exe, (benches.get(exe) ?? new Set()).add(bench));
  };
  for (const [k, runs] of values) {
    const [exe, type, bench] = split(k);
    cells.push(cellOf(exe, type, bench, runs, failed.get(k) ?? []));
    note(exe, bench);
  }
  for (const [k, runs] of failed) {
    const [exe, type, bench] = split(k);
    note(exe, bench);
    const resultRuns = (values.get(k) ?? []).map((v) => v.run).sort((a, b) => a - b);
    failures.push({ exe, instanceType: type, bench, runs: runs.sort((a, b) => a - b), resultRuns });
  }
  cells.sort(
    (a, b) => byName(a.exe, b.exe) || byName(a.bench, b.bench) || byName(a.instanceType, b.instanceType),
  );
  failures.sort(
    (a, b) => byName(a.exe, b.exe) || byName(a.bench, b.bench) || byName(a.instanceType, b.instanceType),
  );
  const executables = [...benches.keys()].sort(byName);
  const benchmarks: Record<string, string[]> = {};
  for (const exe of executables) benchmarks[exe] = [...(benches.get(exe) ?? [])].sort(byName);
  const instanceTypes = [...new Set(run.tasks.map((t) => t.instanceType))].sort(byName);
  warnings.push(...workloadWarnings(run.tasks), ...hostWarnings(run.tasks));
  const vcpus = vcpusByType(run.tasks, warnings);
  const lostRuns = lostRunsByType(run.tasks);
  const rankings = executables.map((exe) =>
    rankInstanceTypes(
      exe,
      instanceTypes,
      cells.filter((c) => c.exe === exe),
      { ...opts, vcpus, lostRuns },
      warnings,
    ),
  );
  const noResults = executables.length === 0 ? whyNoResults(run.tasks) : null;
  if (noResults !== null) warnings.push(`${noResults}; nothing to rank`);
  return { executables, instanceTypes, benchmarks, cells, failures, rankings, noResults, warnings };
}

/**
 * Per type, its runs that left no results at all (a failed, timed-out, cancelled or unfinished
 * task, or one whose files are missing), with the error type or outcome: the ranking counts them.
 */
function lostRunsByType(tasks: TaskResult[]): Record<string, Array<{ run: number; why: string }>> {
  const lost: Record<string, Array<{ run: number; why: string }>> = {};
  for (const t of tasks) {
    if (t.outcome === 'completed' || t.outcome === 'benchmarks_failed') continue;
    const why = t.manifestTask?.error_type ?? t.outcome;
    lost[t.instanceType] = [...(lost[t.instanceType] ?? []), { run: t.run, why }];
  }
  for (const runs of Object.values(lost)) runs.sort((a, b) => a.run - b.run);
  return lost;
}

/** A run where every task failed is not a reading problem: say what happened to the tasks. */
function whyNoResults(tasks: TaskResult[]): string {
  if (tasks.some((t) => t.outcome === 'completed' || t.outcome === 'benchmarks_failed'))
    return 'no benchmark result could be read from any task';
  if (tasks.length === 0) return 'no task has results (the folder has no task)';
  const count = (...o: TaskResult['outcome'][]): number => tasks.filter((t) => o.includes(t.outcome)).length;
  const parts = [
    [count('failed'), 'failed'],
    [count('cancelled'), 'cancelled'],
    [count('missing', 'unfinished'), 'missing or unfinished'],
  ] as const;
  return `no task has results (${parts
    .filter(([n]) => n > 0)
    .map(([n, what]) => `${n} ${what}`)
    .join(', ')})`;
}
