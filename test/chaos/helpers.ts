// Chaos runs: real runner child processes (runner/cli.ts through tsx) against a local stack with a
// short heartbeat timeout and reaper interval, and the end-of-run checks every scenario shares.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import type { RunRecord, TaskRecord } from '../../lambdas/core/ports';
import { Manifest, RunnerMeta, TaskListResponse, type TaskView } from '../../lambdas/shared/contract';
import { type ArchiveEntry, readArchive } from '../assembly/helpers';
import { client, OPERATOR, RUNNER, waitFor } from '../helpers/api';
import { tempDir } from '../helpers/temp-dir';
import { expectCountsMatch } from '../unit/core/core-helpers';

const ROOT = join(__dirname, '..', '..');

export interface RunnerChild {
  proc: ChildProcess;
  /** the runner's --json log lines so far */
  lines: string[];
  exited: Promise<number | null>;
}

/**
 * One runner process with one slot; `size` scales the synthetic workload (10000: many seconds).
 * `stack` gives the API URL it talks to: a stack's, or a proxy's in front of it (api-proxy.ts).
 */
export function spawnRunner(
  stack: Pick<LocalStack, 'apiUrl'>,
  runId: number,
  instanceType: string,
  hostId: string,
  size: number,
  env: Record<string, string> = {},
): RunnerChild {
  const proc = spawn(
    process.execPath,
    ['--require', 'tsx/cjs', join(ROOT, 'runner', 'cli.ts'), '--api', stack.apiUrl, '--api-key', RUNNER],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        PATH: process.env.PATH,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        BENCHFLEET_PROVIDER: 'local',
        BENCHFLEET_INSTANCE_TYPE: instanceType,
        BENCHFLEET_RUN_ID: String(runId),
        BENCHFLEET_EXECUTOR: 'synthetic',
        BENCHFLEET_SYNTHETIC_SIZE: String(size),
        BENCHFLEET_SLOTS: '1',
        BENCHFLEET_HEARTBEAT_S: '0.5',
        BENCHFLEET_JSON: 'true',
        BENCHFLEET_MAX_RETRY_S: '20',
        BENCHFLEET_WORK_DIR: tempDir('bf-chaos-'),
        BENCHFLEET_HOST_ID: hostId,
        ...env,
      },
    },
  );
  const lines: string[] = [];
  let partial = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, lines, exited };
}

export async function tasksOf(stack: LocalStack): Promise<TaskView[]> {
  const answer = await client(stack.apiUrl).call('GET', '/run/tasks?limit=1000');
  return TaskListResponse.parse(answer.body).tasks;
}

/** Waits until the task held by a runner id starting with `hostId` is running, and returns it. */
export function runningTaskOf(stack: LocalStack, hostId: string): Promise<TaskView> {
  return waitFor(
    `a running task of ${hostId}`,
    async () =>
      (await tasksOf(stack)).find((t) => t.runner_id?.startsWith(hostId) && t.heartbeat_status === 'running'),
    40_000,
  );
}

/** What expectDrained may be told to expect besides a clean run. */
export interface DrainedOptions {
  runStatus?: 'complete' | 'cancelled';
  /** tasks that must end cancelled */
  cancelled?: number[];
  /** manifest assembly_error expected per task id (every other task must have none) */
  assemblyErrors?: Record<number, RegExp>;
}

/** The manifest fields that come from the task's table item, as the API's task list shows them. */
const MANIFEST_FIELDS_FROM_TABLE = [
  'id',
  'provider',
  'instance_type',
  'run',
  'status',
  'attempt',
  'runner_id',
  'claimed_at',
  'finished_at',
  'error_type',
  'error_message',
] as const;

/** A file of a result tarball in the archive, relative to its task's folder. */
const RESULT_FILE = /^(output\.(txt|json|csv)|meta\.json|logs\/.+)$/;
/** A file of an error tarball in the archive, relative to its task's `error/` folder. */
const ERROR_FILE = /^(meta\.json|logs\/.+)$/;

