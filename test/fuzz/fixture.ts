// The state the fuzz runs against: an old run that was stopped (its tasks cancelled, one of them
// held by HOLDER) and a current run whose tasks are in every state a runner can meet: claimed and
// running by HOLDER (one with its result uploaded, one on its second attempt), held by OTHER,
// pending (one sent back for another attempt), completed and failed. Every request of the fuzz
// meets exactly this state: a legitimate write is checked, then undone (state.ts restoreItems).
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import type { TaskRecord } from '../../lambdas/core/ports';
import {
  type ClaimResponse,
  type RunView,
  splitTaskId,
  storageKeys,
  type TaskListResponse,
  type TaskView,
} from '../../lambdas/shared/contract';
import { client, OPERATOR, RUNNER, upload, waitFor } from '../helpers/api';

/** The runner that holds most tasks. */
export const HOLDER = 'holder-0';
/** Another runner, holding tasks of its own. */
export const OTHER = 'runner-b';

/** The current run's queues (provider `local`), `runs_per_instance_type` tasks each. */
export const QUEUES = {
  /**
   * #0 HOLDER's second attempt, claimed (the first failed heartbeat_timeout); #1 running by HOLDER
   * with its result uploaded; #2 running by OTHER
   */
  held: 'fz-held',
  /** #0 sent back for another attempt (HOLDER's fail `interrupted`), #1 and #2 never claimed */
  pending: 'fz-pending',
  /** #0 completed by HOLDER, #1 failed by HOLDER (benchmark_failed, with its error file), #2 failed by OTHER */
  done: 'fz-done',
} as const;
export const OLD_QUEUE = 'fz-old';
export const PROVIDER = 'local';
export const MAX_ATTEMPTS = 3;

export interface Fixture {
  operatorKey: string;
  runnerKey: string;
  oldRunId: number;
  runId: number;
  /** every task of both runs, by id, as stored */
  tasks: Map<number, TaskRecord>;
  /** the bucket's keys of result and error files */
  objects: Set<string>;
  /** GET /run as the operator sees it, and as anyone else does */
  runView: { operator: RunView; other: RunView };
  /** GET /run/tasks, every task of the current run */
  taskViews: TaskView[];
}

