// /run/stop racing the last complete (issue 10, chaos runs). Each branch is made to happen, not
// hoped for: the stop sent first (the complete must then be refused 409 task_finished, the task
// and the run end cancelled), the complete landed first (the run completes; a stop of a run that is
// no longer in progress is a 404 not_found, DESIGN "Stop" and core/runs.ts stopRun), and each
// interleaving of the two handlers, forced by a gate on the store the handlers share. Rounds that
// are truly concurrent (sent in the same tick; released together at the gate) may go either way
// but must be consistent: exactly one of the two settles the last task, the answers agree with
// what is stored, and the run ends with its archive, counters equal to a recount and a manifest
// that agrees. Two rounds put a real runner process on the last task: one stopped while its complete
// is on its way, one while it retries its upload with S3 down; the stop is timed by the task's
// heartbeat status. A final test checks every forced branch was taken.
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { ClaimResponse, type TaskView } from '../../lambdas/shared/contract';
import { type Answer, client, OPERATOR, startTestStack, upload, waitFor } from '../helpers/api';
import { expectDrained, loggedLine, type RunnerChild, spawnRunner, tasksOf } from './helpers';
import { gate, openTogether, reachedWithin, removeGates } from './race-gates';

// short by configuration (the defaults are 120 s and 60 s): the reaper runs beside every round; the
// timeout leaves a loaded machine room between a round's last heartbeat and its race
const HEARTBEAT_TIMEOUT_S = 10;
const REAPER_INTERVAL_S = 1;

let stack: LocalStack;
let api: ReturnType<typeof client>;
const children: RunnerChild[] = [];
let nextRunId = Math.floor(Date.now() / 1000);

/** The forced branches: each test below adds the one it made happen; the last test wants them all. */
const FORCED = [
  'stop first',
  'complete first',
  'stop lands while the complete is past its S3 check',
  "stop lands while the complete's drain is on its way",
  'complete drains the run while the stop is on its way',
  "stop lands while a runner's complete is on its way",
  'stop sent while a runner retries its upload',
] as const;
const taken = new Set<string>();

type Outcome = 'stop won the task' | 'complete won the task, stop ended the run' | 'complete drained the run';
/** How the concurrent rounds went (either winner is fine): printed by the last test. */
const concurrent: string[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    heartbeatTimeoutS: HEARTBEAT_TIMEOUT_S,
    reaperIntervalS: REAPER_INTERVAL_S,
    waitRetrySeconds: 1,
  });
  api = client(stack.apiUrl);
}, 60_000);
afterEach(async () => {
  removeGates();
  for (const c of children.splice(0)) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await c.exited;
  }
  // a round that failed must not take the next one down: S3 back, its run ended
  await stack.services.startS3();
  await sendStop();
  await waitFor(
    'the last run ended',
    async () => !['running', 'assembling'].includes((await api.run()).body.status),
  );
});
afterAll(async () => {
  await stack?.stop();
});

interface Round {
  runId: number;
  /** the first task, completed by sr-1 */
  first: number;
  /** the last task: claimed by sr-2, running, its result uploaded, not completed yet */
  last: number;
}

/** A new run of two tasks: the first completed, the last running with its result uploaded. */
async function lastTaskOpen(type: string): Promise<Round> {
  const runId = nextRunId++;
  const started = await api.start({ runs_per_instance_type: 2, local: [type], run_id: runId });
  expect(started.status).toBe(201);
  const ids: number[] = [];
  for (const runner of ['sr-1', 'sr-2']) {
    const c = ClaimResponse.parse((await api.claim(runId, type, runner)).body);
    if (c.status !== 'assigned') throw new Error(`expected a task, got ${c.status}`);
    expect((await api.heartbeat(c.task.id, runner)).body).toEqual({ action: 'continue' });
    await upload(c.presigned_urls.result);
    ids.push(c.task.id);
  }
  const [first, last] = ids as [number, number];
  expect((await api.complete(first, 'sr-1')).status).toBe(200);
  // a fresh heartbeat: the reaper has no reason to touch the last task
  expect((await api.heartbeat(last, 'sr-2')).body).toEqual({ action: 'continue' });
  return { runId, first, last };
}

const sendComplete = (r: Round): Promise<Answer> => api.complete(r.last, 'sr-2');
const sendStop = (): Promise<Answer> => api.call('POST', '/run/stop', { key: OPERATOR });

/**
 * The answers of the complete and the stop, checked against each other and against what is stored:
 * exactly one of them settled the last task, and the run drained with everything accounted for.
 */