/**
 * The promise of every chaos run: the run ended with its archive, every task completed or failed
 * with the expected error_type, the counters equal a recount, manifest.json says the same as the
 * table, and the archive holds exactly manifest.json and the files the manifest lists, laid out as
 * DESIGN.md's Decisions say ("Storage keys and files").
 */
export async function expectDrained(
  stack: LocalStack,
  runId: number,
  expectedErrors: Record<number, string>,
  opts: DrainedOptions = {},
): Promise<TaskView[]> {
  const api = client(stack.apiUrl);
  const run = await waitFor(
    'the archive',
    async () => {
      const r = await api.call<{ status: string; gzip_url: string | null }>('GET', '/run', { key: OPERATOR });
      return r.body.status === (opts.runStatus ?? 'complete') && r.body.gzip_url ? r.body : undefined;
    },
    30_000,
  );
  const tasks = await tasksOf(stack);
  for (const t of tasks) {
    const want = expectedErrors[t.id];
    if (opts.cancelled?.includes(t.id))
      expect({ id: t.id, status: t.status }).toEqual({ id: t.id, status: 'cancelled' });
    else if (want)
      expect({ id: t.id, status: t.status, error_type: t.error_type }).toEqual({
        id: t.id,
        status: 'failed',
        error_type: want,
      });
    else expect({ id: t.id, status: t.status }).toEqual({ id: t.id, status: 'completed' });
  }
  const record = (await stack.deps.store.getRun(runId)) as RunRecord;
  const records: TaskRecord[] = (await stack.deps.store.listTasks(runId, 1000)).tasks;
  expectCountsMatch(record, records);
  expect(tasks.map((t) => t.id).sort()).toEqual(records.map((t) => t.id).sort());

  const bytes = Buffer.from(await (await fetch(run.gzip_url as string)).arrayBuffer());
  expectArchiveMatches(await readArchive(bytes), runId, run.status, tasks, opts.assemblyErrors ?? {});
  return tasks;
}

/**
 * results.tar.gz against the table: its manifest names every task with the table's fields, the
 * archive holds manifest.json and exactly the files the manifest lists (none missing, none more),
 * and each task's files are where Decisions put them: a completed task's result (output.txt at
 * least) under `<type>-<run>/`, a failed task's error tarball (meta.json at least) under
 * `<type>-<run>/error/` when the table names one, nothing for any other task.
 */
