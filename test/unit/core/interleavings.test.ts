// Property test: random interleavings of claim/heartbeat/complete/fail/reap/stop, run in concurrent
// batches against dynalite. After every batch the counts equal a recount of the task items, no index
// sits in two status sets, a finished run hands out nothing, and each run is assembled exactly once.
import fc from 'fast-check';
import { reap } from '../../../lambdas/core/reaper';
import { getRunOrThrow, startRun, stopRun } from '../../../lambdas/core/runs';
import { claimTask, completeTask, failTask, heartbeat } from '../../../lambdas/core/tasks';
import { type CoreHarness, expectCountsMatch, expectDisjointSets, startCore } from './core-helpers';

let h: CoreHarness;
beforeAll(async () => {
  h = await startCore();
});
afterAll(() => h.stack.stop());

type Action =
  | { kind: 'claim'; type: number; runner: number }
  | { kind: 'heartbeat'; pick: number; running: boolean }
  | { kind: 'complete'; pick: number; upload: boolean }
  | { kind: 'fail'; pick: number; retryable: boolean }
  | { kind: 'reap'; advanceS: number }
  | { kind: 'stop' };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('claim' as const), type: fc.nat(2), runner: fc.nat(3) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), pick: fc.nat(), running: fc.boolean() }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('complete' as const), pick: fc.nat(), upload: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('fail' as const), pick: fc.nat(), retryable: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('reap' as const), advanceS: fc.integer({ min: 0, max: 200 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'stop' as const }) },
);

/** A failed (shrinking) property run may leave its run open; close it so the next one can start. */
async function closeCurrentRun(): Promise<void> {
  const pointer = await h.deps.store.getPointer();
  if (!pointer?.active) return;
  await h.deps.store
    .setRunStatus(pointer.run_id, ['running', 'assembling', 'creating'], 'cancelled')
    .catch(() => undefined);
  await h.deps.store.releasePointer(pointer.run_id);
}

it('keeps counts, sets and assembly consistent under random concurrent interleavings', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(action, { minLength: 1, maxLength: 4 }), { minLength: 3, maxLength: 12 }),
      fc.integer({ min: 1, max: 2 }),
      async (batches, maxAttempts) => {
        await closeCurrentRun();
        const { run_id } = await startRun(h.deps, {
          ruby_version: '3.4.7',
          runs_per_instance_type: 3,
          local: ['x', 'y'],
          max_attempts: maxAttempts,
        });
        const held: Array<{ id: number; runner: string; attempt: number }> = [];
        const types = ['x', 'y', 'nope'];
        const act = async (a: Action): Promise<void> => {
          const mine = held.length ? held[('pick' in a ? a.pick : 0) % held.length] : undefined;
          switch (a.kind) {
            case 'claim': {
              const runner = `r${a.runner}`;
              const c = await claimTask(
                h.deps,
                { provider: 'local', instance_type: types[a.type] as string, runner_id: runner },
                run_id,
              );
              if (c.status === 'assigned') held.push({ id: c.task.id, runner, attempt: c.task.attempt });
              return;
            }
            case 'heartbeat':
              if (mine)
                await heartbeat(h.deps, mine.id, {
                  runner_id: mine.runner,
                  status: a.running ? 'running' : 'provision',
                  attempt: mine.attempt,
                });
              return;
            case 'complete':
              if (!mine) return;
              if (a.upload) await h.uploadResult(run_id, mine.id);
              await completeTask(h.deps, mine.id, { runner_id: mine.runner, attempt: mine.attempt });
              return;
            case 'fail':
              if (mine) {
                await failTask(h.deps, mine.id, {
                  runner_id: mine.runner,
                  attempt: mine.attempt,
                  error_type: a.retryable ? 'interrupted' : 'benchmark_failed',
                });
              }
              return;
            case 'reap':
              h.advance(a.advanceS * 1000);
              await reap(h.deps);
              return;
            case 'stop':
              await stopRun(h.deps);
              return;
          }
        };
        for (const batch of batches) {
          // 4xx-style refusals (lost races, stale attempts) are expected; only the invariants matter
          await Promise.allSettled(batch.map(act));
          const run = await getRunOrThrow(h.deps, run_id);
          expectCountsMatch(run, await h.allTasks(run_id));
          expectDisjointSets(run);
          if (run.status !== 'running') {
            const c = await claimTask(
              h.deps,
              { provider: 'local', instance_type: 'x', runner_id: 'late' },
              run_id,
            );
            expect(c.status).toBe('done');
          }
        }
        // Let every silent runner be reaped (attempts exhausted) so the run drains.
        for (let i = 0; i < 4; i++) {
          h.advance(130_000);
          await reap(h.deps);
        }
        const run = await getRunOrThrow(h.deps, run_id);
        if (run.status === 'running') {
          // tasks still pending for a retry: stop ends the run
          await stopRun(h.deps);
        }
        const end = await getRunOrThrow(h.deps, run_id);
        expect(end.status).toBe('assembling');
        expectCountsMatch(end, await h.allTasks(run_id));
        expect(h.assembly.starts.filter((n) => n === String(run_id))).toHaveLength(1);
        // close the run as the workflow would, so the next property run can start
        await h.deps.store.setRunStatus(run_id, ['assembling'], end.stopped ? 'cancelled' : 'complete');
        await h.deps.store.releasePointer(run_id);
      },
    ),
    {
      numRuns: Number(process.env.FC_RUNS ?? 25),
      seed: Number(process.env.FC_SEED ?? 20261124),
      endOnFailure: true,
    },
  );
}, 240_000);
