// Shapes shared by the site builder's stages: parse (one task's files) -> load (a results folder)
// -> aggregate (per executable, instance type and benchmark) -> render.
import type { RunnerMeta } from '../lambdas/shared/contract';
import type { ReadManifestTask } from './load-files';

/** One benchmark of one executable in one ruby-bench run. Times are milliseconds. */
export interface BenchSample {
  exe: string;
  bench: string;
  /** Mean of the benchmarking iterations (warmup excluded). */
  meanMs: number;
  /**
   * Spread of the iterations inside this run, in percent of the mean: never used to rank; with one
   * run of a type, it flags the cell as noisy (aggregate.ts).
   */
  iterStddevPct: number | null;
  iterations: number | null;
  rssMiB: number | null;
}

export type OutputSource = 'output.json' | 'output.txt' | 'none';

/** What could be read from one task's ruby-bench files; `warnings` says what could not. */
export interface ParsedOutput {
  source: OutputSource;
  /** Executable name -> `ruby -v` line. */
  executables: Record<string, string>;
  samples: BenchSample[];
  /** Benchmarks ruby-bench reported as failed (`N/A` rows). */
  failed: Array<{ exe: string; bench: string }>;
  warnings: string[];
}

/** `benchmarks_failed`: the task completed, but ruby-bench printed N/A for every benchmark. */
export type TaskOutcome =
  | 'completed'
  | 'benchmarks_failed'
  | 'failed'
  | 'cancelled'
  | 'missing'
  | 'unfinished';

/** One task of the run: a `<instance_type>-<run>` folder, a manifest entry, or both. */
export interface TaskResult {
  folder: string;
  instanceType: string;
  run: number;
  provider: string | null;
  outcome: TaskOutcome;
  /** Why the task has no usable results (manifest error, absent folder, unreadable output). */
  reason: string | null;
  meta: Partial<RunnerMeta> | null;
  output: ParsedOutput | null;
  /** Its manifest.json entry; fields absent or unreadable there are null. */
  manifestTask: ReadManifestTask | null;
}

export interface LoadedRun {
  resultsDir: string;
  runId: number | null;
  rubyVersion: string | null;
  status: string | null;
  createdAt: string | null;
  finishedAt: string | null;
  hasManifest: boolean;
  tasks: TaskResult[];
  /** Problems with the folder as a whole or with one task; each names the file it is about. */
  warnings: string[];
}
