// /run/stop racing the last complete (issue 10, chaos runs), each branch made to happen, not hoped
// for: the stop sent first (the complete must then be refused 409 task_finished, the task and the
// run end cancelled), the complete landed first (the run completes; a stop of a run that is no
// longer in progress is a 404 not_found, DESIGN "Stop" and core/runs.ts stopRun), and each
// interleaving of the two handlers, forced by a gate on the store the handlers share. Two rounds put
// a real runner process on the last task: one stopped while its complete is on its way, one while it
// retries its upload with S3 down; the stop is timed by the task's heartbeat status. A final test
// checks every forced branch was taken. Each round must be consistent: exactly one of the two
// settles the last task, the answers agree with what is stored, and the run ends with its archive,
// counters equal to a recount and a manifest that agrees. The rounds sent truly concurrently, which
// may go either way: stop-race-concurrent.chaos.test.ts.
import { ClaimResponse, type TaskView } from '../../lambdas/shared/contract';
import { OPERATOR, upload, waitFor } from '../helpers/api';
import { expectDrained, loggedLine, type RunnerChild, spawnRunner, tasksOf } from './helpers';
import { gate, reachedWithin } from './race-gates';
import { stopRaceRounds } from './stop-race-rounds';

const race = stopRaceRounds();
const { children, lastTaskOpen, sendComplete, sendStop, expectOneWinner } = race;

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

/** How the rounds that may go either way went: printed by the last test. */
const concurrent: string[] = [];

/** What the store says of the run's archive now (the key, not a presigned URL). */
const archiveKeyOf = async (runId: number): Promise<string | null | undefined> =>
  (await race.stack.deps.store.getRun(runId))?.archive_key;

describe('forced: one request after the other', () => {
  it('stop first: the complete is refused 409 task_finished, the task and the run end cancelled', async () => {
    const r = await lastTaskOpen('sf');
    const stop = await sendStop();
    expect(stop.status).toBe(200);
    const done = await sendComplete(r);
    expect(done.status).toBe(409);
    // fail is refused the same way: the stop settled the task
    expect((await race.api.fail(r.last, 'sr-2')).body).toMatchObject({ error: 'task_finished' });
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
    const again = await race.api.call('POST', '/run/stop', { key: OPERATOR, body: { run_id: r.runId } });
    expect(again).toEqual({
      status: 404,
      body: { error: 'not_found', message: `no run in progress: run ${r.runId} is already complete` },
    });
    expect((await race.api.run()).body.status).toBe('complete');
    expect(await archiveKeyOf(r.runId)).toBe(archive);
    taken.add('complete first');
  }, 60_000);
});

describe('forced: one request held inside the API while the other lands', () => {
  it('a complete held past its S3 check while the stop lands: refused 409, the task cancelled', async () => {
    const r = await lastTaskOpen('ga');
    const held = gate(
      race.stack.deps.store,
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
      race.stack.deps.store,
      'setRunStatus',
      'the drain of the run',
      (runId, _from, to, fields) => runId === r.runId && to === 'assembling' && !fields?.stopped,
    );
    const done = sendComplete(r);
    await reachedWithin(held);
    expect((await tasksOf(race.stack)).find((t) => t.id === r.last)?.status).toBe('completed');
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
      race.stack.deps.store,
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

describe('a real runner process on the last task', () => {
  /** The msg of each --json line the runner logged. */
  const messages = (child: RunnerChild): string[] =>
    child.lines.filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { msg: string }).msg);

  /** A run of two tasks of `type` whose first is completed over HTTP: the runner gets the last. */
  async function firstDone(type: string): Promise<{ runId: number; first: number }> {
    const runId = race.nextRunId();
    expect((await race.api.start({ runs_per_instance_type: 2, local: [type], run_id: runId })).status).toBe(
      201,
    );
    const c = ClaimResponse.parse((await race.api.claim(runId, type, 'sr-1')).body);
    if (c.status !== 'assigned') throw new Error(`expected a task, got ${c.status}`);
    await upload(c.presigned_urls.result);
    expect((await race.api.complete(c.task.id, 'sr-1')).status).toBe(200);
    return { runId, first: c.task.id };
  }

  /** The runner's task once its heartbeats say `status` (polled; the runner beats every 0.5 s). */
  const taskReading = (host: string, status: TaskView['heartbeat_status']): Promise<TaskView> =>
    waitFor(
      `the task of ${host} reading ${status}`,
      async () =>
        (await tasksOf(race.stack)).find(
          (t) => t.runner_id?.startsWith(host) && t.heartbeat_status === status,
        ),
      40_000,
    );

  it('stopped while its complete is on its way (its task reads uploading): refused 409, the runner gives the task up', async () => {
    const { runId } = await firstDone('rh');
    const held = gate(
      race.stack.deps.store,
      'finishTask',
      "the runner's complete",
      (_run, _index, fence, fields) =>
        fence?.runner_id.startsWith('race-held') === true && fields.status === 'completed',
    );
    const runner = spawnRunner(race.stack, runId, 'rh', 'race-held', 0);
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
    const tasks = await expectDrained(
      race.stack,
      runId,
      {},
      { runStatus: 'cancelled', cancelled: [task.id] },
    );
    expect(tasks.find((t) => t.id === task.id)).toMatchObject({
      error_type: 'cancelled',
      s3_result_key: null,
    });
    taken.add("stop lands while a runner's complete is on its way");
  }, 90_000);

  it('stopped the moment its task reads uploading, S3 coming back at once: consistent either way', async () => {
    const { runId } = await firstDone('ru');
    // S3 down from here: the runner's PUTs fail and it retries them (within --max-retry-s 120)
    await race.stack.services.stopS3();
    const runner = spawnRunner(race.stack, runId, 'ru', 'race-upload', 0, { BENCHFLEET_MAX_RETRY_S: '120' });
    children.push(runner);
    await loggedLine(runner, /^upload of result\.tar\.gz failed$/);
    const task = await taskReading('race-upload', 'uploading');
    expect(['claimed', 'running']).toContain(task.status);
    // the stop and S3's return race the runner's next PUT and complete
    const [stop] = await Promise.all([sendStop(), race.stack.services.startS3()]);
    // the run was running (nothing could complete with S3 down): the stop is the one that ends it
    expect(stop).toMatchObject({ status: 200, body: { run_id: runId } });
    expect(await runner.exited).toBe(0);
    const finished = await waitFor('the runner task settled', async () => {
      const t = (await tasksOf(race.stack)).find((x) => x.id === task.id);
      return t?.status === 'completed' || t?.status === 'cancelled' ? t : undefined;
    });
    const completed = finished.status === 'completed';
    const tasks = await expectDrained(
      race.stack,
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
