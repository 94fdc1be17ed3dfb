// How stored records read to clients: per-status counts derived from the run item alone (GET /run
// reads one item), and tasks as the read routes show them.
import type { TaskCounts, TaskView } from '../shared/contract';
import { RETRY_GEN_FACTOR } from '../shared/table';
import { type QueueDef, queueKey, type RunRecord, type TaskRecord } from './ports';

const countIn = (set: Set<number>, lo: number, hi: number): number => {
  if (lo === 0 && hi >= Number.MAX_SAFE_INTEGER) return set.size;
  let n = 0;
  for (const i of set) if (i >= lo && i < hi) n++;
  return n;
};

/**
 * Counts for the whole run, or for one queue. Finished statuses come from the run's sets; pending
 * from the unissued tickets plus retries waiting; running from its set; claimed is the rest, so the
 * counts always add up to `total`. After a stop, everything not completed or failed is cancelled.
 */
export function countsOf(run: RunRecord, queue?: QueueDef): TaskCounts {
  const lo = queue ? queue.base : 0;
  const hi = queue ? queue.base + queue.count : Number.MAX_SAFE_INTEGER;
  const total = queue ? queue.count : run.total;
  const completed = countIn(run.completed, lo, hi);
  const failed = countIn(run.failed, lo, hi);
  if (run.stopped) {
    return {
      total,
      pending: 0,
      claimed: 0,
      running: 0,
      completed,
      failed,
      cancelled: Math.max(0, total - completed - failed),
    };
  }
  const cancelled = countIn(run.cancelled, lo, hi);
  const running = countIn(run.running, lo, hi);
  let pending = 0;
  for (const q of queue ? [queue] : run.queues) {
    const k = queueKey(q);
    pending += q.base + q.count - (run.next[k] ?? q.base) + (run.retry[k]?.length ?? 0);
  }
  const claimed = Math.max(0, total - pending - running - completed - failed - cancelled);
  return { total, pending, claimed, running, completed, failed, cancelled };
}

export const finishedCount = (run: RunRecord): number =>
  run.completed.size + run.failed.size + run.cancelled.size;

export const retryEntry = (gen: number, index: number): number => gen * RETRY_GEN_FACTOR + index;
export const splitRetryEntry = (entry: number): { gen: number; index: number } => ({
  gen: Math.floor(entry / RETRY_GEN_FACTOR),
  index: entry % RETRY_GEN_FACTOR,
});

export function queueOfTask(run: RunRecord, index: number): QueueDef | undefined {
  return run.queues.find((q) => index >= q.base && index < q.base + q.count);
}

/**
 * A task as clients see it. A stopped run's unfinished tasks read as cancelled, and a queue failed as
 * `no_runner` reads as failed, even before the assembly's first step has written that to each item.
 */
export function taskView(t: TaskRecord, run?: RunRecord): TaskView {
  let status = t.status;
  let error_type = t.error_type;
  const unfinished = status === 'pending' || status === 'claimed' || status === 'running';
  if (run && unfinished) {
    const q = queueOfTask(run, t.index);
    if (q && run.no_runner[queueKey(q)] && status === 'pending') {
      status = 'failed';
      error_type = 'no_runner';
    } else if (run.stopped) {
      status = 'cancelled';
      error_type = 'cancelled';
    }
  }
  return {
    id: t.id,
    run_id: t.run_id,
    provider: t.provider,
    instance_type: t.instance_type,
    run: t.run,
    run_number: t.run,
    status,
    attempt: t.attempt,
    runner_id: t.runner_id,
    claimed_at: t.claimed_at,
    heartbeat_at: t.heartbeat_at,
    heartbeat_status: t.heartbeat_status,
    heartbeat_message: t.heartbeat_message,
    current_benchmark: t.current_benchmark,
    progress_pct: t.progress_pct,
    finished_at: t.finished_at,
    error_type,
    error_message: t.error_message,
    s3_result_key: t.s3_result_key,
    s3_error_key: t.s3_error_key,
    debug_mode: t.debug_mode,
  };
}
