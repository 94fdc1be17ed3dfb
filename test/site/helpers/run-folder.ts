// Builds results folders for the site tests from the real ruby-bench fixtures. Timings are the
// fixture's multiplied by known factors, so expected ratios follow from the factors alone.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest, ManifestTask, RunnerMeta } from '../../../lambdas/shared/contract';
import { tempDir as sharedTempDir } from '../../helpers/temp-dir';

// A copy of ../shared/fixtures/ruby-bench (real ruby-bench output), kept in the repo for CI.
export const FIXTURES = join(__dirname, '..', 'fixtures', 'ruby-bench');
export const RSS_FIXTURE = join(FIXTURES, 'single-ruby-rss-out-name-with-failed-gem-benchmark');

export function fixture(folder: string, file: string): string {
  return readFileSync(join(FIXTURES, folder, file), 'utf8');
}

/** A fresh folder, removed after the test file. */
export function tempDir(prefix = 'site-'): string {
  return sharedTempDir(prefix);
}

/** The fixture's output.json with every iteration of `bench` multiplied by factors[bench]; others dropped. */
export function scaledJson(factors: Record<string, number>): string {
  const doc = JSON.parse(readFileSync(join(RSS_FIXTURE, 'output.json'), 'utf8')) as {
    raw_data: Record<string, Record<string, { bench: number[]; warmup: number[] }>>;
  };
  const ruby = doc.raw_data.ruby!;
  for (const bench of Object.keys(ruby)) {
    const f = factors[bench];
    if (f === undefined) delete ruby[bench];
    else ruby[bench] = { ...ruby[bench]!, bench: ruby[bench]!.bench.map((s) => s * f) };
  }
  return JSON.stringify(doc);
}

/**
 * The fixture's output.txt with each time cell multiplied by factors[bench], padded to keep
 * ruby-bench's column layout; benchmarks in `failed` become N/A rows like the fixture's `rack`.
 */
export function scaledTxt(factors: Record<string, number>, failed: string[] = []): string {
  return readFileSync(join(RSS_FIXTURE, 'output.txt'), 'utf8')
    .split('\n')
    .map((line) => {
      const bench = /^(\S+)\s/.exec(line)?.[1];
      if (bench === undefined) return line;
      if (failed.includes(bench))
        return line.replace(/\d+\.\d ± \d+\.\d%/g, (cell) => 'N/A'.padStart(cell.length));
      const f = factors[bench];
      if (f === undefined) return line;
      return line.replace(
        /(\d+\.\d)( ± \d+\.\d%)/,
        (_m, v: string, rest: string) => (Number(v) * f).toFixed(1).padStart(v.length) + rest,
      );
    })
    .join('\n');
}

/**
 * A current runner's meta.json: each run on a VM of its own (`vm-<type>-<run>`), alone there. A
 * meta.json of an older runner lacks the optional fields (see `olderMeta`).
 */
export function metaFor(instanceType: string, run: number, over: Partial<RunnerMeta> = {}): RunnerMeta {
  return {
    runner_id: `vm-${instanceType}-${run}-0`,
    host_id: `vm-${instanceType}-${run}`,
    runner_version: '0.1.0',
    provider: 'aws',
    instance_type: instanceType,
    task_id: 1_700_000_000 * 100_000 + run,
    run,
    attempt: 1,
    cpu_model: `CPU of ${instanceType}`,
    vcpus: 2,
    physical_cores: 1,
    memory_mb: 4096,
    kernel: '6.1.0-28-cloud-amd64',
    os: 'Debian GNU/Linux 12',
    arch: 'x86_64',
    docker_version: '20.10.24',
    image: 'ruby:3.4.7',
    image_digest: `sha256:${'e1'.repeat(32)}`,
    ruby_description: 'ruby 3.4.7 (2025-10-08 revision 7a5688e2a2) +PRISM [x86_64-linux]',
    ruby_bench_ref: '09b76c8',
    ruby_bench_commit: `09b76c8${'0'.repeat(33)}`,
    slot_cpu: 0,
    sibling_busy: false,
    busy_slots_at_start: 1,
    busy_slots_max: 1,
    started_at: `2026-11-20T10:0${run}:00Z`,
    finished_at: `2026-11-20T10:2${run}:00Z`,
    exit_code: 0,
    ...over,
  };
}

/** What older runners did not write: image_digest and ruby_bench_commit came later, the rest later still. */
export const NEWER_META_FIELDS = [
  'host_id',
  'runner_version',
  'busy_slots_at_start',
  'busy_slots_max',
  'image_digest',
  'ruby_bench_commit',
] as const;

/** metaFor without the fields older runners did not write. */
export function olderMeta(instanceType: string, run: number, over: Partial<RunnerMeta> = {}): RunnerMeta {
  const meta = metaFor(instanceType, run, over);
  for (const key of NEWER_META_FIELDS) delete meta[key];
  return meta;
}