async function expectOneWinner(r: Round, done: Answer, stop: Answer): Promise<Outcome> {
  const seen = `complete ${done.status} ${JSON.stringify(done.body)}, stop ${stop.status} ${JSON.stringify(stop.body)}`;
  // the complete: 200, or 409 task_finished because the stop cancelled the task before it
  expect({ seen, status: [200, 409].includes(done.status) }).toEqual({ seen, status: true });
  if (done.status === 409)
    expect(done.body).toEqual({
      error: 'task_finished',
      message: expect.stringMatching(/ is (already )?cancelled$/),
    });
  // the stop: 200 naming the run, or 404 not_found: the run had already drained (no run in progress)
  expect({ seen, status: [200, 404].includes(stop.status) }).toEqual({ seen, status: true });
  if (stop.status === 200) expect(stop.body).toEqual({ message: expect.any(String), run_id: r.runId });
  else
    expect(stop.body).toEqual({
      error: 'not_found',
      message: expect.stringMatching(
        new RegExp(`^no run in progress: run ${r.runId} (is already (assembling|complete)|just finished)$`),
      ),
    });
  // never both refused: one of them settled the last task
  expect({ seen, bothRefused: done.status === 409 && stop.status === 404 }).toEqual({
    seen,
    bothRefused: false,
  });
  const stopWon = done.status === 409;
  const runStatus = stop.status === 200 ? 'cancelled' : 'complete';
  const tasks = await expectDrained(stack, r.runId, {}, { runStatus, cancelled: stopWon ? [r.last] : [] });
  const last = tasks.find((t) => t.id === r.last) as TaskView;
  if (stopWon)
    expect(last).toMatchObject({ status: 'cancelled', error_type: 'cancelled', s3_result_key: null });
  else
    expect(last).toMatchObject({
      status: 'completed',
      error_type: null,
      runner_id: 'sr-2',
      s3_result_key: `runs/${r.runId}/tasks/${r.last}/result.tar.gz`,
    });
  // the loser changed nothing, and the runner's next word about the task is answered accordingly
  const beat = await api.heartbeat(r.last, 'sr-2');
  if (stopWon) expect(beat).toEqual({ status: 200, body: { action: 'abort' } });
  else expect(beat).toMatchObject({ status: 409, body: { error: 'task_finished' } });
  expect((await api.complete(r.last, 'sr-2')).status).toBe(stopWon ? 409 : 200); // a repeat: same answer
  const view = (await api.run()).body;
  expect(view.status).toBe(runStatus);
  expect(view.tasks).toEqual({
    total: 2,
    pending: 0,
    claimed: 0,
    running: 0,
    completed: stopWon ? 1 : 2,
    failed: 0,
    cancelled: stopWon ? 1 : 0,
  });
  if (stopWon) return 'stop won the task';
  return stop.status === 200 ? 'complete won the task, stop ended the run' : 'complete drained the run';
}

/** What the store says of the run's archive now (the key, not a presigned URL). */
const archiveKeyOf = async (runId: number): Promise<string | null | undefined> =>
  (await stack.deps.store.getRun(runId))?.archive_key;

describe('forced: one request after the other', () => {
  it('stop first: the complete is refused 409 task_finished, the task and the run end cancelled', async () => {
    const r = await lastTaskOpen('sf');
    const stop = await sendStop();
    expect(stop.status).toBe(200);
    const done = await sendComplete(r);
    expect(done.status).toBe(409);
    // fail is refused the same way: the stop settled the task
    expect((await api.fail(r.last, 'sr-2')).body).toMatchObject({ error: 'task_finished' });
    expect(await expectOneWinner(r, done, stop)).toBe('stop won the task');
    taken.add('stop first');
  }, 60_000);

  it('complete first: the run completes, a stop after it is 404 not_found and changes nothing', async () => {
    const r = await lastTaskOpen('cf');
    const done = await sendComplete(r);
    expect(done.status).toBe(200);
    const stop = await sendStop();
    expect(stop.status).toBe(404);
    expect(await expectOneWinner(r, done, stop)).toBe('complete drained the run');
    // once the archive is there, a stop (also one naming the run) is still refused and changes nothing
    const archive = await archiveKeyOf(r.runId);
    expect(archive).toBe(`runs/${r.runId}/results.tar.gz`);
    const again = await api.call('POST', '/run/stop', { key: OPERATOR, body: { run_id: r.runId } });
    expect(again).toEqual({
      status: 404,
      body: { error: 'not_found', message: `no run in progress: run ${r.runId} is already complete` },
    });
    expect((await api.run()).body.status).toBe('complete');
    expect(await archiveKeyOf(r.runId)).toBe(archive);
    taken.add('complete first');
  }, 60_000);
});

