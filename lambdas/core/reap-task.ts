// How the reaper takes a task from a runner that is gone (silent past the heartbeat timeout, or known
// dead): queued again while attempts or refunds remain, else failed. Also used at once for runners
// known to be dead (reap-dead.ts), and by the reaper's no_runner failures (failAs).
import { RETRYABLE_ERROR_TYPES } from '../shared/contract';
import type { Deps, RunRecord, TaskRecord } from './ports';
import type { ReapReport } from './reaper';
import { settleFinished, settleRequeued } from './run-sets';

/** How often one task's claim is given back before a silent runner counts as a failed attempt. */
export const MAX_REFUNDS = 2;

/**
 * A claimed or running task whose runner is gone: queued again while attempts (or refunds) remain,
 * else failed as heartbeat_timeout. Each write is conditional on the heartbeat the caller read, so
 * a runner that beat meanwhile keeps its task.
 */
export async function reapTask(
  deps: Deps,
  run: RunRecord,
  t: TaskRecord,
  now: Date,
  message: string,
  report: Pick<ReapReport, 'reaped' | 'requeued' | 'lines'>,
): Promise<void> {
  const task = `task ${t.id} (${t.instance_type} run ${t.run}, attempt ${t.attempt} of ${t.max_attempts})`;
  // A claim never followed by a heartbeat never started: its runner most likely never got the
  // answer (a lost response, then a retried claim that took another task). It costs no attempt.
  const neverStarted = t.status === 'claimed' && t.heartbeat_at === t.claimed_at;
  const refund = neverStarted && t.refunds < MAX_REFUNDS;
  if (refund || (RETRYABLE_ERROR_TYPES.includes('heartbeat_timeout') && t.attempt < t.max_attempts)) {
    // conditional on the heartbeat not having moved since we read it
    const requeued = await deps.store.requeueTask(
      run.run_id,
      t.index,
      { status: ['claimed', 'running'], gen: t.gen, heartbeatAt: t.heartbeat_at },
      {
        requeued_at: now.toISOString(),
        requeued_by: null, // the reaper's: no runner's repeated fail matches it
        error_type: 'heartbeat_timeout',
        error_message: refund
          ? `runner ${t.runner_id ?? '?'} claimed the task at ${t.claimed_at} but never sent a heartbeat (its claim answer was probably lost); requeued without using an attempt`
          : message,
        refund,
      },
    );
    if (requeued) {
      await settleRequeued(deps, requeued);
      report.requeued.push(t.id);
      report.lines.push(
        refund
          ? `${task}: runner ${t.runner_id ?? '?'} never sent a heartbeat after its claim; queued again without using an attempt`
          : `${task}: ${message}; queued again for another runner`,
      );
    }
    return;
  }
  const failed = await failAs(deps, run, t.index, now, 'heartbeat_timeout', message, {
    heartbeatAt: t.heartbeat_at,
  });
  if (failed) {
    await settleFinished(deps, failed);
    report.reaped.push(t.id);
    report.lines.push(`${task}: ${message}; failed as heartbeat_timeout, no attempt left`);
  }
}

/** A failure the reaper decides (no runner's fence), conditional on what it read. */
export function failAs(
  deps: Deps,
  run: RunRecord,
  index: number,
  now: Date,
  errorType: 'heartbeat_timeout' | 'no_runner',
  message: string,
  expect: Parameters<Deps['store']['finishTask']>[4],
): Promise<TaskRecord | undefined> {
  const fields = {
    status: 'failed' as const,
    finished_at: now.toISOString(),
    error_type: errorType,
    error_message: message,
  };
  return deps.store.finishTask(run.run_id, index, null, fields, expect);
}
