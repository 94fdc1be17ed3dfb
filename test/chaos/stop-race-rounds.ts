// What the stop-race chaos tests share (stop-race.chaos.test.ts, the forced branches, and
// stop-race-concurrent.chaos.test.ts): a local stack with a short heartbeat timeout and reaper
// interval, put back in order after each round, a new run whose last task is open, and the check
// that exactly one of its complete and the stop settled it. Apart from helpers.ts, which every
// chaos test shares.
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { ClaimResponse, type TaskView } from '../../lambdas/shared/contract';
import { type Answer, client, OPERATOR, startTestStack, upload, waitFor } from '../helpers/api';
import { expectDrained, type RunnerChild } from './helpers';
import { removeGates } from './race-gates';

// short by configuration (the defaults are 120 s and 60 s): the reaper runs beside every round; the
// timeout leaves a loaded machine room between a round's last heartbeat and its race
const HEARTBEAT_TIMEOUT_S = 10;
const REAPER_INTERVAL_S = 1;

export interface Round {
  runId: number;
  /** the first task, completed by sr-1 */
  first: number;
  /** the last task: claimed by sr-2, running, its result uploaded, not completed yet */
  last: number;
}

export type Outcome =
  | 'stop won the task'
  | 'complete won the task, stop ended the run'
  | 'complete drained the run';

/**
 * Registers the test file's hooks: the stack for the whole file, and after each test its gates
 * removed, its runner processes (pushed to `children`) killed, S3 back and its run ended. The
 * stack and the API client hold from beforeAll on.
 */
export function stopRaceRounds() {
  let stack: LocalStack;
  let api: ReturnType<typeof client>;
  const children: RunnerChild[] = [];
  let nextRunId = Math.floor(Date.now() / 1000);

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

  return {
    get stack(): LocalStack {
      return stack;
    },
    get api(): ReturnType<typeof client> {
      return api;
    },
    children,
    /** A run id no earlier round of the file used. */
    nextRunId: (): number => nextRunId++,
    lastTaskOpen,
    sendComplete,
    sendStop,
    expectOneWinner,
  };
}
