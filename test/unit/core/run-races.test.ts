// Starts, stops, re-assemblies and late reports that race each other or fail midway: each answers a
// 4xx that says what happened (never a 500), and no run is left where nothing will move it on.
import type { Deps } from '../../../lambdas/core/ports';
import { reap } from '../../../lambdas/core/reaper';
import { completeAssembly, failAssembly } from '../../../lambdas/core/run-assembly';
import { getRunOrThrow, startRun, stopRun } from '../../../lambdas/core/runs';
import { claimTask, heartbeat } from '../../../lambdas/core/tasks';
import type { RunConfig } from '../../../lambdas/shared/contract';
import { client, OPERATOR } from '../../helpers/api';
import { type CoreHarness, gate, startCore } from './core-helpers';
import { barrier, hooked } from './store-hooks';

const cfg: RunConfig = { ruby_version: '3.4.7', runs_per_instance_type: 2, local: ['a'] };
let h: CoreHarness;
beforeEach(async () => {
  h = await startCore();
});
afterEach(() => h.stack.stop());

const scheduleOn = (): boolean => (h.deps.schedule as unknown as { enabled: boolean }).enabled;

it('a start whose task writes fail leaves the reaper on, and the reaper opens the run a minute later', async () => {
  const real = h.deps.store.putTasks.bind(h.deps.store);
  h.deps.store.putTasks = async () => {
    throw new Error('injected: BatchWriteItem throttled');
  };
  await expect(startRun(h.deps, cfg)).rejects.toThrow('injected');
  h.deps.store.putTasks = real;
  const pointer = await h.deps.store.getPointer();
  const runId = pointer?.run_id as number;
  expect((await getRunOrThrow(h.deps, runId)).status).toBe('creating');
  expect(scheduleOn()).toBe(true);

  h.advance(61_000);
  const report = await reap(h.deps);
  expect(report.actions).toContain('resumed a run left creating: opened');
  expect((await getRunOrThrow(h.deps, runId)).status).toBe('running');
  const claim = await claimTask(h.deps, { provider: 'local', instance_type: 'a', runner_id: 'r1' }, runId);
  expect(claim.status).toBe('assigned');
});

it('a start whose schedule cannot be switched on is undone: the next start succeeds', async () => {
  const real = h.deps.schedule.setEnabled.bind(h.deps.schedule);
  h.deps.schedule.setEnabled = async () => {
    throw new Error('injected: EnableRule throttled');
  };
  await expect(startRun(h.deps, cfg)).rejects.toThrow('injected');
  h.deps.schedule.setEnabled = real;
  const again = await startRun(h.deps, cfg);
  expect((await getRunOrThrow(h.deps, again.run_id)).status).toBe('running');
});

it('two concurrent starts without run_id: one 201, the other 409 run_in_progress', async () => {
  const api = client(h.stack.apiUrl);
  const answers = await Promise.all([api.start({}), api.start({})]);
  const statuses = answers.map((a) => a.status).sort();
  expect(statuses).toEqual([201, 409]);
  const won = answers.find((a) => a.status === 201)?.body as { run_id: number };
  // which words the loser gets depends on when it read the pointer: before the winner wrote it
  // (both raced for it), or after (the winner's run was already there, creating or running)
  expect(answers.find((a) => a.status === 409)?.body).toMatchObject({
    error: 'run_in_progress',
    message: expect.stringMatching(
      new RegExp(`started at the same time as run|run ${won.run_id} is (creating|running); wait`),
    ),
  });
});

it('two starts without run_id that both read before either writes: the loser is told they raced, and leaves nothing', async () => {
  const bothRead = barrier(2);
  const deps: Deps = { ...h.deps, store: hooked(h.deps.store, { createRun: bothRead }) };
  const answers = await Promise.allSettled([startRun(deps, cfg), startRun(deps, cfg)]);
  expect(answers.map((a) => a.status).sort()).toEqual(['fulfilled', 'rejected']);
  const won = answers.find((a) => a.status === 'fulfilled') as PromiseFulfilledResult<{ run_id: number }>;
  const lost = answers.find((a) => a.status === 'rejected') as PromiseRejectedResult;
  expect(lost.reason).toMatchObject({
    code: 'run_in_progress',
    message: expect.stringMatching(/started at the same time as run/),
  });
  expect(await h.deps.store.getPointer()).toEqual({ run_id: won.value.run_id, active: true });
  expect((await getRunOrThrow(h.deps, won.value.run_id)).status).toBe('running');
});

it('concurrent POST /run/assemble: one starts the assembly, the others answer 409', async () => {
  const { run_id } = await startRun(h.deps, cfg);
  await stopRun(h.deps);
  await failAssembly(h.deps, run_id, 'injected: the archive write failed');
  const api = client(h.stack.apiUrl);
  const answers = await Promise.all(
    [1, 2, 3].map(() => api.call('POST', '/run/assemble', { key: OPERATOR })),
  );
  expect(answers.map((a) => a.status).sort()).toEqual([202, 409, 409]);
  expect(h.assembly.starts).toEqual([String(run_id), `${run_id}-2`]);
});

