// The reaper, run every minute while a run is active. It reads the run item and the sparse `active`
// index (never a scan) and:
// - fails (or requeues, when attempts remain) tasks whose heartbeat is older than the timeout;
// - finishes the bookkeeping of any transition whose handler died between its two writes;
// - requeues a task whose claim took a ticket but died before writing the task;
// - gives back the attempt of a claim whose runner never heartbeated (its claim answer was lost);
// - fails as `no_runner`: a queue nobody ever claimed from within `pending_timeout_minutes`, and,
//   once no runner of a queue has shown life for that time, its retries and the tasks nobody took;
// - drains the run, restarts an assembly that never started, resumes a run left `creating`.
import { FINISHED_STATUSES, type TaskCounts } from '../shared/contract';
import { StaleStateError } from './errors';
import { PASS_RESERVE_MS, PassBudget, PassOutOfTime } from './pass-budget';
import { type Deps, type IdleMark, queueKey, type RunRecord, type TaskRecord } from './ports';
import { failAs, reapTask } from './reap-task';
import { failAssembly, switchScheduleOff } from './run-assembly';
import { markRunning, settleFinished, settleRequeued } from './run-sets';
import {
  cancelActive,
  drainIfFinished,
  finishCreating,
  RESUME_CREATING_AFTER_S,
  triggerAssembly,
} from './runs';
import { countsOf, retryEntry } from './views';

export interface ReapReport {
  run_id: number | null;
  status: string | null;
  reaped: number[];
  requeued: number[];
  repaired: number[];
  no_runner: string[];
  actions: string[];
  /** the run's counts as this pass found them (queue depth for metrics) */
  counts: TaskCounts | null;
  /** one line per task queued again or failed: which, whose runner, why, what became of it */
  lines: string[];
}

/**
 * How long after a stop the reaper still sweeps the stopped run's ticketed tasks (cancelActive): a
 * stop that died between its writes, or a claim the active index showed late, is caught within it.
 */
const TICKET_SWEEP_S = 600;

const ageSeconds = (now: Date, iso: string | null): number =>
  iso ? (now.getTime() - Date.parse(iso)) / 1000 : Number.POSITIVE_INFINITY;

/**
 * One pass. `timeLeftMs` (the Lambda's remaining time) bounds it: a pass over more work than it
 * has time for (a mass heartbeat timeout over thousands of tasks) stops between two tasks, says so
 * in `actions`, and the next pass, a minute later, takes up what is left.
 */
export async function reap(deps: Deps, timeLeftMs?: () => number): Promise<ReapReport> {
  const budget = new PassBudget(timeLeftMs);
  const report: ReapReport = {
    run_id: null,
    status: null,
    reaped: [],
    requeued: [],
    repaired: [],
    no_runner: [],
    actions: [],
    counts: null,
    lines: [],
  };
  const pointer = await deps.store.getPointer();
  const run = pointer && (await deps.store.getRun(pointer.run_id));
  if (!pointer || !run) {
    await switchScheduleOff(deps);
    report.actions.push('no run: schedule disabled');
    return report;
  }
  report.run_id = run.run_id;
  report.status = run.status;
  report.counts = countsOf(run);
  const now = deps.clock();

  if (run.status === 'creating') {
    if (ageSeconds(now, run.created_at) > RESUME_CREATING_AFTER_S) {
      const outcome = await finishCreating(deps, run);
      report.actions.push(`resumed a run left creating: ${outcome}`);
    }
    return report;
  }
  if (run.status === 'complete' || run.status === 'cancelled' || run.status === 'assembly_failed') {
    if (pointer.active) await deps.store.releasePointer(run.run_id);
    await switchScheduleOff(deps);
    report.actions.push('run ended: schedule disabled');
    return report;
  }

  const active = await deps.store.queryActive(run.run_id);
  try {
    await repairAndReap(deps, run, active, now, report, budget);
  } catch (err) {
    if (!(err instanceof PassOutOfTime)) throw err;
    report.actions.push(
      `pass stopped early, with under ${PASS_RESERVE_MS / 1000} s of its time left, after ${budget.steps} task(s) and queue(s); the next pass takes up the rest`,
    );
  }
  return report;
}

