// Tasks that could be stranded with nobody left to run them: a claim whose answer was lost, a claim
// whose task write failed on the last ticket, a retry whose runners all died. Each ends with the task
// run or failed and the run drained, never waiting forever.

import type { Deps } from '../../../lambdas/core/ports';
import { MAX_REFUNDS } from '../../../lambdas/core/reap-task';
import { reap } from '../../../lambdas/core/reaper';
import { getRunOrThrow, startRun } from '../../../lambdas/core/runs';
import { failTask, heartbeat } from '../../../lambdas/core/tasks';
import { type CoreHarness, expectCountsMatch, gate, startCore } from './core-helpers';
import { cfg, runActions, taskOf } from './run-actions';
import { hooked } from './store-hooks';

let h: CoreHarness;
beforeEach(async () => {
  h = await startCore();
});
afterEach(() => h.stack.stop());

const { claim, finish, pastHeartbeatTimeout } = runActions(() => h);
/** The reaper's store, held at the pass's first write about a waiting retry (taking it, or failing it). */
const heldAtFirstRetryWrite = (write: ReturnType<typeof gate>): Deps => {
  let held = false;
  const hold = async (): Promise<void> => {
    if (held) return;
    held = true;
    await write.wait();
  };
  return { ...h.deps, store: hooked(h.deps.store, { takeRetry: hold, finishTask: hold }) };
};

it('a claim whose answer was lost is given back without using an attempt, and the waiting runner runs it', async () => {
  const { run_id } = await startRun(h.deps, cfg());
  const lost = taskOf(await claim(run_id, 'r1')); // the answer never reached r1
  const second = taskOf(await claim(run_id, 'r1')); // r1 retried its claim and got the other task
  await heartbeat(h.deps, second.id, { runner_id: 'r1', status: 'running' });
  await finish(run_id, second.id, 'r1');
  // no tickets left, but a task is claimed and not started: r1 must not leave
  expect(await claim(run_id, 'r1')).toMatchObject({ status: 'wait' });

  pastHeartbeatTimeout();
  const pass = await reap(h.deps);
  expect(pass.requeued).toEqual([lost.id]);
  // the log line an operator reads: which task, whose runner, what became of it
  expect(pass.lines).toEqual([
    expect.stringMatching(
      new RegExp(
        `^task ${lost.id} \\(\\S+ run \\d+, attempt 1 of \\d+\\): runner r1 never sent a heartbeat after its claim; queued again without using an attempt$`,
      ),
    ),
  ]);
  const again = taskOf(await claim(run_id, 'r1'));
  expect(again).toMatchObject({ id: lost.id, attempt: 1 });
  await heartbeat(h.deps, again.id, { runner_id: 'r1', status: 'running', attempt: 1 });
  await finish(run_id, again.id, 'r1');
  expect(await getRunOrThrow(h.deps, run_id)).toMatchObject({ status: 'assembling' });
  expect(await claim(run_id, 'r1')).toEqual({ status: 'done' });
});

it(`gives a silent claim back at most ${MAX_REFUNDS} times, then fails it as heartbeat_timeout`, async () => {
  const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 1 }));
  for (let round = 0; round < MAX_REFUNDS; round++) {
    taskOf(await claim(run_id, `r${round}`));
    pastHeartbeatTimeout();
    expect((await reap(h.deps)).requeued).toHaveLength(1);
  }
  const last = taskOf(await claim(run_id, 'rlast'));
  expect(last.attempt).toBe(1);
  pastHeartbeatTimeout();
  const pass = await reap(h.deps);
  expect(pass.reaped).toEqual([last.id]);
  expect(pass.lines).toEqual([
    expect.stringMatching(
      new RegExp(
        `^task ${last.id} .*: no heartbeat from runner rlast for over \\d+ s \\(last at \\S+\\); failed as heartbeat_timeout, no attempt left$`,
      ),
    ),
  ]);
  const [task] = await h.allTasks(run_id);
  expect(task).toMatchObject({ status: 'failed', error_type: 'heartbeat_timeout', refunds: MAX_REFUNDS });
  expect((await getRunOrThrow(h.deps, run_id)).status).toBe('assembling');
});

