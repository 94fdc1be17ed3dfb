// What a `benchfleet local` run's tasks measure is decided by flags, not by the run config: the
// workload, and for docker the image and the ruby-bench checkout, for synthetic the work size. A
// run resumed from its --data-dir by a later `benchfleet local` would take that call's flags and
// silently mix two kinds of numbers in one archive, so the flags are recorded in the data dir as
// the run starts. On resume a flag left out takes the recorded value (and says so); one given
// with another value is refused. A data dir without a record of its run (an older benchfleet, a
// run started over --serve) resumes with the flags given, as before.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lambdas/adapters/local/atomic-write';
import { CliError } from './errors';
import { isFolder, type LocalFlags, type LocalSettings } from './local-flags';

export const RUN_RECORD_FILE = 'local-run.json';

type Workload = LocalSettings['workload'];

/** The settings that change what a task measures, each with its flag and the workload it is for. */
const MEASURED = [
  { key: 'syntheticSize', flag: '--synthetic-size', field: 'synthetic_size', workload: 'synthetic' },
  { key: 'image', flag: '--image', field: 'image', workload: 'docker' },
  { key: 'rubyBenchDir', flag: '--ruby-bench-dir', field: 'ruby_bench_dir', workload: 'docker' },
] as const satisfies readonly {
  key: keyof LocalSettings & keyof LocalFlags;
  flag: string;
  field: string;
  workload: Workload;
}[];

type Measured = Pick<LocalSettings, 'workload' | (typeof MEASURED)[number]['key']>;

/** The file's shape: `{"run_id": 1, "workload": "docker", "image": "ruby:3.4"}`. */
interface LocalRunRecord {
  run_id: number;
  workload: Workload;
  synthetic_size?: number;
  image?: string;
  ruby_bench_dir?: string;
}

/** Records, before the run is started, what its tasks will measure. */
export function recordRun(dataDir: string, runId: number, settings: LocalSettings): void {
  const record: Record<string, unknown> = { run_id: runId, workload: settings.workload };
  for (const m of MEASURED)
    if (m.workload === settings.workload && settings[m.key] !== undefined) record[m.field] = settings[m.key];
  writeFileAtomic(join(dataDir, RUN_RECORD_FILE), `${JSON.stringify(record)}\n`);
}

/** The record, or undefined when there is none; a damaged one is refused, saying what to do. */
function readRunRecord(file: string): LocalRunRecord | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${file} (${(err as Error).message}); check its owner and permissions`);
  }
  let record: Partial<LocalRunRecord> | undefined;
  try {
    record = JSON.parse(text) as Partial<LocalRunRecord>;
  } catch {
    // refused below
  }
  if (
    typeof record !== 'object' ||
    record === null ||
    !Number.isInteger(record.run_id) ||
    (record.workload !== 'synthetic' && record.workload !== 'docker')
  )
    throw new CliError(
      `${file} is damaged: it records the workload the data dir's run was started with; delete it to resume that run with the flags given now`,
    );
  return record as LocalRunRecord;
}

const phrase = (flag: string, value: unknown): string =>
  value === undefined ? `without ${flag}` : `with ${flag} ${value}`;

/**
 * The settings to resume run `runId` with: the recorded ones for the flags left out, the given
 * ones otherwise (refused when they differ from the record). `note` tells the user which recorded
 * flags replaced what this call would have used.
 */
export function resumeSettings(
  dataDir: string,
  runId: number,
  settings: LocalSettings,
): { settings: LocalSettings; note?: string } {
  const file = join(dataDir, RUN_RECORD_FILE);
  const record = readRunRecord(file);
  if (record?.run_id !== runId) return { settings };
  const recorded: Partial<Measured> = { workload: record.workload };
  for (const m of MEASURED)
    if (m.workload === record.workload && record[m.field] !== undefined)
      Object.assign(recorded, { [m.key]: record[m.field] });
  const checks = [
    { key: 'workload', flag: '--workload' } as const,
    ...MEASURED.filter((m) => m.workload === record.workload),
  ];
  const resumed: LocalSettings = { ...settings };
  const adopted: string[] = [];
  for (const { key, flag } of checks) {
    const was = recorded[key];
    const now = settings[key];
    if (was === now) continue;
    if (settings.given.has(key))
      throw new CliError(
        `run ${runId} in the data dir ${dataDir} was started ${phrase(flag, was)}; resuming it ${phrase(flag, now)} would mix two kinds of numbers in one archive. Resume it ${phrase(flag, was)}${was === undefined ? '' : ` (or leave ${flag} out)`}, or start a new run with another --data-dir`,
      );
    Object.assign(resumed, { [key]: was });
    adopted.push(was === undefined ? `without ${flag}` : `${flag} ${was}`);
  }
  // a checkout the run was started with may have been moved or deleted since: every task would fail
  const checkout = resumed.rubyBenchDir;
  if (checkout !== undefined && resumed.workload === 'docker' && !isFolder(checkout))
    throw new CliError(
      `run ${runId} in the data dir ${dataDir} was started with --ruby-bench-dir ${checkout}, which is no longer a folder; put the ruby-bench checkout back there to resume it, or start a new run with another --data-dir`,
    );
  if (!adopted.length) return { settings: resumed };
  return {
    settings: resumed,
    note: `  resuming with ${adopted.join(' ')}, as the run was started (recorded in ${file}; flags given now must match it)`,
  };
}