/** The pass over a run that is running or assembling: every step that writes, task by task. */
async function repairAndReap(
  deps: Deps,
  run: RunRecord,
  active: TaskRecord[],
  now: Date,
  report: ReapReport,
  budget: PassBudget,
): Promise<void> {
  for (const t of active) {
    if (FINISHED_STATUSES.includes(t.status)) {
      budget.check();
      await settleFinished(deps, t);
      report.repaired.push(t.id);
    }
  }
  if (run.status === 'assembling') {
    // the ticket sweep only near the stop: later, what it cancelled has left every index and set,
    // and each pass would write to every such task again for nothing
    if (run.stopped)
      await cancelActive(deps, run, ageSeconds(now, run.assembly_started_at) <= TICKET_SWEEP_S);
    if (
      !run.execution_started &&
      ageSeconds(now, run.assembly_started_at) > deps.settings.assemblyRestartSeconds
    ) {
      await triggerAssembly(deps, run);
      report.actions.push('started an assembly that had not started');
    } else if (
      run.execution_started &&
      ageSeconds(now, run.assembly_started_at) > deps.settings.assemblyGiveUpSeconds
    ) {
      // the execution died without reaching MarkFailed (it times out after 2 h): never hang in assembling
      await failAssembly(
        deps,
        run.run_id,
        `assembly did not finish within ${Math.round(deps.settings.assemblyGiveUpSeconds / 60)} minutes; POST /run/assemble tries again`,
      );
      report.actions.push('gave up on an assembly that never finished');
    }
    return;
  }

  for (const t of active) {
    budget.check();
    if (t.status === 'claimed' || t.status === 'running') await reapIfSilent(deps, run, t, now, report);
    else if (t.status === 'pending') await repairRequeue(deps, run, t, report);
  }
  await dropStaleRetryEntries(deps, run, active, budget);
  await repairStrandedTickets(deps, run, now, report, budget);
  await failUnclaimedQueues(deps, run, now, report, budget);
  await failAbandonedQueues(deps, run, active, now, report, budget);
  const fresh = await deps.store.getRun(run.run_id);
  if (fresh) await drainIfFinished(deps, fresh);
}

async function reapIfSilent(deps: Deps, run: RunRecord, t: TaskRecord, now: Date, report: ReapReport) {
  const last = t.heartbeat_at ?? t.claimed_at;
  if (ageSeconds(now, last) <= deps.settings.heartbeatTimeoutSeconds) {
    if (t.status === 'running' && !run.running.has(t.index)) {
      await markRunning(deps, run.run_id, t.index);
      report.repaired.push(t.id);
    }
    return;
  }
  const message = `no heartbeat from runner ${t.runner_id ?? '?'} for over ${deps.settings.heartbeatTimeoutSeconds} s (last at ${last ?? 'never'})`;
  await reapTask(deps, run, t, now, message, report);
}

/**
 * A pending task in the active index must be in its queue's retry set; if not, a requeue or a retry
 * claim died midway. Who requeued it and why are kept: the runner whose fail died may repeat it.
 */
async function repairRequeue(deps: Deps, run: RunRecord, t: TaskRecord, report: ReapReport): Promise<void> {
  const q = queueKey(t);
  if ((run.retry[q] ?? []).includes(retryEntry(t.gen, t.index))) return;
  const requeued = await deps.store.requeueTask(
    run.run_id,
    t.index,
    { status: ['pending'], gen: t.gen },
    { requeued_at: t.requeued_at ?? deps.clock().toISOString() },
  );
  if (requeued) {
    await settleRequeued(deps, requeued);
    report.requeued.push(t.id);
  }
}