export function expectArchiveMatches(
  entries: ArchiveEntry[],
  runId: number,
  runStatus: string,
  tasks: TaskView[],
  assemblyErrors: Record<number, RegExp> = {},
): Manifest {
  const names = entries.map((e) => e.name);
  const manifestEntry = entries.find((e) => e.name === 'manifest.json');
  expect(manifestEntry).toBeDefined();
  const manifest = Manifest.parse(JSON.parse((manifestEntry as ArchiveEntry).data.toString('utf8')));
  expect({ run_id: manifest.run_id, status: manifest.status }).toEqual({ run_id: runId, status: runStatus });

  // the manifest's tasks are the table's, field for field
  const pick = (t: Record<string, unknown>) =>
    Object.fromEntries(MANIFEST_FIELDS_FROM_TABLE.map((k) => [k, t[k]]));
  const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;
  expect([...manifest.tasks].sort(byId).map(pick)).toEqual([...tasks].sort(byId).map(pick));

  // the archive's entries are manifest.json plus the union of the tasks' files, each once, all files
  const listed = ['manifest.json', ...manifest.tasks.flatMap((t) => t.files)];
  expect({
    missing: listed.filter((n) => !names.includes(n)),
    unlisted: names.filter((n) => !listed.includes(n)),
    repeated: names.filter((n, i) => names.indexOf(n) !== i),
    listedTwice: listed.filter((n, i) => listed.indexOf(n) !== i),
    notFiles: entries.filter((e) => e.type !== 'file').map((e) => `${e.name} (${e.type})`),
  }).toEqual({ missing: [], unlisted: [], repeated: [], listedTwice: [], notFiles: [] });

  const table = new Map(tasks.map((t) => [t.id, t]));
  for (const m of manifest.tasks) {
    const t = table.get(m.id) as TaskView;
    const folder = `${m.instance_type}-${m.run}`;
    const want = assemblyErrors[m.id];
    if (want)
      expect({ id: m.id, assembly_error: m.assembly_error }).toEqual({
        id: m.id,
        assembly_error: expect.stringMatching(want),
      });
    else expect({ id: m.id, assembly_error: m.assembly_error }).toEqual({ id: m.id, assembly_error: null });
    // Decisions, "Storage keys and files": a result's output.{txt,json,csv}, meta.json and logs/
    // under `<type>-<run>/`; an error tarball's meta.json and logs/ under `<type>-<run>/error/`
    const outside = (dir: string, shape: RegExp) =>
      m.files.filter((f) => !(f.startsWith(`${dir}/`) && shape.test(f.slice(dir.length + 1))));
    if (m.status === 'completed') {
      expect({ id: m.id, misplaced: outside(folder, RESULT_FILE) }).toEqual({ id: m.id, misplaced: [] });
      expect({ id: m.id, files: m.files }).toEqual({
        id: m.id,
        files: expect.arrayContaining([`${folder}/output.txt`]),
      });
    } else if (m.status === 'failed' && t.s3_error_key && !want) {
      expect({ id: m.id, misplaced: outside(`${folder}/error`, ERROR_FILE) }).toEqual({
        id: m.id,
        misplaced: [],
      });
      expect({ id: m.id, files: m.files }).toEqual({
        id: m.id,
        files: expect.arrayContaining([`${folder}/error/meta.json`]),
      });
    } else if (!want) {
      // failed with no error tarball in the table (reaped, no runner, nothing uploaded) or cancelled
      expect({ id: m.id, files: m.files }).toEqual({ id: m.id, files: [] });
    }
    // a runner's meta.json in the archive is the last attempt's, the one the table records
    const meta = entries.find(
      (e) => e.name === `${folder}/meta.json` || e.name === `${folder}/error/meta.json`,
    );
    if (meta && !want) {
      const parsed = RunnerMeta.parse(JSON.parse(meta.data.toString('utf8')));
      expect({ task: parsed.task_id, attempt: parsed.attempt, runner: parsed.runner_id }).toEqual({
        task: m.id,
        attempt: t.attempt,
        runner: t.runner_id,
      });
    }
  }
  return manifest;
}

/** Every item of the stack's table, raw as DynamoDB holds it (the run, its tasks, the pointer), by key. */
export async function tableItems(stack: LocalStack): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await stack.services.ddb.send(
      new ScanCommand({ TableName: stack.services.table, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []).map((i) => unmarshall(i)));
    start = page.LastEvaluatedKey;
  } while (start);
  const key = (i: Record<string, unknown>) => `${i.pk} ${i.sk}`;
  return items.sort((a, b) => key(a).localeCompare(key(b)));
}

/** The S3 objects under `prefix` (a run's: `runs/<id>/`), each with its size and ETag. */
export async function s3Objects(
  stack: LocalStack,
  prefix: string,
): Promise<Record<string, { size: number | undefined; etag: string | undefined }>> {
  const out: Record<string, { size: number | undefined; etag: string | undefined }> = {};
  let token: string | undefined;
  do {
    const page = await stack.services.s3.send(
      new ListObjectsV2Command({ Bucket: stack.services.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) out[o.Key as string] = { size: o.Size, etag: o.ETag };
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/** One --json line of the runner: `try` is an upload's try number. */
export type LogLine = { msg: string; task?: number; attempt?: number; try?: number } & Record<
  string,
  unknown
>;

/** Waits until a runner has logged a --json line whose msg matches `pattern` (and `where`), and returns it. */
export function loggedLine(
  child: RunnerChild,
  pattern: RegExp,
  where: (line: LogLine) => boolean = () => true,
  timeoutMs = 40_000,
): Promise<LogLine> {
  return waitFor(
    `a runner log line matching ${pattern}`,
    async () =>
      child.lines
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as LogLine)
        .find((l) => pattern.test(l.msg) && where(l)),
    timeoutMs,
  );
}
