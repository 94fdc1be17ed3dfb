// A pass with more to do than its Lambda has time for (a mass heartbeat timeout) stops between
// two tasks, says so, and leaves the rest to the next pass, which finishes it with nothing lost.

import type { Context } from 'aws-lambda';
import { PASS_RESERVE_MS } from '../../../lambdas/core/pass-budget';
import { reap } from '../../../lambdas/core/reaper';
import { getRunOrThrow, startRun } from '../../../lambdas/core/runs';
import { makeHandler } from '../../../lambdas/handlers/reap';
import { type CoreHarness, expectCountsMatch, startCore } from './core-helpers';
import { cfg, runActions, taskOf } from './run-actions';

let h: CoreHarness;
beforeEach(async () => {
  h = await startCore();
});
afterEach(() => h.stack.stop());

const { claim, pastHeartbeatTimeout } = runActions(() => h);

/** A Lambda's remaining time that falls under the reserve after `checks` look-ups. */
const timeLeftFor = (checks: number) => {
  let asked = 0;
  return () => (asked++ < checks ? 50_000 : PASS_RESERVE_MS - 1);
};

it('stops a pass between two tasks when its time is up, and the next pass reaps the rest', async () => {
  const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 12, max_attempts: 1 }));
  for (let n = 0; n < 12; n++) taskOf(await claim(run_id, `r${n}`));
  pastHeartbeatTimeout();

  const first = await reap(h.deps, timeLeftFor(5));
  expect(first.requeued.length + first.reaped.length).toBe(5);
  expect(first.actions).toEqual([
    `pass stopped early, with under ${PASS_RESERVE_MS / 1000} s of its time left, after 5 task(s) and queue(s); the next pass takes up the rest`,
  ]);
  // what it did is whole: every count matches the tasks, none half-written
  expectCountsMatch(await getRunOrThrow(h.deps, run_id), await h.allTasks(run_id));

  const second = await reap(h.deps, () => 50_000);
  expect(second.actions).toEqual([]);
  expect(second.requeued.length + second.reaped.length).toBe(7);
  const tasks = await h.allTasks(run_id);
  expectCountsMatch(await getRunOrThrow(h.deps, run_id), tasks);
  // each silent claim was handled once: given back, as none ever heartbeated
  expect(new Set([...first.requeued, ...second.requeued]).size).toBe(12);
  expect(tasks.every((t) => t.status === 'pending')).toBe(true);
});

it('runs a pass whole when no time limit is given (local mode) or enough is left', async () => {
  const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 6 }));
  for (let n = 0; n < 6; n++) taskOf(await claim(run_id, `r${n}`));
  pastHeartbeatTimeout();
  const pass = await reap(h.deps);
  expect(pass.requeued).toHaveLength(6);
  expect(pass.actions).toEqual([]);
});

it("the scheduled handler bounds its pass by the Lambda's remaining time", async () => {
  const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 3 }));
  for (let n = 0; n < 3; n++) taskOf(await claim(run_id, `r${n}`));
  pastHeartbeatTimeout();
  const context = { getRemainingTimeInMillis: () => PASS_RESERVE_MS - 1 } as Context;
  await makeHandler(h.deps)({}, context); // nothing left to spend: the pass takes up no task
  expect((await h.allTasks(run_id)).map((t) => t.status)).toEqual(['claimed', 'claimed', 'claimed']);
  await makeHandler(h.deps)({}, { getRemainingTimeInMillis: () => 55_000 } as Context);
  expect((await h.allTasks(run_id)).map((t) => t.status)).toEqual(['pending', 'pending', 'pending']);
});
