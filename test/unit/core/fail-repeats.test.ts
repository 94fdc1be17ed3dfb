// A runner's fail whose answer was lost is sent again: the repeat must succeed whether it arrives
// while the first is still in flight, or after the reaper repaired the first one's half-done requeue.
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Deps } from '../../../lambdas/core/ports';
import { reap } from '../../../lambdas/core/reaper';
import { getRunOrThrow, startRun } from '../../../lambdas/core/runs';
import { claimTask, failTask } from '../../../lambdas/core/tasks';
import type { ClaimResponse, RunConfig } from '../../../lambdas/shared/contract';
import { keys } from '../../../lambdas/shared/table';
import { type CoreHarness, crashAfter, expectCountsMatch, startCore } from './core-helpers';
import { barrier, hooked } from './store-hooks';

let h: CoreHarness;
beforeEach(async () => {
  h = await startCore();
});
afterEach(() => h.stack.stop());

const cfg = (extra: Partial<RunConfig> = {}): RunConfig => ({
  ruby_version: '3.4.7',
  runs_per_instance_type: 1,
  local: ['a'],
  ...extra,
});
const taskOf = (c: ClaimResponse) => {
  if (c.status !== 'assigned') throw new Error(`expected a task, got ${JSON.stringify(c)}`);
  return c.task;
};

describe('two copies of one fail in flight at once (a retried request while the first is on its way)', () => {
  const cases = [
    {
      name: 'a fail that ends the task',
      error_type: 'benchmark_failed',
      max_attempts: 1,
      method: 'finishTask',
    },
    {
      name: 'a fail that queues another attempt',
      error_type: 'interrupted',
      max_attempts: 3,
      method: 'requeueTask',
    },
  ] as const;
  for (const c of cases) {
    it(`${c.name}: both copies answer 200 and the task is settled once`, async () => {
      const { run_id } = await startRun(h.deps, cfg({ max_attempts: c.max_attempts }));
      const t = taskOf(
        await claimTask(h.deps, { provider: 'local', instance_type: 'a', runner_id: 'r1' }, run_id),
      );
      // both copies have read the task (claimed, so neither is a repeat yet) before either writes
      const bothRead = barrier(2);
      const deps: Deps = { ...h.deps, store: hooked(h.deps.store, { [c.method]: bothRead }) };
      const req = { runner_id: 'r1', attempt: t.attempt, error_type: c.error_type };
      const answers = await Promise.allSettled([failTask(deps, t.id, req), failTask(deps, t.id, req)]);
      expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'fulfilled']);
      const run = await getRunOrThrow(h.deps, run_id);
      expectCountsMatch(run, await h.allTasks(run_id));
      expect(run.retry['local:a']).toHaveLength(c.max_attempts > 1 ? 1 : 0);
    });
  }
});

it("a fail repeated after the reaper repaired its half-done requeue succeeds, and the attempt's error is kept", async () => {
  const { run_id } = await startRun(h.deps, cfg({ max_attempts: 2 }));
  const t = taskOf(
    await claimTask(h.deps, { provider: 'local', instance_type: 'a', runner_id: 'r' }, run_id),
  );
  const req = { runner_id: 'r', attempt: 1, error_type: 'docker_error', error_message: 'daemon gone' };
  // the handler dies after its requeue: the runner gets no answer
  const crashing: Deps = { ...h.deps, store: crashAfter(h.deps.store, 'requeueTask') };
  await expect(failTask(crashing, t.id, req)).rejects.toThrow('injected');
  h.advance(61_000);
  expect((await reap(h.deps)).requeued).toEqual([t.id]); // the repair: into the retry set
  // read raw: the attempt's error is kept on the item (as last_error_*), not in the task record
  const out = await h.stack.services.ddb.send(
    new GetItemCommand({ TableName: h.stack.services.table, Key: marshall(keys.task(run_id, 0)) }),
  );
  const item = unmarshall(out.Item ?? {});
  expect(item).toMatchObject({
    status: 'pending',
    gen: 2,
    requeued_by: 'r 1 docker_error',
    last_error_type: 'docker_error',
    last_error_message: 'daemon gone',
  });
  await expect(failTask(h.deps, t.id, req)).resolves.toMatchObject({
    message: expect.stringMatching(/already queued for another attempt/),
  });
  const run = await getRunOrThrow(h.deps, run_id);
  expect(run.retry['local:a']).toHaveLength(1);
  expectCountsMatch(run, await h.allTasks(run_id));
});