describe('forced: one request held inside the API while the other lands', () => {
  it('a complete held past its S3 check while the stop lands: refused 409, the task cancelled', async () => {
    const r = await lastTaskOpen('ga');
    const held = gate(
      stack.deps.store,
      'finishTask',
      "the complete's task write",
      (_run, _index, fence, fields) => fence !== null && fields.status === 'completed',
    );
    const done = sendComplete(r);
    await reachedWithin(held);
    const stop = await sendStop();
    expect(stop.status).toBe(200);
    held.open();
    expect((await done).status).toBe(409);
    expect(await expectOneWinner(r, await done, stop)).toBe('stop won the task');
    taken.add('stop lands while the complete is past its S3 check');
  }, 60_000);

  it('a complete whose task write landed, its drain held while the stop lands: the task completed, the run cancelled', async () => {
    const r = await lastTaskOpen('gb');
    // every drain (the complete's, or the reaper's repair of it) waits: only the stop moves the run
    const held = gate(
      stack.deps.store,
      'setRunStatus',
      'the drain of the run',
      (runId, _from, to, fields) => runId === r.runId && to === 'assembling' && !fields?.stopped,
    );
    const done = sendComplete(r);
    await reachedWithin(held);
    expect((await tasksOf(stack)).find((t) => t.id === r.last)?.status).toBe('completed');
    const stop = await sendStop();
    expect(stop.status).toBe(200);
    held.open();
    expect((await done).status).toBe(200);
    expect(await expectOneWinner(r, await done, stop)).toBe('complete won the task, stop ended the run');
    taken.add("stop lands while the complete's drain is on its way");
  }, 60_000);

  it('a stop held after it read the run as running while the complete drains it: 404, the run completes', async () => {
    const r = await lastTaskOpen('gc');
    const held = gate(
      stack.deps.store,
      'setRunStatus',
      "the stop's run write",
      (runId, _from, _to, fields) => runId === r.runId && fields?.stopped === true,
    );
    const stop = sendStop();
    await reachedWithin(held);
    const done = await sendComplete(r);
    expect(done.status).toBe(200);
    held.open();
    expect(await stop).toMatchObject({
      status: 404,
      body: { message: `no run in progress: run ${r.runId} just finished` },
    });
    expect(await expectOneWinner(r, done, await stop)).toBe('complete drained the run');
    taken.add('complete drains the run while the stop is on its way');
  }, 60_000);
});

describe('concurrent: either may win, exactly one does', () => {
  it('sent in the same tick, in either order', async () => {
    for (const stopFirst of [false, true]) {
      const r = await lastTaskOpen(stopFirst ? 'ts' : 'tc');
      const [done, stop] = stopFirst
        ? await Promise.all([sendStop(), sendComplete(r)]).then(([s, d]) => [d, s] as const)
        : await Promise.all([sendComplete(r), sendStop()]);
      concurrent.push(`same tick: ${await expectOneWinner(r, done, stop)}`);
    }
  }, 90_000);

  it("released together at the last task's item: the complete's write against the stop's cancel", async () => {
    for (const type of ['ra', 'rb']) {
      const r = await lastTaskOpen(type);
      const completing = gate(
        stack.deps.store,
        'finishTask',
        "the complete's task write",
        (_run, _index, fence, fields) => fence !== null && fields.status === 'completed',
      );
      const cancelling = gate(
        stack.deps.store,
        'finishTask',
        "the stop's cancel of the task",
        (runId, _index, fence, fields) =>
          runId === r.runId && fence === null && fields.status === 'cancelled',
      );
      const answers = Promise.all([sendComplete(r), sendStop()]);
      // both were waiting at the same moment: opened in the same tick (each first in one round), the
      // store decides
      await (type === 'ra' ? openTogether(completing, cancelling) : openTogether(cancelling, completing));
      const [done, stop] = await answers;
      concurrent.push(`at the task item: ${await expectOneWinner(r, done, stop)}`);
      removeGates();
    }
  }, 90_000);

  it("released together at each one's first write: the complete's task write against the stop's run write", async () => {
    for (const type of ['wa']) {
      const r = await lastTaskOpen(type);
      const completing = gate(
        stack.deps.store,
        'finishTask',
        "the complete's task write",
        (_run, _index, fence, fields) => fence !== null && fields.status === 'completed',
      );
      const stopping = gate(
        stack.deps.store,
        'setRunStatus',
        "the stop's run write",
        (runId, _from, _to, fields) => runId === r.runId && fields?.stopped === true,
      );
      const answers = Promise.all([sendComplete(r), sendStop()]);
      await openTogether(completing, stopping);
      const [done, stop] = await answers;
      concurrent.push(`at the first writes: ${await expectOneWinner(r, done, stop)}`);
      removeGates();
    }
  }, 90_000);
});

