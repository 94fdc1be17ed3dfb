// Claims under real concurrency against dynalite, and a handler dying between its writes.
import type { Deps, RunStore } from '../../../lambdas/core/ports';
import { reap } from '../../../lambdas/core/reaper';
import { completeAssembly, failAssembly, reassembleRun } from '../../../lambdas/core/run-assembly';
import { getRunOrThrow, startRun, stopRun } from '../../../lambdas/core/runs';
import { claimTask, completeTask, failTask, heartbeat, settleRequeued } from '../../../lambdas/core/tasks';
import { retryEntry } from '../../../lambdas/core/views';
import type { RunConfig } from '../../../lambdas/shared/contract';
import {
  type CoreHarness,
  crashAfter,
  expectCountsMatch,
  expectDisjointSets,
  startCore,
} from './core-helpers';

let h: CoreHarness;
beforeEach(async () => {
  h = await startCore();
});
afterEach(() => h.stack.stop());

const cfg = (extra: Partial<RunConfig> = {}): RunConfig => ({
  ruby_version: '3.4.7',
  runs_per_instance_type: 2,
  local: ['a'],
  ...extra,
});

it('never hands one task to two runners: 64 concurrent claimers over 501 tasks of 3 instance types', async () => {
  // the core takes a config the API already validated; 167 runs (over the API's 100) gives ~500 tasks on 3 types
  const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 167, local: ['t1', 't2', 't3'] }));
  const got: number[] = [];
  const holder = new Map<number, string>();
  const claimers = Array.from({ length: 64 }, async (_, n) => {
    const instance_type = ['t1', 't2', 't3'][n % 3] as string;
    for (;;) {
      const c = await claimTask(h.deps, { provider: 'local', instance_type, runner_id: `r${n}` }, run_id);
      if (c.status !== 'assigned') return;
      got.push(c.task.id);
      holder.set(c.task.id, `r${n}`);
    }
  });
  await Promise.all(claimers);
  expect(got).toHaveLength(501);
  expect(new Set(got).size).toBe(501);
  const run = await getRunOrThrow(h.deps, run_id);
  const tasks = await h.allTasks(run_id);
  expectCountsMatch(run, tasks);
  // the store's client caches each command's middleware: every write still carried its own input
  expect(h.stack.services.ddb.config.cacheMiddleware).toBe(true);
  expect(tasks.map((t) => [t.id, t.runner_id])).toEqual(tasks.map((t) => [t.id, holder.get(t.id)]));
  expect(run.queues.every((q) => run.next[`local:${q.instance_type}`] === q.base + q.count)).toBe(true);
}, 120_000);

async function drainAll(deps: Deps, runId: number): Promise<void> {
  for (;;) {
    const c = await claimTask(deps, { provider: 'local', instance_type: 'a', runner_id: 'r' }, runId).catch(
      () => undefined,
    );
    if (!c) continue;
    if (c.status !== 'assigned') return;
    await h.uploadResult(runId, c.task.id);
    await heartbeat(deps, c.task.id, { runner_id: 'r', status: 'running' }).catch(() => undefined);
    await completeTask(deps, c.task.id, { runner_id: 'r' }).catch(() => undefined);
  }
}

/** After a crash, reaper passes (and runners' retries) must bring the run to one assembly with exact counts. */
async function expectRepaired(runId: number): Promise<void> {
  for (let i = 0; i < 3; i++) {
    h.advance(61_000);
    await reap(h.deps);
  }
  const run = await getRunOrThrow(h.deps, runId);
  const tasks = await h.allTasks(runId);
  expect(run.status).toBe('assembling');
  expect(h.assembly.starts).toEqual([String(runId)]);
  expectCountsMatch(run, tasks);
  expectDisjointSets(run);
  expect(tasks.every((t) => t.status === 'completed' || t.status === 'failed')).toBe(true);
  expect(tasks.every((t) => !t.active)).toBe(true);
}

it.each([
  ['takeTicket', 'a claim that took its ticket'],
  ['claimTask', 'a claim after writing its task'],
  ['heartbeat', 'a heartbeat after promoting its task to running'],
  ['finishTask', 'a complete after writing the task'],
  ['applyRunSets', 'a complete after updating the run sets'],
  ['clearActive', 'a complete after leaving the active index'],
  ['setRunStatus', 'the drain after marking the run assembling'],
] as const)(
  'repairs %s crashes (%s): the run still drains with exact counts and one assembly',
  async (method: keyof RunStore, _what: string) => {
    const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 3 }));
    const crashing: Deps = { ...h.deps, store: crashAfter(h.deps.store, method) };
    await drainAll(crashing, run_id).catch(() => undefined);
    // the crashed runner is gone; another one keeps claiming until nothing is left
    await drainAll(h.deps, run_id);
    // a task stranded by the crash is requeued by the reaper and claimed again
    for (let round = 0; round < 3; round++) {
      h.advance(121_000);
      await reap(h.deps);
      await drainAll(h.deps, run_id);
    }
    await expectRepaired(run_id);
  },
);

it('repairs a fail whose handler died after requeuing the task for another attempt', async () => {
  const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 1, max_attempts: 2 }));
  const c = await claimTask(h.deps, { provider: 'local', instance_type: 'a', runner_id: 'r' }, run_id);
  if (c.status !== 'assigned') throw new Error('expected a task');
  const crashing: Deps = { ...h.deps, store: crashAfter(h.deps.store, 'requeueTask') };
  await expect(failTask(crashing, c.task.id, { runner_id: 'r', error_type: 'docker_error' })).rejects.toThrow(
    'injected',
  );
  h.advance(61_000);
  await reap(h.deps);
  const again = await claimTask(h.deps, { provider: 'local', instance_type: 'a', runner_id: 'r2' }, run_id);
  expect(again).toMatchObject({ status: 'assigned', task: { id: c.task.id, attempt: 2 } });
});

