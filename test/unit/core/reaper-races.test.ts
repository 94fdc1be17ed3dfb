// A reaper pass racing the runners: a heartbeat, a slow claim or a first claim that lands between
// the pass's read and its write. The pass's conditional write must lose, and the run stay sound.
import type { Deps } from '../../../lambdas/core/ports';
import { reap } from '../../../lambdas/core/reaper';
import { completeAssembly } from '../../../lambdas/core/run-assembly';
import { getRunOrThrow, startRun } from '../../../lambdas/core/runs';
import { claimTask, failTask, heartbeat } from '../../../lambdas/core/tasks';
import { type CoreHarness, expectCountsMatch, expectDisjointSets, gate, startCore } from './core-helpers';
import { cfg, runActions, taskOf } from './run-actions';
import { hooked } from './store-hooks';

let h: CoreHarness;
beforeEach(async () => {
  h = await startCore();
});
afterEach(() => h.stack.stop());

const { claim, finish, pastHeartbeatTimeout } = runActions(() => h);

describe('a heartbeat that lands while a reaper pass is about to reap its task keeps the task with its runner', () => {
  for (const max_attempts of [1, 2]) {
    it(`max_attempts ${max_attempts}: the task is not ${max_attempts > 1 ? 'requeued' : 'failed'}`, async () => {
      const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 1, max_attempts }));
      const t = taskOf(await claim(run_id, 'r1'));
      await heartbeat(h.deps, t.id, { runner_id: 'r1', status: 'running', attempt: 1 });
      pastHeartbeatTimeout();
      // the pass has read the task silent; its write is held while r1's beat (late, but in time) lands
      const write = gate();
      const held: Deps = {
        ...h.deps,
        store: hooked(h.deps.store, { requeueTask: () => write.wait(), finishTask: () => write.wait() }),
      };
      const pass = reap(held);
      await write.reached;
      await heartbeat(h.deps, t.id, { runner_id: 'r1', status: 'running', attempt: 1 });
      write.release();
      expect(await pass).toMatchObject({ reaped: [], requeued: [] });
      await finish(run_id, t.id, 'r1');
      expect((await h.allTasks(run_id))[0]).toMatchObject({
        status: 'completed',
        runner_id: 'r1',
        attempt: 1,
      });
      expect((await getRunOrThrow(h.deps, run_id)).status).toBe('assembling');
    });
  }
});

it('a ticket claim whose task write lands after the reaper requeued that task takes it under its new generation', async () => {
  const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 1 }));
  const write = gate();
  let held = false;
  const slow: Deps = {
    ...h.deps,
    store: hooked(h.deps.store, {
      claimTask: async () => {
        if (held) return;
        held = true;
        await write.wait();
      },
    }),
  };
  const late = claimTask(slow, { provider: 'local', instance_type: 'a', runner_id: 'r1' }, run_id);
  await write.reached; // the ticket is taken; the task write is slow
  expect((await reap(h.deps)).requeued).toHaveLength(1); // a ticket that has not reached its task
  write.release();
  expect(taskOf(await late)).toMatchObject({ attempt: 1 });
  const run = await getRunOrThrow(h.deps, run_id);
  expect(run.retry['local:a']).toEqual([]); // taken once: no entry left to count it pending too
  expectCountsMatch(run, await h.allTasks(run_id));
});

it("a queue's first claim that lands while the reaper fails it as never claimed from keeps its task", async () => {
  const { run_id } = await startRun(h.deps, cfg({ pending_timeout_minutes: 10 }));
  h.advance(11 * 60_000); // nobody claimed within pending_timeout_minutes
  const mark = gate();
  const pass = reap({ ...h.deps, store: hooked(h.deps.store, { markNoRunner: () => mark.wait() }) });
  await mark.reached; // the pass found the queue never claimed from
  const first = taskOf(await claim(run_id, 'r1')); // a slow VM's first claim
  mark.release();
  expect((await pass).no_runner).toEqual([]);
  await finish(run_id, first.id, 'r1');
  const run = await getRunOrThrow(h.deps, run_id);
  expect(run.no_runner['local:a']).toBeFalsy();
  expectDisjointSets(run);
  expectCountsMatch(run, await h.allTasks(run_id));
});

it('with attempts left, a runner waits while a task of its type runs: that task may come back', async () => {
  const { run_id } = await startRun(h.deps, cfg({ max_attempts: 2 }));
  const long = taskOf(await claim(run_id, 'r1'));
  await heartbeat(h.deps, long.id, { runner_id: 'r1', status: 'running', attempt: 1 });
  const quick = taskOf(await claim(run_id, 'r2'));
  await finish(run_id, quick.id, 'r2');
  // no tickets and no retries left, but r1's task may still fail and be queued again: r2 must stay
  expect(await claim(run_id, 'r2')).toMatchObject({ status: 'wait' });
  await failTask(h.deps, long.id, { runner_id: 'r1', attempt: 1, error_type: 'interrupted' });
  expect(taskOf(await claim(run_id, 'r2'))).toMatchObject({ id: long.id, attempt: 2 });
});

it('a claim whose runner beat once and then went silent used its attempt: it is not given back', async () => {
  const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 1 }));
  const t = taskOf(await claim(run_id, 'r1'));
  h.advance(5_000);
  await heartbeat(h.deps, t.id, { runner_id: 'r1', status: 'provision', attempt: 1 }); // it got the answer
  pastHeartbeatTimeout();
  expect(await reap(h.deps)).toMatchObject({ reaped: [t.id], requeued: [] });
  expect((await h.allTasks(run_id))[0]).toMatchObject({
    status: 'failed',
    error_type: 'heartbeat_timeout',
    refunds: 0,
  });
});

describe('the schedule a deploy leaves on (the template says ENABLED)', () => {
  const schedule = (): { enabled: boolean } => h.deps.schedule as unknown as { enabled: boolean };

  it('is switched off by the first pass on a deployment with no run yet', async () => {
    schedule().enabled = true;
    expect((await reap(h.deps)).actions).toEqual(['no run: schedule disabled']);
    expect(schedule().enabled).toBe(false);
  });

  it('is switched off by the first pass after the last run ended, and stays on under a run at work', async () => {
    const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 1 }));
    await reap(h.deps);
    expect(schedule().enabled).toBe(true);
    const t = taskOf(await claim(run_id, 'r1'));
    await finish(run_id, t.id, 'r1');
    await completeAssembly(h.deps, run_id, `runs/${run_id}/results.tar.gz`);
    expect((await getRunOrThrow(h.deps, run_id)).status).toBe('complete');
    schedule().enabled = true; // a deploy after the run ended
    expect((await reap(h.deps)).actions).toEqual(['run ended: schedule disabled']);
    expect(schedule().enabled).toBe(false);
  });
});
