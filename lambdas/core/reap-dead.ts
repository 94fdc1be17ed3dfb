// Tasks whose runners are known to be gone, handled at once rather than after the heartbeat timeout:
// `benchfleet local --data-dir` resuming a run knows that the runners of the process that left it
// died with that process. They are queued again (or failed) by the reaper's own rules (reapTask).
import type { Deps, TaskRecord } from './ports';
import { reapTask } from './reap-task';
import { drainIfFinished } from './runs';

export interface DeadRunnersReport {
  requeued: number[];
  reaped: number[];
  /** claimed or running tasks `isDead` did not pick: their runners may be alive */
  others: number[];
  /** one line per task queued again or failed, as the reaper's */
  lines: string[];
}

/**
 * Reaps the current run's claimed and running tasks that `isDead` picks, saying `why` in each
 * task's error message; then drains the run if that finished its last tasks. A task whose runner
 * is alive after all and beats meanwhile is left alone (the writes are conditional).
 */
export async function reapDeadRunners(
  deps: Deps,
  isDead: (t: TaskRecord) => boolean,
  why: string,
): Promise<DeadRunnersReport> {
  const report: DeadRunnersReport = { requeued: [], reaped: [], others: [], lines: [] };
  const pointer = await deps.store.getPointer();
  const run = pointer && (await deps.store.getRun(pointer.run_id));
  if (run?.status !== 'running') return report;
  const now = deps.clock();
  for (const t of await deps.store.queryActive(run.run_id)) {
    if (t.status !== 'claimed' && t.status !== 'running') continue;
    if (!isDead(t)) {
      report.others.push(t.id);
      continue;
    }
    await reapTask(deps, run, t, now, `runner ${t.runner_id ?? '?'} ${why}`, report);
  }
  const fresh = await deps.store.getRun(run.run_id);
  if (fresh) await drainIfFinished(deps, fresh);
  return report;
}
