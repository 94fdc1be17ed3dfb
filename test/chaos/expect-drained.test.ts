// The chaos runs' archive check (expectArchiveMatches, the end of expectDrained) against archives
// made by hand: a sound one passes, and each way an archive can disagree with its manifest or with
// the table is caught. No stack, no runners: this checks the checker.
import type { TaskView } from '../../lambdas/shared/contract';
import { type FakeEntry, makeTarball, readArchive } from '../assembly/helpers';
import { expectArchiveMatches } from './helpers';

const RUN = 1796000000;
const DONE = RUN * 100000 + 1; // cs-1, completed by a real runner
const REAPED = RUN * 100000 + 2; // cs-2, failed heartbeat_timeout, no error tarball
const BROKE = RUN * 100000 + 3; // cs-3, failed benchmark_failed with an error tarball

function view(id: number, run: number, fields: Partial<TaskView>): TaskView {
  return {
    id,
    run_id: RUN,
    provider: 'local',
    instance_type: 'cs',
    run,
    run_number: run,
    status: 'completed',
    attempt: 1,
    runner_id: `host-${run}`,
    claimed_at: '2026-11-30T10:00:00.000Z',
    heartbeat_at: '2026-11-30T10:00:01.000Z',
    heartbeat_status: 'running',
    heartbeat_message: null,
    current_benchmark: null,
    progress_pct: null,
    finished_at: '2026-11-30T10:00:05.000Z',
    error_type: null,
    error_message: null,
    s3_result_key: null,
    s3_error_key: null,
    debug_mode: false,
    ...fields,
  };
}

const TABLE: TaskView[] = [
  view(DONE, 1, { s3_result_key: `runs/${RUN}/tasks/${DONE}/result.tar.gz` }),
  view(REAPED, 2, { status: 'failed', error_type: 'heartbeat_timeout', error_message: 'no heartbeat' }),
  view(BROKE, 3, {
    status: 'failed',
    error_type: 'benchmark_failed',
    error_message: 'exit 1',
    s3_error_key: `runs/${RUN}/tasks/${BROKE}/error.tar.gz`,
  }),
];

const meta = (t: TaskView, fields: Record<string, unknown> = {}): string =>
  JSON.stringify({
    runner_id: t.runner_id,
    provider: 'local',
    instance_type: 'cs',
    task_id: t.id,
    run: t.run,
    attempt: t.attempt,
    cpu_model: null,
    vcpus: null,
    physical_cores: null,
    memory_mb: null,
    kernel: null,
    os: null,
    arch: null,
    docker_version: null,
    image: null,
    image_digest: null,
    ruby_description: null,
    ruby_bench_ref: null,
    ruby_bench_commit: null,
    slot_cpu: null,
    sibling_busy: null,
    started_at: '2026-11-30T10:00:00.000Z',
    finished_at: '2026-11-30T10:00:04.000Z',
    exit_code: 0,
    ...fields,
  });

/** A failed toEqual whose received side has `name` in its array `key`. */
const received = (key: string, name: string): RegExp =>
  new RegExp(`\\+\\s+"${key}": Array \\[\\n\\+\\s+"${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"`);

const [done, reaped, broke] = TABLE as [TaskView, TaskView, TaskView];

/** The files of a sound archive of TABLE, by task. */
function soundFiles(): Record<number, FakeEntry[]> {
  return {
    [DONE]: [
      { name: 'cs-1/output.txt', data: 'result\n' },
      { name: 'cs-1/output.json', data: '{}' },
      { name: 'cs-1/meta.json', data: meta(done) },
      { name: 'cs-1/logs/stdout.log', data: 'out\n' },
    ],
    [REAPED]: [],
    [BROKE]: [
      { name: 'cs-3/error/meta.json', data: meta(broke, { exit_code: 1 }) },
      { name: 'cs-3/error/logs/stderr.log', data: 'boom\n' },
    ],
  };
}

function manifestTask(t: TaskView, files: string[], assemblyError: string | null = null) {
  const { id, provider, instance_type, run, status, attempt, runner_id, claimed_at, finished_at } = t;
  return {
    id,
    provider,
    instance_type,
    run,
    status,
    attempt,
    runner_id,
    claimed_at,
    finished_at,
    error_type: t.error_type,
    error_message: t.error_message,
    files,
    assembly_error: assemblyError,
  };
}

interface Variant {
  /** what the manifest lists per task (default: the names of the files put in) */
  listed?: Record<number, string[]>;
  /** the tasks as the manifest has them (default: TABLE) */
  manifestTasks?: TaskView[];
  /** entries added to the archive after the tasks' files */
  extra?: FakeEntry[];
  assemblyError?: Record<number, string>;
  /** the assembly errors the check is told to expect */
  expected?: Record<number, RegExp>;
  runStatus?: string;
}

async function check(files: Record<number, FakeEntry[]>, v: Variant = {}): Promise<void> {
  const tasks = (v.manifestTasks ?? TABLE).map((t) =>
    manifestTask(
      t,
      v.listed?.[t.id] ?? (files[t.id] ?? []).map((f) => f.name),
      v.assemblyError?.[t.id] ?? null,
    ),
  );
  const manifest = {
    run_id: RUN,
    ruby_version: '3.4.7',
    status: v.runStatus ?? 'complete',
    config: {},
    created_at: '2026-11-30T09:59:00.000Z',
    finished_at: '2026-11-30T10:01:00.000Z',
    tasks,
  };
  const entries = [
    ...Object.values(files).flat(),
    ...(v.extra ?? []),
    { name: 'manifest.json', data: JSON.stringify(manifest) },
  ];
  const archive = await readArchive(await makeTarball(entries));
  expectArchiveMatches(archive, RUN, 'complete', TABLE, v.expected);
}