it('a claim whose task write failed on the last ticket keeps the runner waiting until the reaper requeues it', async () => {
  const { run_id } = await startRun(h.deps, cfg());
  const first = taskOf(await claim(run_id, 'r1'));
  const real = h.deps.store.claimTask.bind(h.deps.store);
  h.deps.store.claimTask = async () => {
    throw new Error('injected: the task write was throttled');
  };
  await expect(claim(run_id, 'r2')).rejects.toThrow('injected');
  h.deps.store.claimTask = real;
  await heartbeat(h.deps, first.id, { runner_id: 'r1', status: 'running' });
  await finish(run_id, first.id, 'r1');
  expect(await claim(run_id, 'r2')).toMatchObject({ status: 'wait' });

  h.advance(60_000);
  expect((await reap(h.deps)).requeued).toHaveLength(1);
  const stranded = taskOf(await claim(run_id, 'r2'));
  await heartbeat(h.deps, stranded.id, { runner_id: 'r2', status: 'running' });
  await finish(run_id, stranded.id, 'r2');
  expect((await getRunOrThrow(h.deps, run_id)).status).toBe('assembling');
});

it('a retry waits while a runner of its type is busy, and fails as no_runner once none is left', async () => {
  const { run_id } = await startRun(h.deps, cfg({ max_attempts: 2, pending_timeout_minutes: 10 }));
  const dies = taskOf(await claim(run_id, 'r1'));
  const busy = taskOf(await claim(run_id, 'r2'));
  await heartbeat(h.deps, dies.id, { runner_id: 'r1', status: 'running' });
  const beat = () => heartbeat(h.deps, busy.id, { runner_id: 'r2', status: 'running' });
  await beat();

  // r1's VM dies: its task is requeued for attempt 2; r2 is still busy with a long task
  h.advance(h.deps.settings.heartbeatTimeoutSeconds * 1000 - 5_000);
  await beat();
  h.advance(10_000);
  expect((await reap(h.deps)).requeued).toEqual([dies.id]);
  for (let minute = 0; minute < 15; minute++) {
    h.advance(60_000);
    await beat();
    expect((await reap(h.deps)).reaped).toEqual([]);
  }
  // r2 finishes and its VM is gone too: nobody is left to take the retry. The first pass that finds
  // nobody busy cannot tell that from r2 between its complete and its next claim: it only marks.
  await finish(run_id, busy.id, 'r2');
  h.advance(60_000);
  expect((await reap(h.deps)).reaped).toEqual([]);
  h.advance(9 * 60_000);
  expect((await reap(h.deps)).reaped).toEqual([]);
  h.advance(60_000);
  expect((await reap(h.deps)).reaped).toEqual([dies.id]);
  const task = (await h.allTasks(run_id)).find((t) => t.id === dies.id);
  expect(task).toMatchObject({ status: 'failed', error_type: 'no_runner' });
  expect(task?.error_message).toMatch(/no a runner was left to take it within 10 minutes/);
  const run = await getRunOrThrow(h.deps, run_id);
  expect(run.status).toBe('assembling');
  expect(run.retry).toEqual({ 'local:a': [] });
});

it('a retry waits for a live runner between its complete and its next claim, however long it has waited', async () => {
  const { run_id } = await startRun(
    h.deps,
    cfg({ runs_per_instance_type: 3, max_attempts: 2, pending_timeout_minutes: 10 }),
  );
  // one runner, one slot: its first task is interrupted and queued for attempt 2
  const first = taskOf(await claim(run_id, 'r1'));
  await heartbeat(h.deps, first.id, { runner_id: 'r1', status: 'running', attempt: 1 });
  await failTask(h.deps, first.id, { runner_id: 'r1', attempt: 1, error_type: 'interrupted' });
  // tickets come before retries: it takes the next task, a long one, while the retry waits
  const long = taskOf(await claim(run_id, 'r1'));
  expect(long.id).not.toBe(first.id);
  for (let minute = 0; minute < 15; minute++) {
    h.advance(60_000);
    await heartbeat(h.deps, long.id, { runner_id: 'r1', status: 'running', attempt: 1 });
    await reap(h.deps);
  }
  await finish(run_id, long.id, 'r1');
  // a pass lands between r1's complete and its next claim: the retry has waited 15 minutes
  expect((await reap(h.deps)).reaped).toEqual([]);
  expect((await h.allTasks(run_id)).find((t) => t.id === first.id)).toMatchObject({ status: 'pending' });
  const last = taskOf(await claim(run_id, 'r1'));
  await finish(run_id, last.id, 'r1');
  const retry = taskOf(await claim(run_id, 'r1'));
  expect(retry).toMatchObject({ id: first.id, attempt: 2 });
  await finish(run_id, retry.id, 'r1');
  expect((await getRunOrThrow(h.deps, run_id)).status).toBe('assembling');
  expect((await h.allTasks(run_id)).map((t) => t.status)).toEqual(['completed', 'completed', 'completed']);
});

