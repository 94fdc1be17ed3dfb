// The run item's side of a task's transitions: after the conditional write on the task (the truth
// of its status), idempotent writes bring the run's sets (GET /run's counts, the retry queues) in
// line with it. Shared by the task routes and the reaper, which repairs what a dead handler left.
import { type Deps, queueKey, type TaskRecord } from './ports';
import { drainIfFinished } from './runs';
import { retryEntry, splitRetryEntry } from './views';

/**
 * Adds a task to the run's running set. A concurrent fail may requeue the task between its
 * promotion and this write (and remove it from the set first), so the task is read back and the
 * add undone when it is no longer running (see agreeRunning).
 */
export async function markRunning(deps: Deps, runId: number, index: number): Promise<void> {
  await deps.store.applyRunSets(runId, { add: { running: [index] } });
  await agreeRunning(deps, runId, index, true);
}

/**
 * After a write that left `index` in the running set (`inSet`) or took it out, reads the task and
 * writes the set again until the two agree. An undo may land after the next attempt was promoted and
 * added in turn, or a late removal after it (a fail's bookkeeping that stalled while the reaper
 * requeued the task and another runner took it): the last writer of the set always reads after its
 * write, so in every interleaving the set ends up agreeing. (Each round needs the task to have
 * changed status in between: few rounds, ever.) `task` is a read already made after the write.
 */
async function agreeRunning(
  deps: Deps,
  runId: number,
  index: number,
  inSet: boolean,
  task?: TaskRecord,
): Promise<void> {
  let read: TaskRecord | undefined = task ?? (await deps.store.getTask(runId, index));
  for (;;) {
    const running = read?.status === 'running';
    if (running === inSet) return;
    inSet = running;
    await deps.store.applyRunSets(
      runId,
      running ? { add: { running: [index] } } : { remove: { running: [index] } },
    );
    read = await deps.store.getTask(runId, index);
  }
}

/** Moves a finished task's index into the run's sets, leaves the active index, and drains the run. */
export async function settleFinished(deps: Deps, task: TaskRecord): Promise<void> {
  const status = task.status as 'completed' | 'failed' | 'cancelled';
  const run = await deps.store.applyRunSets(task.run_id, {
    add: { [status]: [task.index] },
    remove: { running: [task.index] },
  });
  await deps.store.clearActive(task.run_id, task.index, status);
  await drainIfFinished(deps, run);
}

/**
 * A task back to pending: out of the running set, into its queue's retry set. This may land late:
 * two requeues of one task can race (the reaper repairs a requeue it saw midway while the first one
 * settles), or a handler stalled here while the reaper requeued the task and another runner took it
 * for its next attempt. So the task is read back after the write: only the entry of its current
 * generation stays (and only while it is pending, so the pending count never counts a task twice),
 * and a next attempt already running goes back into the running set.
 */
export async function settleRequeued(deps: Deps, task: TaskRecord): Promise<void> {
  const queue = queueKey(task);
  const run = await deps.store.applyRunSets(task.run_id, {
    remove: { running: [task.index] },
    addRetry: [{ queue, entry: retryEntry(task.gen, task.index) }],
  });
  const now = await deps.store.getTask(task.run_id, task.index);
  const valid = now?.status === 'pending' ? retryEntry(now.gen, task.index) : undefined;
  const stale = (run.retry[queue] ?? []).filter(
    (e) => splitRetryEntry(e).index === task.index && e !== valid,
  );
  if (stale.length > 0)
    await deps.store.applyRunSets(task.run_id, { removeRetry: stale.map((entry) => ({ queue, entry })) });
  await agreeRunning(deps, task.run_id, task.index, false, now);
}