export async function setUpFixture(stack: LocalStack): Promise<Fixture> {
  const api = client(stack.apiUrl);
  const ok = <T extends { status: number }>(what: string, answer: T, status = 200): T => {
    if (answer.status !== status)
      throw new Error(`fixture: ${what} answered ${answer.status}: ${JSON.stringify(answer)}`);
    return answer;
  };
  const claim = async (runId: number, queue: string, runner: string) => {
    const answer = ok(`claim ${queue} as ${runner}`, await api.claim(runId, queue, runner));
    const body = answer.body as ClaimResponse;
    if (body.status !== 'assigned') throw new Error(`fixture: claim ${queue} got ${body.status}`);
    return body;
  };

  // The old run: one task claimed by HOLDER, one pending, then stopped (both cancelled) and assembled.
  const old = ok(
    'start the old run',
    await api.start({ runs_per_instance_type: 2, local: [OLD_QUEUE] }),
    201,
  );
  const oldRunId = old.body.run_id;
  await claim(oldRunId, OLD_QUEUE, HOLDER);
  ok('stop the old run', await api.call('POST', '/run/stop', { key: OPERATOR }));
  await stack.assemblyIdle();
  await waitFor('the old run to end', async () => (await api.run()).body.status === 'cancelled');

  const started = ok(
    'start the current run',
    await api.start({
      runs_per_instance_type: 3,
      local: Object.values(QUEUES),
      max_attempts: MAX_ATTEMPTS,
    }),
    201,
  );
  const runId = started.body.run_id;

  // held: HOLDER's first attempt of #0 fails heartbeat_timeout and HOLDER claims the second one
  const held0 = await claim(runId, QUEUES.held, HOLDER);
  const held1 = await claim(runId, QUEUES.held, HOLDER);
  const held2 = await claim(runId, QUEUES.held, OTHER);
  ok('requeue', await api.fail(held0.task.id, HOLDER, 'heartbeat_timeout', { attempt: 1 }));
  const again = await claim(runId, QUEUES.held, HOLDER);
  if (again.task.id !== held0.task.id || again.task.attempt !== 2)
    throw new Error(`fixture: the retry went to task ${again.task.id} attempt ${again.task.attempt}`);
  ok('heartbeat', await api.heartbeat(held1.task.id, HOLDER, { progress_pct: 40 }));
  await upload(held1.presigned_urls.result);
  ok('heartbeat', await api.heartbeat(held2.task.id, OTHER));

  // pending: the first one sent back for another attempt; two never claimed
  const pending0 = await claim(runId, QUEUES.pending, HOLDER);
  ok('requeue', await api.fail(pending0.task.id, HOLDER, 'interrupted'));

  // done: completed by HOLDER, failed by HOLDER with its error file, failed by OTHER
  const done0 = await claim(runId, QUEUES.done, HOLDER);
  const done1 = await claim(runId, QUEUES.done, HOLDER);
  const done2 = await claim(runId, QUEUES.done, OTHER);
  await upload(done0.presigned_urls.result);
  ok('complete', await api.complete(done0.task.id, HOLDER));
  await upload(done1.presigned_urls.error);
  ok('fail', await api.fail(done1.task.id, HOLDER, 'benchmark_failed'));
  ok('fail', await api.fail(done2.task.id, OTHER, 'timeout'));

  const tasks = new Map<number, TaskRecord>();
  for (const [id, total] of [
    [oldRunId, 2],
    [runId, 3 * Object.keys(QUEUES).length],
  ] as const) {
    const records = await stack.deps.store.getTasks(
      id,
      Array.from({ length: total }, (_, i) => i),
    );
    if (records.length !== total) throw new Error(`fixture: run ${id} has ${records.length} tasks`);
    for (const t of records) tasks.set(t.id, t);
  }
  // what the generators aim at must be there: were a change of the API to leave the fixture
  // without, say, a task on its second attempt, the fuzz would quietly stop reaching it
  const states = [...tasks.values()]
    .map((t) => `${t.instance_type}#${t.index} ${t.status} ${t.runner_id} ${t.attempt}`)
    .sort();
  const wanted = [
    `${OLD_QUEUE}#0 cancelled ${HOLDER} 1`,
    `${OLD_QUEUE}#1 cancelled null 0`,
    `${QUEUES.done}#6 completed ${HOLDER} 1`,
    `${QUEUES.done}#7 failed ${HOLDER} 1`,
    `${QUEUES.done}#8 failed ${OTHER} 1`,
    `${QUEUES.held}#0 claimed ${HOLDER} 2`,
    `${QUEUES.held}#1 running ${HOLDER} 1`,
    `${QUEUES.held}#2 running ${OTHER} 1`,
    `${QUEUES.pending}#3 pending null 1`,
    `${QUEUES.pending}#4 pending null 0`,
    `${QUEUES.pending}#5 pending null 0`,
  ].sort();
  if (JSON.stringify(states) !== JSON.stringify(wanted))
    throw new Error(`fixture: the tasks are ${JSON.stringify(states)}, not ${JSON.stringify(wanted)}`);
  const objects = new Set<string>();
  for (const t of tasks.values()) {
    for (const key of [storageKeys.result(t.run_id, t.id), storageKeys.error(t.run_id, t.id)]) {
      if (await stack.deps.results.exists(key)) objects.add(key);
    }
  }
  const list = ok('list', await api.call<TaskListResponse>('GET', '/run/tasks?limit=1000'));
  const taskViews = list.body.tasks.sort((a, b) => splitTaskId(a.id).index - splitTaskId(b.id).index);
  return {
    operatorKey: OPERATOR,
    runnerKey: RUNNER,
    oldRunId,
    runId,
    tasks,
    objects,
    runView: {
      operator: ok('run', await api.call<RunView>('GET', '/run', { key: OPERATOR })).body,
      other: ok('run', await api.call<RunView>('GET', '/run')).body,
    },
    taskViews,
  };
}

/** The fixture's tasks in the states the fuzz aims at, for the generators. */
export function tasksByState(
  fx: Fixture,
): Record<'heldByHolder' | 'heldByOther' | 'pending' | 'finished', TaskRecord[]> {
  const all = [...fx.tasks.values()];
  const held = (t: TaskRecord) => t.status === 'claimed' || t.status === 'running';
  return {
    heldByHolder: all.filter((t) => held(t) && t.runner_id === HOLDER),
    heldByOther: all.filter((t) => held(t) && t.runner_id === OTHER),
    pending: all.filter((t) => t.status === 'pending'),
    finished: all.filter(
      (t) => t.status === 'completed' || t.status === 'failed' || t.status === 'cancelled',
    ),
  };
}
