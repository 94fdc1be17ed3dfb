// A run while its tasks are being written (`creating`): a start that died is resumed by the reaper,
// maybe by two passes at once, and a stop can come before the tasks are all there. Whatever the
// order, no task that moved on is written over, and a stopped run ends with every task cancelled.
import { reap } from '../../../lambdas/core/reaper';
import { prepareAssembly } from '../../../lambdas/core/run-assembly';
import { getRunOrThrow, startRun, stopRun } from '../../../lambdas/core/runs';
import { claimTask, completeTask, heartbeat } from '../../../lambdas/core/tasks';
import type { RunConfig } from '../../../lambdas/shared/contract';
import { type CoreHarness, expectCountsMatch, gate, startCore } from './core-helpers';

const cfg: RunConfig = { ruby_version: '3.4.7', runs_per_instance_type: 3, local: ['a'] };
let h: CoreHarness;
beforeEach(async () => {
  h = await startCore();
});
afterEach(() => h.stack.stop());

/** A start whose task writes fail (its Lambda timed out): the run stays `creating`. */
async function startThatDies(): Promise<number> {
  const real = h.deps.store.putTasks.bind(h.deps.store);
  h.deps.store.putTasks = async () => {
    throw new Error('injected: the start function timed out');
  };
  await expect(startRun(h.deps, cfg)).rejects.toThrow('injected');
  h.deps.store.putTasks = real;
  return (await h.deps.store.getPointer())?.run_id as number;
}

it('two reaper passes resume one run: the slower one writes over nothing that was claimed or done', async () => {
  const runId = await startThatDies();
  const real = h.deps.store.putMissingTasks.bind(h.deps.store);
  const slow = gate();
  let calls = 0;
  h.deps.store.putMissingTasks = async (tasks) => {
    if (calls++ === 0) await slow.wait();
    return real(tasks);
  };
  h.advance(61_000);
  const slowPass = reap(h.deps);
  await slow.reached;
  expect((await reap(h.deps)).actions).toContain('resumed a run left creating: opened');
  // the run is open: r0 runs and completes a task, r1 is running another
  const who = (runner: string) => ({ provider: 'local' as const, instance_type: 'a', runner_id: runner });
  const c0 = await claimTask(h.deps, who('r0'), runId);
  const c1 = await claimTask(h.deps, who('r1'), runId);
  if (c0.status !== 'assigned' || c1.status !== 'assigned') throw new Error('expected two tasks');
  await heartbeat(h.deps, c0.task.id, { runner_id: 'r0', status: 'running' });
  await heartbeat(h.deps, c1.task.id, { runner_id: 'r1', status: 'running' });
  await h.uploadResult(runId, c0.task.id);
  await completeTask(h.deps, c0.task.id, { runner_id: 'r0' });
  slow.release();
  expect((await slowPass).actions).toContain('resumed a run left creating: opened');

  const tasks = await h.allTasks(runId);
  expect(tasks.map((t) => t.status)).toEqual(['completed', 'running', 'pending']);
  const run = await getRunOrThrow(h.deps, runId);
  expect(run.status).toBe('running');
  expectCountsMatch(run, tasks);
  await h.uploadResult(runId, c1.task.id);
  await completeTask(h.deps, c1.task.id, { runner_id: 'r1' }); // r1 still holds its task
});

it('a stop while the start writes tasks is honoured once they are written: every task cancelled', async () => {
  const real = h.deps.store.putTasks.bind(h.deps.store);
  const writing = gate();
  h.deps.store.putTasks = async (tasks) => {
    await writing.wait();
    return real(tasks);
  };
  const start = startRun(h.deps, cfg).then(
    () => 'started',
    (err: Error & { code?: string }) => `${err.code}: ${err.message}`,
  );
  await writing.reached;
  const stop = await stopRun(h.deps);
  expect(stop.message).toMatch(/stopped while its tasks were being created/);
  // nothing is assembled before the tasks exist
  expect(h.assembly.starts).toEqual([]);
  writing.release();
  expect(await start).toMatch(/^run_in_progress: run \d+ was stopped while its tasks were being created/);
  const run = await getRunOrThrow(h.deps, stop.run_id);
  expect(run).toMatchObject({ status: 'assembling', stopped: true });
  expect(h.assembly.starts).toEqual([String(stop.run_id)]);
  await prepareAssembly(h.deps, stop.run_id); // the workflow's first step: it finds every task there
  const tasks = await h.allTasks(stop.run_id);
  expect(tasks.map((t) => t.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  expectCountsMatch(run, tasks);
});

it('a stop on a run whose start died is honoured when the reaper resumes it', async () => {
  const runId = await startThatDies();
  expect((await stopRun(h.deps)).run_id).toBe(runId);
  h.advance(61_000);
  expect((await reap(h.deps)).actions).toContain('resumed a run left creating: stopped');
  const run = await getRunOrThrow(h.deps, runId);
  expect(run).toMatchObject({ status: 'assembling', stopped: true });
  expect(h.assembly.starts).toEqual([String(runId)]);
  await prepareAssembly(h.deps, runId);
  const tasks = await h.allTasks(runId);
  expect(tasks.map((t) => t.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  expectCountsMatch(run, tasks);
  // a claim on it is told the run is over
  expect(
    (await claimTask(h.deps, { provider: 'local', instance_type: 'a', runner_id: 'r9' }, runId)).status,
  ).toBe('done');
});