/** Retry entries whose task moved on (claimed, or requeued again under a newer gen) are dropped. */
async function dropStaleRetryEntries(
  deps: Deps,
  run: RunRecord,
  active: TaskRecord[],
  budget: PassBudget,
): Promise<void> {
  const live = new Set(active.filter((t) => t.status === 'pending').map((t) => retryEntry(t.gen, t.index)));
  for (const [q, entries] of Object.entries(run.retry)) {
    for (const e of entries) {
      if (live.has(e)) continue;
      budget.check();
      await deps.store.takeRetry(run.run_id, q, e);
    }
  }
}

/**
 * A claim is two writes: the ticket on the run item, then the task. Tickets below `verified` are
 * known to have reached their task; the ones issued since are checked here, and a task still
 * pending under its first generation is requeued (its claimer died, or will lose on `gen`).
 */
async function repairStrandedTickets(
  deps: Deps,
  run: RunRecord,
  now: Date,
  report: ReapReport,
  budget: PassBudget,
): Promise<void> {
  for (const q of run.queues) {
    const k = queueKey(q);
    if (run.no_runner[k]) continue;
    const from = run.verified[k] ?? q.base;
    const to = run.next[k] ?? q.base;
    if (to <= from) continue;
    budget.check();
    const tasks = await deps.store.getTasks(
      run.run_id,
      Array.from({ length: to - from }, (_, i) => from + i),
    );
    for (const t of tasks) {
      if (t.status !== 'pending' || t.gen !== 0) continue;
      budget.check();
      const requeued = await deps.store.requeueTask(
        run.run_id,
        t.index,
        { status: ['pending'], gen: 0 },
        { requeued_at: now.toISOString() },
      );
      if (requeued) {
        await settleRequeued(deps, requeued);
        report.requeued.push(t.id);
      }
    }
    await deps.store.advanceVerified(run.run_id, k, from, to);
  }
}

async function failUnclaimedQueues(
  deps: Deps,
  run: RunRecord,
  now: Date,
  report: ReapReport,
  budget: PassBudget,
): Promise<void> {
  if (ageSeconds(now, run.created_at) < run.pending_timeout_minutes * 60) return;
  for (const q of run.queues) {
    const k = queueKey(q);
    if (run.no_runner[k] || (run.next[k] ?? q.base) !== q.base) continue;
    budget.check();
    try {
      await deps.store.markNoRunner(run.run_id, q);
    } catch (err) {
      if (err instanceof StaleStateError) continue; // a runner claimed meanwhile
      throw err;
    }
    report.no_runner.push(q.instance_type);
    const message = `no runner claimed any ${q.instance_type} task within ${run.pending_timeout_minutes} minutes of the start (quota, capacity, or VMs that never booted?)`;
    for (let i = q.base; i < q.base + q.count; i++) {
      budget.check();
      const failed = await failAs(deps, run, i, now, 'no_runner', message, { from: ['pending'] });
      if (failed) await deps.store.clearActive(run.run_id, i, 'failed');
    }
  }
}

/** Queues with a task claimed or running: a runner of that type is alive. */
function busyQueues(active: TaskRecord[]): Set<string> {
  return new Set(active.filter((t) => t.status === 'claimed' || t.status === 'running').map(queueKey));
}

/** The retries waiting in each queue: pending tasks requeued for another attempt. */
function waitingRetries(active: TaskRecord[]): Map<string, TaskRecord[]> {
  const byQueue = new Map<string, TaskRecord[]>();
  for (const t of active) {
    if (t.status !== 'pending' || t.requeued_at === null) continue;
    const k = queueKey(t);
    byQueue.set(k, [...(byQueue.get(k) ?? []), t]);
  }
  return byQueue;
}

