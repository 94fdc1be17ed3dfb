// A runner process that ended mid-task (killed, out of memory) and was started again: the tasks its
// folders in the work dir name are failed at once as interrupted, saying why, and retried where
// the run allows, rather than held until the reaper fails them minutes later as heartbeat_timeout.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import type { TaskView } from '../../lambdas/shared/contract';
import { startRunner } from '../../runner/agent';
import { client, RUNNER, startTestStack } from '../helpers/api';
import { testRunner } from './helpers';

let stack: LocalStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** A run of one task of type `a`, claimed by slot 0 of host `h1`, whose folder the last process left. */
async function leftBehind(maxAttempts: number) {
  stack = await startTestStack({ waitRetrySeconds: 0.2 });
  const api = client(stack.apiUrl);
  const runId = (await api.start({ runs_per_instance_type: 1, local: ['a'], max_attempts: maxAttempts })).body
    .run_id;
  const claim = await api.claim(runId, 'a', 'h1-0');
  const id = (claim.body as { task: { id: number } }).task.id;
  const r = testRunner(stack.apiUrl, { apiKey: RUNNER, instanceType: 'a', hostId: 'h1', runId, slots: 1 });
  const folder = join(r.workDir, `task-${id}-a1-s0`);
  mkdirSync(join(folder, 'logs'), { recursive: true });
  writeFileSync(join(folder, 'logs', 'stdout.log'), 'half a benchmark\n');
  const task = async (): Promise<TaskView | undefined> =>
    (await api.call<{ tasks: TaskView[] }>('GET', '/run/tasks')).body.tasks.find((t) => t.id === id);
  return { r, id, folder, task };
}

it('fails the task the last process held as interrupted, saying why, removes its folder, and runs the retry', async () => {
  const { r, id, folder, task } = await leftBehind(2);
  const res = await startRunner(r.input);
  expect(existsSync(folder)).toBe(false);
  expect(res).toMatchObject({ tasksCompleted: 1, tasksFailed: 0 });
  expect(await task()).toMatchObject({ status: 'completed', attempt: 2 });
  expect(r.lines.join('\n')).toContain(
    `task ${id} (attempt 1) was left in task-${id}-a1-s0 by a runner process that ended mid-task: failed it as interrupted`,
  );
});

it('with no attempt left the task ends failed as interrupted, with the reason; --debug keeps the folder', async () => {
  const { r, folder, task } = await leftBehind(1);
  await startRunner({ ...r.input, debug: true });
  expect(existsSync(folder)).toBe(true);
  expect(await task()).toMatchObject({
    status: 'failed',
    error_type: 'interrupted',
    error_message: expect.stringContaining(
      'the runner process that held this task ended before the API had its report',
    ),
  });
});
