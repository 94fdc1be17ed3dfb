// The run's running set (GET /run's `running` count) against late bookkeeping: a write of an
// attempt that is over lands after the next attempt was promoted, and must not take it out.
import type { Deps, RunSetChange } from '../../../lambdas/core/ports';
import { reap } from '../../../lambdas/core/reaper';
import { getRunOrThrow, startRun } from '../../../lambdas/core/runs';
import { claimTask, failTask, heartbeat } from '../../../lambdas/core/tasks';
import { countsOf } from '../../../lambdas/core/views';
import type { ClaimResponse } from '../../../lambdas/shared/contract';
import { type CoreHarness, expectCountsMatch, gate, startCore } from './core-helpers';
import { hooked } from './store-hooks';

let h: CoreHarness;
beforeEach(async () => {
  h = await startCore();
});
afterEach(() => h.stack.stop());

const claim = (runId: number, runner: string): Promise<ClaimResponse> =>
  claimTask(h.deps, { provider: 'local', instance_type: 'a', runner_id: runner }, runId);
const taskOf = (c: ClaimResponse) => {
  if (c.status !== 'assigned') throw new Error(`expected a task, got ${JSON.stringify(c)}`);
  return c.task;
};
const removesRunning = (change: RunSetChange): boolean => (change.remove?.running?.length ?? 0) > 0;

it("attempt 1's undo of its running mark, landing after attempt 2 was promoted, leaves attempt 2 counted running", async () => {
  const { run_id } = await startRun(h.deps, {
    ruby_version: '3.4.7',
    runs_per_instance_type: 1,
    local: ['a'],
    max_attempts: 2,
  });
  const first = taskOf(await claim(run_id, 'r1'));
  // r1's first `running` beat promotes the task; its bookkeeping is slow at two points
  const readBack = gate();
  const undo = gate();
  let reads = 0;
  let undos = 0;
  const slow: Deps = {
    ...h.deps,
    store: hooked(h.deps.store, {
      getTask: async () => {
        if (reads++ === 0) await readBack.wait();
      },
      applyRunSets: async (_runId, change) => {
        if (removesRunning(change) && undos++ === 0) await undo.wait();
      },
    }),
  };
  const beat = heartbeat(slow, first.id, { runner_id: 'r1', status: 'running', attempt: 1 });
  await readBack.reached;
  // meanwhile r1's docker dies: the task goes back for attempt 2
  await failTask(h.deps, first.id, { runner_id: 'r1', attempt: 1, error_type: 'docker_error' });
  readBack.release();
  await undo.reached; // the beat read the task pending and is about to undo its add
  const second = taskOf(await claim(run_id, 'r2'));
  await heartbeat(h.deps, second.id, { runner_id: 'r2', status: 'running', attempt: 2 });
  undo.release();
  await expect(beat).resolves.toEqual({ action: 'continue' });

  const run = await getRunOrThrow(h.deps, run_id);
  expect((await h.deps.store.getTask(run_id, 0))?.status).toBe('running');
  expect(countsOf(run)).toMatchObject({ claimed: 0, running: 1 });
  expectCountsMatch(run, await h.allTasks(run_id));
});

it("a fail's bookkeeping stalled past a reaper pass leaves the task's next attempt counted running", async () => {
  const { run_id } = await startRun(h.deps, {
    ruby_version: '3.4.7',
    runs_per_instance_type: 1,
    local: ['a'],
    max_attempts: 2,
  });
  const first = taskOf(await claim(run_id, 'r1'));
  await heartbeat(h.deps, first.id, { runner_id: 'r1', status: 'running', attempt: 1 });
  // r1's fail sends the task back for attempt 2, then its handler stalls before the run's sets
  const settle = gate();
  const stalled: Deps = {
    ...h.deps,
    store: hooked(h.deps.store, {
      applyRunSets: async (_runId, change) => {
        if (removesRunning(change)) await settle.wait();
      },
    }),
  };
  const fail = failTask(stalled, first.id, { runner_id: 'r1', attempt: 1, error_type: 'docker_error' });
  await settle.reached;
  h.advance(90_000);
  // the reaper finds the task pending outside its retry set and requeues it; r2 takes and runs it
  expect((await reap(h.deps)).requeued).toEqual([first.id]);
  const second = taskOf(await claim(run_id, 'r2'));
  expect(second).toMatchObject({ id: first.id, attempt: 2 });
  await heartbeat(h.deps, second.id, { runner_id: 'r2', status: 'running', attempt: 2 });
  settle.release();
  await expect(fail).resolves.toMatchObject({ message: expect.stringMatching(/attempt 2 of 2 is queued/) });

  const run = await getRunOrThrow(h.deps, run_id);
  expect((await h.deps.store.getTask(run_id, 0))?.status).toBe('running');
  expect(countsOf(run)).toMatchObject({ pending: 0, claimed: 0, running: 1 });
  expect(run.retry['local:a']).toEqual([]);
  expectCountsMatch(run, await h.allTasks(run_id));
});