/**
 * A type whose runners all died after its first claim: none of its tasks is claimed or running, and
 * tickets are left or retries wait. A live runner is never away for long (it takes a ticket while
 * one is left, then a retry), but the moment between its complete and its next claim looks the same,
 * and a retry may wait for as long as the tasks ahead of it take (tickets come first). So the first
 * pass that finds the queue so marks the `next` it saw, and a pass `pending_timeout_minutes` later
 * that finds the mark still there fails the untaken tasks and the waiting retries as `no_runner`.
 * Any claim in between voids the mark: a ticket moves `next`, a retry taken clears it. A pass that
 * finds the queue busy under a mark (written as a claim raced it) renews it, so an old mark never
 * judges a runner that was busy all along.
 */
async function failAbandonedQueues(
  deps: Deps,
  run: RunRecord,
  active: TaskRecord[],
  now: Date,
  report: ReapReport,
  budget: PassBudget,
): Promise<void> {
  const busy = busyQueues(active);
  const waiting = waitingRetries(active); // grouped once, not filtered per queue
  for (const q of run.queues) {
    const k = queueKey(q);
    const next = run.next[k] ?? q.base;
    const end = q.base + q.count;
    const mark = run.idle[k]?.next === next ? run.idle[k] : undefined;
    if (busy.has(k)) {
      if (mark) await deps.store.markIdle(run.run_id, q, next, now.toISOString());
      continue;
    }
    const untaken = !run.no_runner[k] && next > q.base && next < end;
    const retries = waiting.get(k) ?? [];
    if ((!untaken && retries.length === 0) || (run.verified[k] ?? q.base) < next) continue;
    if (!mark) {
      await deps.store.markIdle(run.run_id, q, next, now.toISOString());
      continue;
    }
    if (ageSeconds(now, mark.at) < run.pending_timeout_minutes * 60) continue;
    if (untaken) {
      try {
        await deps.store.markNoRunner(run.run_id, q, next);
      } catch (err) {
        if (err instanceof StaleStateError) continue; // a runner claimed meanwhile
        throw err;
      }
      report.no_runner.push(q.instance_type);
      const message = `no ${q.instance_type} runner took a task since ${mark.at} (its VMs died or left?): ${end - next} of its tasks never started`;
      for (let i = next; i < end; i++) {
        budget.check();
        const failed = await failAs(deps, run, i, now, 'no_runner', message, { from: ['pending'], gen: 0 });
        if (failed) await deps.store.clearActive(run.run_id, i, 'failed');
      }
    }
    for (const t of retries) {
      budget.check();
      await failUntakenRetry(deps, run, t, mark, now, report);
    }
  }
}

/**
 * A retry of a queue nobody is left in, once it has waited `pending_timeout_minutes` itself. Its
 * entry is taken first, and only while the idle mark this pass judged by is still there: a runner
 * that takes any retry of the queue clears the mark in that same write, so a claim that lands while
 * the pass runs saves every retry the pass has not taken yet. (A pass that dies once it took the
 * entry leaves a pending task outside the retry set: the next pass requeues it, keeping its clock.)
 */
async function failUntakenRetry(
  deps: Deps,
  run: RunRecord,
  t: TaskRecord,
  mark: IdleMark,
  now: Date,
  report: ReapReport,
): Promise<void> {
  if (ageSeconds(now, t.requeued_at) < run.pending_timeout_minutes * 60) return;
  const entry = retryEntry(t.gen, t.index);
  // refused: a runner took a retry since the pass read the mark (it is alive), or took this one
  if (!(await deps.store.takeRetry(run.run_id, queueKey(t), entry, mark))) return;
  const message = `requeued at ${t.requeued_at} for another attempt, but no ${t.instance_type} runner was left to take it within ${run.pending_timeout_minutes} minutes`;
  // of the generation read: another pass that requeued it meanwhile made a new one, not ours to judge
  const failed = await failAs(deps, run, t.index, now, 'no_runner', message, {
    from: ['pending'],
    gen: t.gen,
  });
  if (!failed) return;
  await settleFinished(deps, failed);
  report.reaped.push(t.id);
}