export interface TaskFiles {
  json?: string;
  txt?: string;
  meta?: RunnerMeta | string;
  /** Files of a failed task, under error/. */
  errorMeta?: RunnerMeta;
}

export function writeTask(dir: string, folder: string, files: TaskFiles): void {
  const at = join(dir, folder);
  mkdirSync(join(at, 'logs'), { recursive: true });
  if (files.json !== undefined) writeFileSync(join(at, 'output.json'), files.json);
  if (files.txt !== undefined) writeFileSync(join(at, 'output.txt'), files.txt);
  if (files.meta !== undefined) {
    writeFileSync(
      join(at, 'meta.json'),
      typeof files.meta === 'string' ? files.meta : JSON.stringify(files.meta),
    );
  }
  if (files.errorMeta !== undefined) {
    mkdirSync(join(at, 'error', 'logs'), { recursive: true });
    writeFileSync(join(at, 'error', 'meta.json'), JSON.stringify(files.errorMeta));
  }
}

export function manifestTask(
  instanceType: string,
  run: number,
  over: Partial<ManifestTask> = {},
): ManifestTask {
  const folder = `${instanceType}-${run}`;
  return {
    id: 1_700_000_000 * 100_000 + run,
    provider: 'aws',
    instance_type: instanceType,
    run,
    status: 'completed',
    attempt: 1,
    runner_id: `runner-${instanceType}`,
    claimed_at: '2026-11-20T10:00:00Z',
    finished_at: '2026-11-20T10:30:00Z',
    error_type: null,
    error_message: null,
    files: [`${folder}/output.txt`, `${folder}/output.json`, `${folder}/meta.json`],
    assembly_error: null,
    ...over,
  };
}

export function writeManifest(dir: string, tasks: ManifestTask[]): void {
  const manifest: Manifest = {
    run_id: 1_700_000_000,
    ruby_version: '3.4.7',
    status: 'complete',
    config: { ruby_version: '3.4.7', runs_per_instance_type: 3 },
    created_at: '2026-11-20T10:00:00Z',
    finished_at: '2026-11-20T11:00:00Z',
    tasks,
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
}

// The standard run of the ranking and site tests. Per type, the factor applied to each benchmark;
// per run, a multiplier on top (mean 1 over the three runs, so the means keep the factors).
export const TYPE_FACTORS: Record<string, Record<string, number>> = {
  'm5.large': { binarytrees: 1, fib: 1, nbody: 1, str_concat: 1 },
  'c7a.large': { binarytrees: 0.6, fib: 0.5, nbody: 0.8, str_concat: 0.9 },
  'c8g.large': { fib: 0.4, nbody: 0.5, str_concat: 0.8 },
};
export const RUN_MULTIPLIERS: Record<string, number[]> = {
  'm5.large': [1, 1.02, 0.98],
  'c7a.large': [1, 1.01, 0.99],
  'c8g.large': [1, 1, 1],
};

const times = (factors: Record<string, number>, k: number): Record<string, number> =>
  Object.fromEntries(Object.entries(factors).map(([b, f]) => [b, f * k]));

/**
 * Three instance types with three runs each, plus one type whose tasks never ran:
 * - m5.large and c7a.large: output.json and output.txt; c8g.large: output.txt only, where
 *   binarytrees failed (N/A) in every run, so it is left out of the geometric mean;
 * - c7a.large run 2 ran beside a busy SMT sibling (meta.json);
 * - c6g.large: three tasks failed with no_runner.
 */
export function standardRun(dir: string = tempDir()): string {
  const tasks: ManifestTask[] = [];
  for (const [type, factors] of Object.entries(TYPE_FACTORS)) {
    RUN_MULTIPLIERS[type]!.forEach((k, i) => {
      const run = i + 1;
      const scaled = times(factors, k);
      const txtOnly = type === 'c8g.large';
      writeTask(dir, `${type}-${run}`, {
        ...(txtOnly ? {} : { json: scaledJson(scaled) }),
        txt: scaledTxt(scaled, txtOnly ? ['binarytrees'] : []),
        meta: metaFor(type, run, {
          sibling_busy: type === 'c7a.large' && run === 2,
          arch: type === 'c8g.large' ? 'aarch64' : 'x86_64',
        }),
      });
      tasks.push(manifestTask(type, run));
    });
  }
  for (const run of [1, 2, 3]) {
    tasks.push(
      manifestTask('c6g.large', run, {
        status: 'failed',
        runner_id: null,
        error_type: 'no_runner',
        error_message: 'no runner claimed a c6g.large task within 30 minutes',
        files: [],
      }),
    );
  }
  writeManifest(dir, tasks);
  return dir;
}
