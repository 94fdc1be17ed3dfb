// Runners that die or freeze mid-task: the reaper fails their tasks as heartbeat_timeout, healthy
// runners drain the rest, a late answer from a frozen runner changes nothing, and every run ends
// with its archive, counters that match a recount and a manifest that agrees.
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { client, startTestStack } from '../helpers/api';
import { expectDrained, type RunnerChild, runningTaskOf, spawnRunner, tasksOf } from './helpers';

let stack: LocalStack;
const children: RunnerChild[] = [];

beforeEach(async () => {
  stack = await startTestStack({ heartbeatTimeoutS: 3, reaperIntervalS: 1, waitRetrySeconds: 1 });
});
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) {
      c.proc.kill('SIGCONT');
      c.proc.kill('SIGKILL');
    }
    await c.exited;
  }
  await stack.stop();
});

it('a runner SIGKILLed mid-task: its task fails heartbeat_timeout and the run drains', async () => {
  const api = client(stack.apiUrl);
  const { run_id: runId } = (await api.start({ runs_per_instance_type: 3, local: ['ck'] })).body;
  const doomed = spawnRunner(stack, runId, 'ck', 'doomed', 10_000);
  children.push(doomed);
  const victim = await runningTaskOf(stack, 'doomed');
  doomed.proc.kill('SIGKILL');
  await doomed.exited;
  const healthy = spawnRunner(stack, runId, 'ck', 'healthy', 0);
  children.push(healthy);
  expect(await healthy.exited).toBe(0);
  await expectDrained(stack, runId, { [victim.id]: 'heartbeat_timeout' });
}, 60_000);

it('a runner SIGSTOPped past the timeout: after SIGCONT its late answer gets 409 and changes nothing', async () => {
  const api = client(stack.apiUrl);
  const { run_id: runId } = (await api.start({ runs_per_instance_type: 2, local: ['cs'] })).body;
  const frozen = spawnRunner(stack, runId, 'cs', 'frozen', 10_000);
  children.push(frozen);
  const victim = await runningTaskOf(stack, 'frozen');
  frozen.proc.kill('SIGSTOP');
  // past the 3 s timeout and a reaper tick
  const reaped = await (async () => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const t = (await tasksOf(stack)).find((x) => x.id === victim.id);
      if (t?.status === 'failed') return t;
      await new Promise((r) => setTimeout(r, 200));
    }
    return undefined;
  })();
  expect(reaped).toMatchObject({ status: 'failed', error_type: 'heartbeat_timeout' });
  const healthy = spawnRunner(stack, runId, 'cs', 'healthy', 0);
  children.push(healthy);
  expect(await healthy.exited).toBe(0);
  frozen.proc.kill('SIGCONT');
  // the thawed runner's next call about its task gets 409 task_finished; it gives the task up and exits on done
  await frozen.exited;
  const log = frozen.lines.join('\n');
  expect(log).toContain(`HTTP 409 task_finished: task ${victim.id} is already failed`);
  const tasks = await expectDrained(stack, runId, { [victim.id]: 'heartbeat_timeout' });
  const after = tasks.find((t) => t.id === victim.id);
  expect(after).toMatchObject({ finished_at: reaped?.finished_at, runner_id: reaped?.runner_id });
}, 60_000);
