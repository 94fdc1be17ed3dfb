// A claim that took its ticket before POST /run/stop and wrote its task after the stop's cancel pass:
// after a stop, claims answer `done` (DESIGN, "Stop"), so that claim must not hand the task out.
import type { Deps } from '../../../lambdas/core/ports';
import { reap } from '../../../lambdas/core/reaper';
import { prepareAssembly } from '../../../lambdas/core/run-assembly';
import { getRunOrThrow, startRun, stopRun } from '../../../lambdas/core/runs';
import { claimTask, completeTask } from '../../../lambdas/core/tasks';
import { countsOf } from '../../../lambdas/core/views';
import { type CoreHarness, expectCountsMatch, expectDisjointSets, gate, startCore } from './core-helpers';
import { hooked } from './store-hooks';

let h: CoreHarness;
beforeEach(async () => {
  h = await startCore();
});
afterEach(() => h.stack.stop());

it('a claim whose task write lands after the stop returned answers done, and its task ends cancelled', async () => {
  const { run_id } = await startRun(h.deps, {
    ruby_version: '3.4.7',
    runs_per_instance_type: 2,
    local: ['a'],
  });
  const write = gate();
  const slow: Deps = { ...h.deps, store: hooked(h.deps.store, { claimTask: () => write.wait() }) };
  const claim = claimTask(slow, { provider: 'local', instance_type: 'a', runner_id: 'r1' }, run_id);
  await write.reached; // the ticket is taken; the task write is on its way
  await stopRun(h.deps, run_id);
  write.release();
  await expect(claim).resolves.toEqual({ status: 'done' });

  // the stop cancelled the ticketed task before the claim's write, which then lost
  const [task] = await h.allTasks(run_id);
  expect(task).toMatchObject({ status: 'cancelled', runner_id: null, error_type: 'cancelled' });
  await h.uploadResult(run_id, task?.id ?? 0);
  await expect(completeTask(h.deps, task?.id ?? 0, { runner_id: 'r1' })).rejects.toMatchObject({
    code: 'task_finished',
  });
  let run = await getRunOrThrow(h.deps, run_id);
  expect(countsOf(run)).toMatchObject({ claimed: 0, running: 0, cancelled: 2 });
  expectCountsMatch(run, await h.allTasks(run_id));
  await reap(h.deps); // settles what the stop left in the active index
  run = await getRunOrThrow(h.deps, run_id);
  expectDisjointSets(run);
  expectCountsMatch(run, await h.allTasks(run_id));
});

it('the reaper sweeps a stopped run for ticketed tasks only near the stop, not every minute of its assembly', async () => {
  const { run_id } = await startRun(h.deps, {
    ruby_version: '3.4.7',
    runs_per_instance_type: 6,
    local: ['a'],
  });
  for (let i = 0; i < 4; i++)
    await claimTask(h.deps, { provider: 'local', instance_type: 'a', runner_id: `r${i}` }, run_id);
  await stopRun(h.deps, run_id);
  await prepareAssembly(h.deps, run_id); // takes the cancelled tasks out of the active index
  let writes = 0;
  const counted: Deps = {
    ...h.deps,
    store: hooked(h.deps.store, {
      finishTask: () => {
        writes++;
      },
    }),
  };
  await reap(counted);
  expect(writes).toBeGreaterThan(0); // a stop that died midway is still caught in this window
  h.advance(11 * 60_000);
  writes = 0;
  await reap(counted);
  expect(writes).toBe(0);
});
