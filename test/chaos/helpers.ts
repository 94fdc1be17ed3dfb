// Chaos runs: real runner child processes (runner/cli.ts through tsx) against a local stack with a
// short heartbeat timeout and reaper interval, and the end-of-run checks every scenario shares.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import type { RunRecord, TaskRecord } from '../../lambdas/core/ports';
import { Manifest, TaskListResponse, type TaskView } from '../../lambdas/shared/contract';
import { client, OPERATOR, RUNNER, waitFor } from '../helpers/api';
import { expectCountsMatch } from '../unit/core/core-helpers';

const ROOT = join(__dirname, '..', '..');

export interface RunnerChild {
  proc: ChildProcess;
  /** the runner's --json log lines so far */
  lines: string[];
  exited: Promise<number | null>;
}

/** One runner process with one slot; `size` scales the synthetic workload (10000: many seconds). */
export function spawnRunner(
  stack: LocalStack,
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
        BENCHFLEET_WORK_DIR: mkdtempSync(join(tmpdir(), 'bf-chaos-')),
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

/**
 * The promise of every chaos run: the run ended with its archive, every task completed or failed
 * with the expected error_type, the counters equal a recount, and manifest.json says the same.
 */
export async function expectDrained(
  stack: LocalStack,
  runId: number,
  expectedErrors: Record<number, string>,
  opts: { runStatus?: 'complete' | 'cancelled'; cancelled?: number[] } = {},
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

  const dir = mkdtempSync(join(tmpdir(), 'bf-chaos-archive-'));
  const tarball = join(dir, 'results.tar.gz');
  const bytes = Buffer.from(await (await fetch(run.gzip_url as string)).arrayBuffer());
  require('node:fs').writeFileSync(tarball, bytes);
  execFileSync('tar', ['-xzf', tarball, '-C', dir, 'manifest.json']);
  const manifest = Manifest.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
  expect(manifest.run_id).toBe(runId);
  expect(manifest.tasks.map((t) => [t.id, t.status, t.error_type, t.runner_id]).sort()).toEqual(
    tasks.map((t) => [t.id, t.status, t.error_type, t.runner_id]).sort(),
  );
  for (const t of manifest.tasks) {
    if (t.status === 'completed') expect(t.files).toContain(`${t.instance_type}-${t.run}/output.txt`);
  }
  return tasks;
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