it('a sound archive passes', async () => {
  await check(soundFiles());
});

it('an archive holding only manifest.json fails: the listed files are missing', async () => {
  const files = soundFiles();
  await expect(
    check(
      { [DONE]: [], [REAPED]: [], [BROKE]: [] },
      { listed: { [DONE]: files[DONE]?.map((f) => f.name) as string[] } },
    ),
  ).rejects.toThrow(received('missing', 'cs-1/output.txt'));
});

it('a file the manifest does not list fails', async () => {
  await expect(check(soundFiles(), { extra: [{ name: 'cs-1/output.csv', data: 'x' }] })).rejects.toThrow(
    received('unlisted', 'cs-1/output.csv'),
  );
});

it('a file listed twice, or in the archive twice, fails', async () => {
  const files = soundFiles();
  await expect(
    check(files, {
      listed: {
        [DONE]: [
          'cs-1/output.txt',
          'cs-1/output.txt',
          'cs-1/output.json',
          'cs-1/meta.json',
          'cs-1/logs/stdout.log',
        ],
      },
    }),
  ).rejects.toThrow(received('listedTwice', 'cs-1/output.txt'));
  await expect(check(files, { extra: [{ name: 'cs-1/output.txt', data: 'again' }] })).rejects.toThrow(
    received('repeated', 'cs-1/output.txt'),
  );
});

it('a directory entry fails', async () => {
  await expect(check(soundFiles(), { extra: [{ name: 'cs-1/', type: 'directory' }] })).rejects.toThrow(
    received('notFiles', 'cs-1/ (directory)'),
  );
});

it('a completed task without output.txt fails', async () => {
  const files = soundFiles();
  files[DONE] = (files[DONE] ?? []).filter((f) => f.name !== 'cs-1/output.txt');
  await expect(check(files)).rejects.toThrow(/cs-1\/output.txt/);
});

it("a reaped task with files (a late runner's result in the archive) fails", async () => {
  const files = soundFiles();
  files[REAPED] = [
    { name: 'cs-2/output.txt', data: 'late\n' },
    { name: 'cs-2/meta.json', data: meta(reaped) },
  ];
  await expect(check(files)).rejects.toThrow(received('files', 'cs-2/output.txt'));
});

it('a failed task whose error tarball the table names but the archive lacks fails', async () => {
  const files = soundFiles();
  files[BROKE] = [];
  await expect(check(files)).rejects.toThrow(/cs-3\/error\/meta.json/);
});

it('files outside the layout of Decisions fail', async () => {
  // a result's files under error/, an error tarball's at the task's top, another task's folder
  for (const [id, name] of [
    [DONE, 'cs-1/error/meta.json'],
    [DONE, 'cs-1/notes.txt'],
    [BROKE, 'cs-3/output.txt'],
    [BROKE, 'cs-3/error/output.txt'],
    [DONE, 'cs-2/logs/x.log'],
  ] as const) {
    const files = soundFiles();
    files[id]?.push({ name, data: 'x' });
    await expect(check(files)).rejects.toThrow(received('misplaced', name));
  }
});

it('a manifest whose tasks differ from the table fails', async () => {
  const files = soundFiles();
  // the late complete taken: the reaped task completed in the manifest
  const flipped = TABLE.map((t) =>
    t.id === REAPED ? { ...t, status: 'completed' as const, error_type: null } : t,
  );
  await expect(check(files, { manifestTasks: flipped })).rejects.toThrow(/"status": "failed"/);
  // another runner, another attempt, another finish time
  for (const change of [
    { runner_id: 'other-0' },
    { attempt: 2 },
    { finished_at: '2026-11-30T10:09:00.000Z' },
  ]) {
    const changed = TABLE.map((t) => (t.id === DONE ? { ...t, ...change } : t));
    const field = Object.keys(change)[0] as string;
    await expect(check(files, { manifestTasks: changed })).rejects.toThrow(new RegExp(`\\+\\s+"${field}": `));
  }
  // a task left out
  await expect(check(files, { manifestTasks: [done, broke] })).rejects.toThrow(/-\s+"id": 179600000000002,/);
});

it('a meta.json of another attempt or runner fails', async () => {
  const files = soundFiles();
  files[DONE] = (files[DONE] ?? []).map((f) =>
    f.name === 'cs-1/meta.json' ? { ...f, data: meta(done, { attempt: 2, runner_id: 'late-0' }) } : f,
  );
  await expect(check(files)).rejects.toThrow(/"runner": "host-1"/);
});

it('an unexpected assembly_error fails; an expected one is accepted', async () => {
  const assemblyError = { [DONE]: 'skipped 1 entry: over the cap' };
  await expect(check(soundFiles(), { assemblyError })).rejects.toThrow(/assembly_error/);
  await check(soundFiles(), { assemblyError, expected: { [DONE]: /^skipped 1 entry/ } });
  await expect(check(soundFiles(), { expected: { [DONE]: /^skipped/ } })).rejects.toThrow(/assembly_error/);
});

it('a manifest of another run status fails', async () => {
  await expect(check(soundFiles(), { runStatus: 'cancelled' })).rejects.toThrow(/"status": "complete"/);
});
