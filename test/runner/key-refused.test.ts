// A runner whose key the API refuses mid-task (rotated, or never this deployment's) stops the task
// after KEY_REFUSALS refused heartbeats in a row, instead of benchmarking for hours a task the
// reaper takes anyway; its next claim is refused too, so it exits 1 and powers off. Refusals that
// a heartbeat getting through interrupts (a proxy's stray 401), and 403s (a gateway's), stop nothing.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import type { TaskView } from '../../lambdas/shared/contract';
import { createRunner } from '../../runner/agent';
import { KEY_REFUSALS } from '../../runner/key-refused';
import { client, RUNNER, startTestStack, waitFor as waitForAsync } from '../helpers/api';
import { FakeApi } from './fake-api';
import { doneWithin, startProxy, testRunner, waitFor } from './helpers';

/** Writes its pid where the test finds it, then runs far longer than any test here waits. */
const LONG_COMMAND = 'echo $$ > pid; exec sleep 120';

/** The pid LONG_COMMAND wrote in its task folder, once it has. */
async function commandPid(workDir: string): Promise<number> {
  const file = (): string => {
    const dir = readdirSync(workDir).find((d) => d.startsWith('task-'));
    return join(workDir, dir ?? 'none', 'pid');
  };
  await waitFor(
    () => existsSync(file()) && readFileSync(file(), 'utf8').endsWith('\n'),
    30_000,
    'the command to start',
  );
  return Number(readFileSync(file(), 'utf8'));
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function tasksOf(s: LocalStack): Promise<TaskView[]> {
  return (await client(s.apiUrl).call<{ tasks: TaskView[] }>('GET', '/run/tasks')).body.tasks;
}

let stack: LocalStack | undefined;
let api: FakeApi | undefined;
afterEach(async () => {
  await stack?.stop();
  await api?.stop();
  stack = undefined;
  api = undefined;
});

it('a runner key rotated mid-task: the task stops at the third refused heartbeat, the runner exits 1 and powers off', async () => {
  stack = await startTestStack({ waitRetrySeconds: 0.2 });
  const { run_id: runId } = (await client(stack.apiUrl).start({ runs_per_instance_type: 1, local: ['a'] }))
    .body;
  const keys = await stack.deps.keys();
  // Heartbeats pass through a proxy that counts them. Once the API has taken the running task's
  // heartbeats, the next one rotates the API's runner key on its way in: it is the first refused.
  let running = false;
  let beatsSinceRotation = 0;
  const proxy = await startProxy(stack.apiUrl, (_method, path) => {
    if (!/^\/tasks\/\d+\/heartbeat$/.test(path) || !running) return;
    if (keys.runner === RUNNER) keys.runner = 'the-rotated-runner-key';
    beatsSinceRotation++;
  });
  try {
    const r = testRunner(proxy.url, {
      apiKey: RUNNER,
      instanceType: 'a',
      runId,
      slots: 1,
      executor: 'command',
      command: LONG_COMMAND,
      heartbeatS: 0.3,
      shutdownOnDone: true,
    });
    const poweredOff = join(r.workDir, 'powered-off');
    r.input.shutdownCommand = `touch ${poweredOff}`;
    let beatsAtStop: number | undefined;
    r.input.logWrite = (line) => {
      r.lines.push(line);
      if (/refuses this runner's key \(\d+ heartbeats/.test(line)) beatsAtStop = beatsSinceRotation;
    };
    const h = createRunner(r.input);
    const pid = await commandPid(r.workDir);
    const s = stack;
    await waitForAsync(
      'a heartbeat of the running task',
      async () => (await tasksOf(s))[0]?.heartbeat_status === 'running',
    );
    running = true;
    // the command would run 120 s: it is stopped within a few heartbeats of the rotation
    const { res } = await doneWithin(h.done, 30_000);
    expect(beatsAtStop).toBe(KEY_REFUSALS);
    expect(alive(pid)).toBe(false);
    expect(res).toMatchObject({ exitCode: 1, tasksCompleted: 0, tasksUnacknowledged: 1, shutdownRan: true });
    expect(existsSync(poweredOff)).toBe(true);
    const log = r.lines.join('\n');
    const [task] = await tasksOf(stack);
    const id = task?.id ?? 0;
    // one error line names the task, says what happened and what to do
    expect(log).toContain(
      `runner[0] error: task ${id}: the API refuses this runner's key (3 heartbeats in a row answered HTTP 401 unauthorized: the API key is wrong: this route takes the runner key (or the operator key)), so it will reap the task; stopping the task now. To fix: check --api-key (or BENCHFLEET_API_KEY): it must be the current runner key of this deployment (was it rotated?), then restart the runner`,
    );
    // the fail is refused as well: the task waits for the reaper, its files stay
    expect(log).toMatch(
      new RegExp(
        `the API never acknowledged task ${id}; its files stay in \\S+ \\(fail was refused with 401`,
      ),
    );
    expect(task).toMatchObject({ status: 'running', heartbeat_status: 'running', error_type: null });
    // and the next claim ends the runner, saying why
    expect(log).toMatch(
      /runner\[0\] error: the API refuses this runner's key \(claim answered HTTP 401 unauthorized: the API key is wrong: this route takes the runner key \(or the operator key\)\): this slot stops \(the runner will exit 1\)\. To fix: check --api-key/,
    );
  } finally {
    await proxy.stop();
  }
}, 90_000);

it('refused heartbeats with one getting through between them stop nothing, nor does a 403; three 401s in a row stop the task', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  // a single 401; a 401, three 403s (a gateway's, which say nothing of the key) and a 401; then the
  // key refused for good
  api.heartbeatPlan = [401, 200, 401, 403, 403, 403, 401, 200, ...Array<number>(100).fill(401)];
  const lines: string[] = [];
  let beatsAtStop: number | undefined;
  const r = testRunner(api.url, {
    slots: 1,
    executor: 'command',
    command: LONG_COMMAND,
    heartbeatS: 0.2,
    logWrite: (line) => {
      lines.push(line);
      if (/refuses this runner's key \(\d+ heartbeats/.test(line))
        beatsAtStop = api?.tasks[0]?.heartbeats.length;
    },
  });
  const h = createRunner(r.input);
  const pid = await commandPid(r.workDir);
  const { res } = await doneWithin(h.done, 30_000);
  expect(alive(pid)).toBe(false);
  // the 9th, 10th and 11th heartbeats are the first three refusals in a row
  expect(beatsAtStop).toBe(11);
  expect(res).toMatchObject({ exitCode: 0, tasksFailed: 1, tasksUnacknowledged: 0 });
  const t = api.tasks[0];
  // failed as what the reaper would have recorded, and retried like it; no error.tar.gz (the
  // reaper's retry may already own the task's keys)
  expect(t?.fail).toMatchObject({ error_type: 'heartbeat_timeout', s3_error_key: null });
  expect(t?.fail?.error_message).toBe(
    "the API refused this runner's key on 3 heartbeats in a row (rotated, or not this deployment's runner key); the task was stopped",
  );
  expect(api.calls.filter((c) => c.startsWith('PUT'))).toEqual([]);
  const log = lines.join('\n');
  expect(log).toMatch(
    /heartbeat of task \d+ refused \(1 in a row; the task stops at 3\): HTTP 401 unauthorized/,
  );
  expect(log).toMatch(
    /heartbeat of task \d+ refused \(2 in a row; the task stops at 3\): HTTP 401 unauthorized/,
  );
  expect(log).not.toMatch(/refused \(\d in a row[^\n]*HTTP 403/);
  expect(log.match(/heartbeat failed; retrying on the next beat[^\n]*403/g)).toHaveLength(3);
  expect(log.match(/error: task \d+: the API refuses this runner's key/g)).toHaveLength(1);
}, 60_000);