describe('a real runner process on the last task', () => {
  /** The msg of each --json line the runner logged. */
  const messages = (child: RunnerChild): string[] =>
    child.lines.filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { msg: string }).msg);

  /** A run of two tasks of `type` whose first is completed over HTTP: the runner gets the last. */
  async function firstDone(type: string): Promise<{ runId: number; first: number }> {
    const runId = nextRunId++;
    expect((await api.start({ runs_per_instance_type: 2, local: [type], run_id: runId })).status).toBe(201);
    const c = ClaimResponse.parse((await api.claim(runId, type, 'sr-1')).body);
    if (c.status !== 'assigned') throw new Error(`expected a task, got ${c.status}`);
    await upload(c.presigned_urls.result);
    expect((await api.complete(c.task.id, 'sr-1')).status).toBe(200);
    return { runId, first: c.task.id };
  }

  /** The runner's task once its heartbeats say `status` (polled; the runner beats every 0.5 s). */
  const taskReading = (host: string, status: TaskView['heartbeat_status']): Promise<TaskView> =>
    waitFor(
      `the task of ${host} reading ${status}`,
      async () =>
        (await tasksOf(stack)).find((t) => t.runner_id?.startsWith(host) && t.heartbeat_status === status),
      40_000,
    );

  it('stopped while its complete is on its way (its task reads uploading): refused 409, the runner gives the task up', async () => {
    const { runId } = await firstDone('rh');
    const held = gate(
      stack.deps.store,
      'finishTask',
      "the runner's complete",
      (_run, _index, fence, fields) =>
        fence?.runner_id.startsWith('race-held') === true && fields.status === 'completed',
    );
    const runner = spawnRunner(stack, runId, 'rh', 'race-held', 0);
    children.push(runner);
    await reachedWithin(held, 60_000);
    // its result is uploaded and its complete is in the API; its heartbeats still go on, saying so
    const task = await taskReading('race-held', 'uploading');
    expect(['claimed', 'running']).toContain(task.status); // a quick task may never beat 'running'
    const stop = await sendStop();
    expect(stop).toMatchObject({ status: 200, body: { run_id: runId } });
    held.open();
    await loggedLine(
      runner,
      new RegExp(`^task ${task.id} was not completed by this runner: complete answered 409 task_finished`),
    );
    expect(await runner.exited).toBe(0);
    expect(messages(runner)).not.toContain(`task ${task.id} completed`);
    expect(runner.lines.join('\n')).not.toMatch(/never acknowledged/);
    const tasks = await expectDrained(stack, runId, {}, { runStatus: 'cancelled', cancelled: [task.id] });
    expect(tasks.find((t) => t.id === task.id)).toMatchObject({
      error_type: 'cancelled',
      s3_result_key: null,
    });
    taken.add("stop lands while a runner's complete is on its way");
  }, 90_000);

  it('stopped the moment its task reads uploading, S3 coming back at once: consistent either way', async () => {
    const { runId } = await firstDone('ru');
    // S3 down from here: the runner's PUTs fail and it retries them (within --max-retry-s 120)
    await stack.services.stopS3();
    const runner = spawnRunner(stack, runId, 'ru', 'race-upload', 0, { BENCHFLEET_MAX_RETRY_S: '120' });
    children.push(runner);
    await loggedLine(runner, /^upload of result\.tar\.gz failed$/);
    const task = await taskReading('race-upload', 'uploading');
    expect(['claimed', 'running']).toContain(task.status);
    // the stop and S3's return race the runner's next PUT and complete
    const [stop] = await Promise.all([sendStop(), stack.services.startS3()]);
    // the run was running (nothing could complete with S3 down): the stop is the one that ends it
    expect(stop).toMatchObject({ status: 200, body: { run_id: runId } });
    expect(await runner.exited).toBe(0);
    const finished = await waitFor('the runner task settled', async () => {
      const t = (await tasksOf(stack)).find((x) => x.id === task.id);
      return t?.status === 'completed' || t?.status === 'cancelled' ? t : undefined;
    });
    const completed = finished.status === 'completed';
    const tasks = await expectDrained(
      stack,
      runId,
      {},
      { runStatus: 'cancelled', cancelled: completed ? [] : [task.id] },
    );
    // what the runner says matches what is stored
    expect(messages(runner).includes(`task ${task.id} completed`)).toBe(completed);
    if (!completed)
      expect(tasks.find((t) => t.id === task.id)).toMatchObject({
        error_type: 'cancelled',
        s3_result_key: null,
      });
    expect(runner.lines.join('\n')).not.toMatch(/never acknowledged/);
    concurrent.push(`runner uploading: ${completed ? 'its complete won the task' : 'the stop won the task'}`);
    taken.add('stop sent while a runner retries its upload');
  }, 90_000);
});

it('every forced branch was taken', () => {
  console.info(`stop-race: how the concurrent rounds went:\n  ${concurrent.join('\n  ')}`);
  expect({ taken: [...taken].sort(), concurrent }).toEqual({ taken: [...FORCED].sort(), concurrent });
});