it('a late fail or complete from a runner the reaper already failed answers 409 task_finished', async () => {
  const { run_id } = await startRun(h.deps, cfg);
  const claim = await claimTask(h.deps, { provider: 'local', instance_type: 'a', runner_id: 'r1' }, run_id);
  if (claim.status !== 'assigned') throw new Error(`expected a task, got ${claim.status}`);
  const id = claim.task.id;
  await heartbeat(h.deps, id, { runner_id: 'r1', status: 'running' });
  h.advance(h.deps.settings.heartbeatTimeoutSeconds * 1000 + 10_000);
  expect((await reap(h.deps)).reaped).toEqual([id]);

  const api = client(h.stack.apiUrl);
  const fail = await api.fail(id, 'r1', 'benchmark_failed', { debug_mode: true });
  expect(fail.status).toBe(409);
  expect(fail.body).toMatchObject({ error: 'task_finished' });
  const complete = await api.complete(id, 'r1');
  expect(complete.status).toBe(409);
  expect(complete.body).toMatchObject({ error: 'task_finished' });

  const task = (await h.allTasks(run_id)).find((t) => t.id === id);
  expect(task).toMatchObject({ status: 'failed', error_type: 'heartbeat_timeout', debug_mode: false });
});

it("a repeat of a runner's own fail still succeeds (its first answer was lost)", async () => {
  const { run_id } = await startRun(h.deps, cfg);
  const claim = await claimTask(h.deps, { provider: 'local', instance_type: 'a', runner_id: 'r1' }, run_id);
  if (claim.status !== 'assigned') throw new Error(`expected a task, got ${claim.status}`);
  const api = client(h.stack.apiUrl);
  const extra = { attempt: claim.task.attempt };
  const first = await api.fail(claim.task.id, 'r1', 'benchmark_failed', extra);
  const repeat = await api.fail(claim.task.id, 'r1', 'benchmark_failed', extra);
  expect([first.status, repeat.status]).toEqual([200, 200]);
});

it("a repeat of a runner's fail that queued another attempt succeeds too, and queues nothing more", async () => {
  const { run_id } = await startRun(h.deps, { ...cfg, runs_per_instance_type: 1, max_attempts: 3 });
  const who = (runner: string) => ({ provider: 'local' as const, instance_type: 'a', runner_id: runner });
  const claim = await claimTask(h.deps, who('r1'), run_id);
  if (claim.status !== 'assigned') throw new Error(`expected a task, got ${claim.status}`);
  const api = client(h.stack.apiUrl);
  const first = await api.fail(claim.task.id, 'r1', 'docker_error', { attempt: 1 });
  const repeat = await api.fail(claim.task.id, 'r1', 'docker_error', { attempt: 1 });
  expect([first.status, repeat.status]).toEqual([200, 200]);
  // r2 takes attempt 2; r1's fail, repeated once more, still changes nothing
  const second = await claimTask(h.deps, who('r2'), run_id);
  expect(second).toMatchObject({ status: 'assigned', task: { attempt: 2 } });
  expect((await api.fail(claim.task.id, 'r1', 'docker_error', { attempt: 1 })).status).toBe(200);
  expect((await h.allTasks(run_id))[0]).toMatchObject({ status: 'claimed', runner_id: 'r2', attempt: 2 });
  expect((await getRunOrThrow(h.deps, run_id)).retry['local:a']).toEqual([]);
  // a different report from r1 for that attempt is still refused
  expect((await api.fail(claim.task.id, 'r1', 'benchmark_failed', { attempt: 1 })).status).toBe(409);
});

it('a reaper pass that switches the schedule off as the next run starts leaves it on for that run', async () => {
  const a = await startRun(h.deps, { ...cfg, runs_per_instance_type: 1 });
  await stopRun(h.deps);
  await completeAssembly(h.deps, a.run_id, `runs/${a.run_id}/results.tar.gz`);
  // a pass reads the ended run A; its switch-off is slow (throttled), and run B starts meanwhile
  const real = h.deps.schedule.setEnabled.bind(h.deps.schedule);
  const off = gate();
  let held = false;
  h.deps.schedule.setEnabled = async (on: boolean) => {
    if (!on && !held) {
      held = true;
      await off.wait();
    }
    return real(on);
  };
  const pass = reap(h.deps);
  await off.reached;
  const b = await startRun(h.deps, cfg);
  off.release();
  await pass;
  expect((await getRunOrThrow(h.deps, b.run_id)).status).toBe('running');
  expect(scheduleOn()).toBe(true);
});

it('two concurrent starts with their own run ids: the later id cannot take over while the earlier run is active', async () => {
  // both read the pointer (no run) before either writes; run 100 becomes current first
  const bothRead = barrier(2);
  const deps: Deps = {
    ...h.deps,
    store: hooked(h.deps.store, {
      createRun: bothRead,
      acquirePointer: async (runId) => {
        while (runId === 101 && (await h.deps.store.getPointer())?.run_id !== 100)
          await new Promise((r) => setTimeout(r, 5));
      },
    }),
  };
  const answers = await Promise.allSettled([
    startRun(deps, { ...cfg, run_id: 100 }),
    startRun(deps, { ...cfg, run_id: 101 }),
  ]);
  expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'rejected']);
  expect(answers[1]).toMatchObject({ reason: { code: 'run_in_progress' } });
  expect(await h.deps.store.getPointer()).toEqual({ run_id: 100, active: true });
  expect(await h.deps.store.getRun(101)).toBeUndefined();
});

it('a late finalize of an assembly already marked failed changes nothing: the run stays assembly_failed', async () => {
  const { run_id } = await startRun(h.deps, cfg);
  await stopRun(h.deps);
  await failAssembly(h.deps, run_id, 'the execution timed out');
  // the timed-out execution's last step still lands
  await completeAssembly(h.deps, run_id, `runs/${run_id}/results.tar.gz`);
  expect(await getRunOrThrow(h.deps, run_id)).toMatchObject({
    status: 'assembly_failed',
    assembly_error: 'the execution timed out',
  });
});