it('a runner that takes a retry and fails it between two passes counts as alive for the other retries', async () => {
  const { run_id } = await startRun(
    h.deps,
    cfg({ runs_per_instance_type: 3, max_attempts: 3, pending_timeout_minutes: 10 }),
  );
  for (let i = 0; i < 2; i++) {
    const t = taskOf(await claim(run_id, 'r1'));
    await failTask(h.deps, t.id, { runner_id: 'r1', attempt: 1, error_type: 'docker_error' });
  }
  const long = taskOf(await claim(run_id, 'r1'));
  await heartbeat(h.deps, long.id, { runner_id: 'r1', status: 'running', attempt: 1 });
  h.advance(60_000);
  await reap(h.deps); // r1 is busy
  await heartbeat(h.deps, long.id, { runner_id: 'r1', status: 'running', attempt: 1 });
  await finish(run_id, long.id, 'r1');
  await reap(h.deps); // nobody busy: the queue is marked
  expect((await getRunOrThrow(h.deps, run_id)).idle['local:a']).toMatchObject({ next: 3 });
  h.advance(9 * 60_000);
  // r1 takes one retry and its docker fails at once again, all between two passes
  const quick = taskOf(await claim(run_id, 'r1'));
  await failTask(h.deps, quick.id, { runner_id: 'r1', attempt: 2, error_type: 'docker_error' });
  h.advance(2 * 60_000);
  // 11 minutes since the mark, but r1 claimed 2 minutes ago: the other retry still waits for it
  expect((await reap(h.deps)).reaped).toEqual([]);
  expect((await h.allTasks(run_id)).filter((t) => t.status === 'pending')).toHaveLength(2);
});

it("a pass's idle mark that lands just after a runner took a retry does not judge that runner later", async () => {
  const { run_id } = await startRun(h.deps, cfg({ max_attempts: 3, pending_timeout_minutes: 10 }));
  for (let i = 0; i < 2; i++) {
    const t = taskOf(await claim(run_id, 'r1'));
    await failTask(h.deps, t.id, { runner_id: 'r1', attempt: 1, error_type: 'docker_error' });
  }
  await reap(h.deps); // checks the tickets taken
  // the next pass finds nobody busy; its mark is written just after r1 takes a retry
  const mark = gate();
  const marking: Deps = { ...h.deps, store: hooked(h.deps.store, { markIdle: () => mark.wait() }) };
  const pass = reap(marking);
  await mark.reached;
  const retry = taskOf(await claim(run_id, 'r1'));
  mark.release();
  await pass;
  for (let minute = 0; minute < 15; minute++) {
    h.advance(60_000);
    await heartbeat(h.deps, retry.id, { runner_id: 'r1', status: 'running', attempt: 2 });
    await reap(h.deps); // r1 is busy: the mark is renewed
  }
  await finish(run_id, retry.id, 'r1');
  // a pass between r1's complete and its next claim: the other retry waits for it
  expect((await reap(h.deps)).reaped).toEqual([]);
  expect(taskOf(await claim(run_id, 'r1'))).toMatchObject({ attempt: 2 });
});

it('a retry taken and requeued again during a reaper pass is not failed by that pass', async () => {
  const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 1, max_attempts: 3 }));
  const first = taskOf(await claim(run_id, 'r1'));
  await failTask(h.deps, first.id, { runner_id: 'r1', attempt: 1, error_type: 'interrupted' });
  await reap(h.deps); // checks the ticket r1 took
  await reap(h.deps); // nobody is busy: marks the queue
  h.advance(31 * 60_000); // nobody took the retry for longer than pending_timeout_minutes
  // the pass pauses at its first write about the retry; meanwhile r2 arrives, takes it, and fails at once
  const write = gate();
  const pass = reap(heldAtFirstRetryWrite(write));
  await write.reached;
  const second = taskOf(await claim(run_id, 'r2'));
  await failTask(h.deps, second.id, { runner_id: 'r2', attempt: 2, error_type: 'docker_error' });
  write.release();
  expect((await pass).reaped).toEqual([]);
  // attempt 3 is waiting for a runner, as r2's fail asked, and the run's sets agree with the task
  const [task] = await h.allTasks(run_id);
  expect(task).toMatchObject({ status: 'pending', attempt: 2, gen: 2 });
  const run = await getRunOrThrow(h.deps, run_id);
  expect(run.status).toBe('running');
  expectCountsMatch(run, await h.allTasks(run_id));
  expect(run.retry['local:a']).toHaveLength(1);
});