describe('a fail and the reaper requeue one task at once (the reaper caught the fail between its writes)', () => {
  // The fail's requeue (gen 0 -> 1) and the reaper's repair (gen 1 -> 2) each add a retry entry
  // under their own generation; in every order of their settling, one entry must remain, or the
  // run counts the task as pending twice (found by the interleavings property test).
  const orders: Record<string, Array<'fail' | 'reaper'>> = {
    'the reaper settles first': ['reaper', 'fail'],
    'the fail settles first': ['fail', 'reaper'],
  };
  for (const [name, order] of Object.entries(orders)) {
    it(name, async () => {
      const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 1, max_attempts: 3 }));
      const c = await claimTask(h.deps, { provider: 'local', instance_type: 'a', runner_id: 'r' }, run_id);
      if (c.status !== 'assigned') throw new Error('expected a task');
      const index = 0; // the run's only task
      const fence = { runner_id: 'r', attempt: 1 };
      const byFail = await h.deps.store.requeueTask(
        run_id,
        index,
        { status: ['claimed'], gen: 0, fence },
        { requeued_at: new Date().toISOString() },
      );
      const byReaper = await h.deps.store.requeueTask(
        run_id,
        index,
        { status: ['pending'], gen: 1 },
        { requeued_at: new Date().toISOString() },
      );
      if (!byFail || !byReaper) throw new Error('both requeues should have applied');
      const settle = { fail: byFail, reaper: byReaper };
      for (const who of order) await settleRequeued(h.deps, settle[who]);

      const run = await getRunOrThrow(h.deps, run_id);
      expect(run.retry['local:a']).toEqual([retryEntry(2, index)]);
      expectCountsMatch(run, await h.allTasks(run_id));
      const again = await claimTask(
        h.deps,
        { provider: 'local', instance_type: 'a', runner_id: 'r2' },
        run_id,
      );
      expect(again).toMatchObject({ status: 'assigned', task: { id: c.task.id, attempt: 2 } });
    });
  }
});

it('starts assembly exactly once when the last complete and a stop race', async () => {
  for (let round = 0; round < 5; round++) {
    const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 1 }));
    const c = await claimTask(h.deps, { provider: 'local', instance_type: 'a', runner_id: 'r' }, run_id);
    if (c.status !== 'assigned') throw new Error('expected a task');
    await h.uploadResult(run_id, c.task.id);
    const outcomes = await Promise.allSettled([
      completeTask(h.deps, c.task.id, { runner_id: 'r' }),
      stopRun(h.deps),
      completeTask(h.deps, c.task.id, { runner_id: 'r' }),
    ]);
    expect(outcomes.some((o) => o.status === 'fulfilled')).toBe(true);
    const run = await getRunOrThrow(h.deps, run_id);
    expect(run.status).toBe('assembling');
    expect(h.assembly.starts.filter((n) => n === String(run_id))).toHaveLength(1);
    expectCountsMatch(run, await h.allTasks(run_id));
    // finish this run so the next round can start
    await h.deps.store.setRunStatus(run_id, ['assembling'], 'complete');
    await h.deps.store.releasePointer(run_id);
  }
});

it('marks a run assembly_failed when its execution never finishes, so it cannot hang in assembling', async () => {
  const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 1 }));
  await stopRun(h.deps);
  await reap(h.deps);
  expect((await getRunOrThrow(h.deps, run_id)).status).toBe('assembling');
  h.advance(h.deps.settings.assemblyGiveUpSeconds * 1000 + 1000);
  await reap(h.deps);
  const run = await getRunOrThrow(h.deps, run_id);
  expect(run.status).toBe('assembly_failed');
  expect(run.assembly_error).toContain('POST /run/assemble');
});

it('refuses a new start while an assembly_failed run is being assembled again', async () => {
  const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 1 }));
  await stopRun(h.deps);
  await failAssembly(h.deps, run_id, 'the bucket was full');
  await reassembleRun(h.deps);
  expect(h.assembly.starts).toEqual([String(run_id), `${run_id}-2`]);
  await expect(startRun(h.deps, cfg())).rejects.toMatchObject({ code: 'run_in_progress' });
  await completeAssembly(h.deps, run_id, `runs/${run_id}/results.tar.gz`);
  await expect(startRun(h.deps, cfg())).resolves.toMatchObject({ tasks_created: 2 });
});

it('a run assembled again keeps the time its last task finished, not the time the second assembly did', async () => {
  const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 1 }));
  const c = await claimTask(h.deps, { provider: 'local', instance_type: 'a', runner_id: 'r1' }, run_id);
  if (c.status !== 'assigned') throw new Error(`expected a task, got ${JSON.stringify(c)}`);
  await h.uploadResult(run_id, c.task.id);
  await completeTask(h.deps, c.task.id, { runner_id: 'r1' });
  const drained = await getRunOrThrow(h.deps, run_id);
  expect(drained.status).toBe('assembling');
  expect(drained.finished_at).not.toBeNull();
  h.advance(3_600_000);
  await failAssembly(h.deps, run_id, 'the bucket was full');
  await reassembleRun(h.deps);
  h.advance(3_600_000);
  const done = await completeAssembly(h.deps, run_id, `runs/${run_id}/results.tar.gz`);
  expect(done.status).toBe('complete');
  expect(done.finished_at).toBe(drained.finished_at);
  expect((await getRunOrThrow(h.deps, run_id)).finished_at).toBe(drained.finished_at);
});
