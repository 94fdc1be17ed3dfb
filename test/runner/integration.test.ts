// The runner against the real local orchestrator (dynalite, s3rver, the same handlers over HTTP):
// draining a run, an API outage, a killed runner, and /run/stop mid-task.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { RunnerMeta, storageKeys, type TaskView } from '../../lambdas/shared/contract';
import { createRunner, startRunner } from '../../runner/agent';
import { client, OPERATOR, RUNNER, startTestStack, waitFor as waitForAsync } from '../helpers/api';
import { tempDir } from '../helpers/temp-dir';
import { untar } from './fake-api';
import { startProxy, testRunner, waitFor } from './helpers';

let stack: LocalStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function tasksOf(s: LocalStack): Promise<TaskView[]> {
  const r = await client(s.apiUrl).call<{ tasks: TaskView[] }>('GET', '/run/tasks?limit=1000');
  return r.body.tasks;
}

async function object(s: LocalStack, key: string): Promise<Buffer> {
  const got = await s.services.s3.send(new GetObjectCommand({ Bucket: s.services.bucket, Key: key }));
  return Buffer.from(
    await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

const runnerFor = (apiUrl: string, instanceType: string, over: Parameters<typeof testRunner>[1] = {}) =>
  testRunner(apiUrl, { apiKey: RUNNER, instanceType, hostId: `host-${instanceType}`, ...over });

it('two runners with three slots each drain 20 tasks of two instance types into local S3', async () => {
  stack = await startTestStack({ waitRetrySeconds: 0.2 });
  const api = client(stack.apiUrl);
  const started = await api.start({ runs_per_instance_type: 10, local: ['a', 'b'] });
  expect(started.body.tasks_created).toBe(20);
  const runId = started.body.run_id;
  const [ra, rb] = await Promise.all(
    ['a', 'b'].map((t) =>
      startRunner(runnerFor(stack?.apiUrl ?? '', t, { slots: 3, runId, syntheticSize: 0 }).input),
    ),
  );
  expect(ra).toMatchObject({ exitCode: 0, tasksCompleted: 10, tasksFailed: 0 });
  expect(rb).toMatchObject({ exitCode: 0, tasksCompleted: 10, tasksFailed: 0 });
  const tasks = await tasksOf(stack);
  expect(tasks).toHaveLength(20);
  for (const t of tasks) {
    expect(t.status).toBe('completed');
    expect(t.s3_result_key).toBe(storageKeys.result(runId, t.id));
    const files = await untar(await object(stack, storageKeys.result(runId, t.id)));
    expect([...files.keys()].sort()).toEqual([
      'logs/stderr.log',
      'logs/stdout.log',
      'meta.json',
      'output.csv',
      'output.json',
      'output.txt',
    ]);
    const meta = RunnerMeta.parse(JSON.parse(files.get('meta.json') ?? ''));
    expect(meta).toMatchObject({
      task_id: t.id,
      instance_type: t.instance_type,
      run: t.run,
      runner_id: t.runner_id,
    });
  }
  // Three slots each, and every slot took part.
  expect(new Set(tasks.map((t) => t.runner_id)).size).toBe(6);
  await waitForAsync('run complete', async () => (await api.run()).body.status === 'complete', 60_000);
  // Generous: on a shared 2-CPU machine under load each API call can take most of a second.
}, 300_000);

it('waits out an API outage, mid-task and with a finished task to report, and loses nothing', async () => {
  stack = await startTestStack({ waitRetrySeconds: 0.2 });
  const api = client(stack.apiUrl);
  const { run_id: runId } = (await api.start({ runs_per_instance_type: 4, local: ['a'] })).body;
  const proxy = await startProxy(stack.apiUrl);
  try {
    const r = runnerFor(proxy.url, 'a', {
      slots: 2,
      runId,
      // long enough to be running when the outage starts, even on a fast machine (about 4 s at
      // 0.2 s a size unit); short enough that the outage outlasts it on a slow one
      syntheticSize: 20,
      heartbeatS: 0.5,
      maxRetryS: 60,
    });
    const h = createRunner(r.input);
    const s = stack;
    // status, not heartbeat_status: a completed task keeps its last heartbeat's `running`
    await waitForAsync(
      'a running task',
      async () => (await tasksOf(s)).some((t) => t.status === 'running'),
      60_000,
    );
    proxy.setDown(true);
    const downAt = Date.now();
    // down until a task that ended in the outage has had its complete refused, and at least 5 s
    await waitForAsync(
      'a complete that failed in the outage',
      async () => r.lines.some((l) => /POST \/tasks\/\d+\/complete failed, retrying/.test(l)),
      60_000,
    );
    await new Promise((res) => setTimeout(res, Math.max(0, downAt + 5_000 - Date.now())));
    proxy.setDown(false);
    const res = await h.done;
    expect(res).toMatchObject({ exitCode: 0, tasksCompleted: 4, tasksFailed: 0, tasksUnacknowledged: 0 });
    const tasks = await tasksOf(stack);
    expect(tasks.map((t) => t.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    for (const t of tasks) await object(stack, storageKeys.result(runId, t.id));
    expect(r.lines.join('\n')).toMatch(/failed, retrying/);
  } finally {
    await proxy.stop();
  }
}, 240_000);

it('/run/stop mid-task: the runner aborts at the first heartbeat after it, and its slots end on done', async () => {
  stack = await startTestStack({ waitRetrySeconds: 0.2 });
  const api = client(stack.apiUrl);
  const { run_id: runId } = (await api.start({ runs_per_instance_type: 2, local: ['a'] })).body;
  // Heartbeats are counted on their way in, so "within one heartbeat" holds however slow the host.
  let stoppedAt = Number.POSITIVE_INFINITY;
  const beatsAfterStop = new Map<string, number>();
  const proxy = await startProxy(stack.apiUrl, (_method, path) => {
    const m = /^\/tasks\/(\d+)\/heartbeat$/.exec(path);
    if (m?.[1] && Date.now() > stoppedAt) beatsAfterStop.set(m[1], (beatsAfterStop.get(m[1]) ?? 0) + 1);
  });
  try {
    // in debug mode, as a VM kept for inspection: a stop is no failure, so it still powers off
    const r = runnerFor(proxy.url, 'a', {
      slots: 2,
      runId,
      syntheticSize: 10_000,
      heartbeatS: 1,
      debug: true,
      shutdownOnDone: true,
    });
    r.input.shutdownCommand = 'true';
    const abortedBeats: number[] = [];
    r.input.logWrite = (line) => {
      r.lines.push(line);
      const id = /heartbeat with abort.*task=(\d+)/.exec(line)?.[1];
      if (id) abortedBeats.push(beatsAfterStop.get(id) ?? 0);
    };
    const h = createRunner(r.input);
    const s = stack;
    await waitForAsync(
      'running tasks',
      async () => (await tasksOf(s)).every((t) => t.heartbeat_status === 'running'),
      60_000,
    );
    const t0 = Date.now();
    expect((await api.call('POST', '/run/stop', { key: OPERATOR, body: {} })).status).toBe(200);
    stoppedAt = Date.now();
    await waitFor(() => abortedBeats.length === 2, 30_000, 'aborts');
    // Each task aborts at the first heartbeat sent after the stop answered (or one already on its way).
    expect(abortedBeats.every((n) => n <= 1)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const res = await h.done;
    expect(res).toMatchObject({ exitCode: 0, tasksFailed: 0, tasksCancelled: 2, shutdownRan: true });
    const tasks = await tasksOf(stack);
    expect(tasks.map((t) => t.status)).toEqual(['cancelled', 'cancelled']);
    for (const t of tasks) expect(r.lines.join('\n')).toContain(`task ${t.id} cancelled`);
    expect(r.lines.join('\n')).toMatch(/all slots exited: 0 completed, 0 failed, 2 cancelled/);
    expect(r.lines.join('\n')).toMatch(/fail answered 409 task_finished/);
  } finally {
    await proxy.stop();
  }
}, 120_000);

describe('a runner killed mid-task', () => {
  const bundle = join(tempDir('bf-bundle-'), 'runner.js');
  let child: ChildProcess | undefined;
  beforeAll(() => {
    execFileSync(process.execPath, [
      join(__dirname, '..', '..', 'scripts', 'build-runner.mjs'),
      '--outfile',
      bundle,
    ]);
  });
  afterEach(() => {
    child?.kill('SIGKILL');
  });

  it('has its task reaped as heartbeat_timeout', async () => {
    stack = await startTestStack({ heartbeatTimeoutS: 1 });
    const api = client(stack.apiUrl);
    const { run_id: runId } = (await api.start({ runs_per_instance_type: 1, local: ['a'] })).body;
    const work = tempDir('bf-killed-');
    child = spawn(
      process.execPath,
      [bundle, '--api', stack.apiUrl, '--api-key', RUNNER, '--provider', 'local', '--instance-type', 'a'],
      {
        stdio: 'ignore',
        env: {
          PATH: process.env.PATH,
          BENCHFLEET_RUN_ID: String(runId),
          BENCHFLEET_EXECUTOR: 'synthetic',
          BENCHFLEET_SYNTHETIC_SIZE: '10000',
          BENCHFLEET_SLOTS: '1',
          BENCHFLEET_HEARTBEAT_S: '0.3',
          BENCHFLEET_WORK_DIR: work,
          BENCHFLEET_HOST_ID: 'doomed',
        },
      },
    );
    const s = stack;
    await waitForAsync(
      'a running heartbeat',
      async () => (await tasksOf(s))[0]?.heartbeat_status === 'running',
      60_000,
    );
    const exited = new Promise((res) => child?.once('exit', res));
    child.kill('SIGKILL');
    await exited;
    await new Promise((res) => setTimeout(res, 1_500));
    await stack.reapNow();
    const [task] = await tasksOf(stack);
    expect(task).toMatchObject({ status: 'failed', error_type: 'heartbeat_timeout', runner_id: 'doomed-0' });
  }, 120_000);
});