it('a type whose runners all died after its first claims: its untaken tasks fail as no_runner and the run drains', async () => {
  const { run_id } = await startRun(
    h.deps,
    cfg({ runs_per_instance_type: 3, max_attempts: 2, pending_timeout_minutes: 10 }),
  );
  const first = taskOf(await claim(run_id, 'r1'));
  await heartbeat(h.deps, first.id, { runner_id: 'r1', status: 'running' });
  // r1's VM dies with two tasks never taken; the reaper runs every minute for two hours
  for (let minute = 0; minute < 120; minute += 1) {
    h.advance(60_000);
    await reap(h.deps);
  }
  const tasks = await h.allTasks(run_id);
  expect(tasks.map((t) => [t.status, t.error_type])).toEqual([
    ['failed', 'no_runner'], // its retry: nobody was left to take it
    ['failed', 'no_runner'],
    ['failed', 'no_runner'],
  ]);
  expect(tasks[1]?.error_message).toMatch(/no a runner took a task since .*: 2 of its tasks never started/);
  const run = await getRunOrThrow(h.deps, run_id);
  expect(run.status).toBe('assembling');
  expectCountsMatch(run, tasks);
});

it('a live runner between its complete and its next claim does not make its type look abandoned', async () => {
  const { run_id } = await startRun(h.deps, cfg({ runs_per_instance_type: 3, pending_timeout_minutes: 10 }));
  const t0 = taskOf(await claim(run_id, 'r1'));
  await heartbeat(h.deps, t0.id, { runner_id: 'r1', status: 'running' });
  h.advance(40 * 60_000); // a long task; its heartbeats are on time
  await heartbeat(h.deps, t0.id, { runner_id: 'r1', status: 'running' });
  await finish(run_id, t0.id, 'r1');
  await reap(h.deps); // lands between r1's complete and its next claim: the queue looks idle now
  const t1 = taskOf(await claim(run_id, 'r1'));
  await finish(run_id, t1.id, 'r1');
  h.advance(11 * 60_000); // past pending_timeout_minutes since that pass
  expect((await reap(h.deps)).no_runner).toEqual([]); // the claim since then voided the mark
  const t2 = taskOf(await claim(run_id, 'r1'));
  await finish(run_id, t2.id, 'r1');
  expect((await getRunOrThrow(h.deps, run_id)).status).toBe('assembling');
  expect((await h.allTasks(run_id)).map((t) => t.status)).toEqual(['completed', 'completed', 'completed']);
});

it("a runner that takes one retry during a pass that judged its type abandoned saves the type's other retries", async () => {
  const { run_id } = await startRun(h.deps, cfg({ max_attempts: 2, pending_timeout_minutes: 10 }));
  for (let i = 0; i < 2; i++) {
    const t = taskOf(await claim(run_id, 'r1'));
    await failTask(h.deps, t.id, { runner_id: 'r1', attempt: 1, error_type: 'docker_error' });
  }
  await reap(h.deps); // checks the tickets taken
  await reap(h.deps); // nobody is busy: marks the queue
  h.advance(11 * 60_000); // both retries and the mark are older than pending_timeout_minutes
  // the pass has read the old mark; it is held at its first write about a retry while r2 arrives
  const write = gate();
  const pass = reap(heldAtFirstRetryWrite(write));
  await write.reached;
  const taken = taskOf(await claim(run_id, 'r2')); // its claim clears the mark: a runner is alive
  write.release();
  expect((await pass).reaped).toEqual([]);
  const tasks = await h.allTasks(run_id);
  expect(tasks.map((t) => (t.id === taken.id ? 'claimed' : 'pending'))).toEqual(tasks.map((t) => t.status));
  const run = await getRunOrThrow(h.deps, run_id);
  expect(run.status).toBe('running');
  expectCountsMatch(run, tasks);
  // r2 finishes the one it took, then takes the other
  await finish(run_id, taken.id, 'r2');
  const other = taskOf(await claim(run_id, 'r2'));
  expect(other).toMatchObject({ attempt: 2 });
  expect(other.id).not.toBe(taken.id);
});
