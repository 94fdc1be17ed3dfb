// How a run ends: the assembly workflow's hooks (prepare, complete, fail), a failed assembly tried
// again, and the reaper schedule switched off once no run needs it.
import { FINISHED_STATUSES } from '../shared/contract';
import { eachLimited } from './each-limited';
import { ConflictError, NotFoundError, StaleStateError } from './errors';
import type { Deps, RunRecord } from './ports';
import {
  ACTIVE_STATUSES,
  currentRun,
  getRunOrThrow,
  iterateTasks,
  triggerAssembly,
  WRITE_LANES,
} from './runs';
import { settleFinished } from './tasks';
import { taskView } from './views';

/**
 * First step of assembly. For a stopped run, writes `cancelled` to every task still unfinished (and
 * `failed`/no_runner to a no-runner queue's pending tasks), so the task items agree with the counts.
 * A finished task still in the active index but not in the run's sets is one whose complete or
 * fail died between its two writes (a Lambda timeout) while a stop ended the run: its bookkeeping
 * is done here, as the reaper does for a running run, since nothing would count it once the run
 * has ended. The others (the tasks a stop cancelled) only leave the active index.
 */
export async function prepareAssembly(deps: Deps, runId: number): Promise<RunRecord> {
  const run = await getRunOrThrow(deps, runId);
  const now = deps.clock().toISOString();
  for await (const page of iterateTasks(deps, runId)) {
    const unsettled = page.filter((t) => t.active && FINISHED_STATUSES.includes(t.status));
    await eachLimited(unsettled, WRITE_LANES, async (t) => {
      const status = t.status as 'completed' | 'failed' | 'cancelled';
      // Counted already (or, cancelled by a stop, counted as the rest): only the index entry is
      // left, and the run item, large and hot, is not rewritten for it.
      if (run[status].has(t.index) || (run.stopped && status === 'cancelled')) {
        await deps.store.clearActive(runId, t.index, status);
      } else await settleFinished(deps, t);
    });
    const unfinished = page.filter((t) => !FINISHED_STATUSES.includes(t.status));
    await eachLimited(unfinished, WRITE_LANES, async (t) => {
      const view = taskView(t, run);
      if (view.status === 'failed' || view.status === 'cancelled') {
        await deps.store.finishTask(
          runId,
          t.index,
          null,
          {
            status: view.status,
            finished_at: now,
            error_type: view.error_type,
            error_message:
              view.error_type === 'no_runner'
                ? `no runner claimed any ${t.instance_type} task within ${run.pending_timeout_minutes} minutes`
                : 'the run was ended early',
          },
          { from: ['pending', 'claimed', 'running'] },
        );
        await deps.store.clearActive(runId, t.index, view.status);
      }
    });
  }
  return getRunOrThrow(deps, runId);
}

export async function completeAssembly(deps: Deps, runId: number, archiveKey: string): Promise<RunRecord> {
  const run = await getRunOrThrow(deps, runId);
  const status = run.stopped ? 'cancelled' : 'complete';
  let done: RunRecord;
  try {
    done = await deps.store.setRunStatus(runId, ['assembling'], status, {
      archive_key: archiveKey,
      assembly_error: null,
      finished_at: run.finished_at ?? deps.clock().toISOString(),
    });
  } catch (err) {
    if (!(err instanceof StaleStateError)) throw err;
    done = await getRunOrThrow(deps, runId); // a repeated finalize: already done
  }
  await endRun(deps, runId);
  return done;
}

export async function failAssembly(deps: Deps, runId: number, reason: string): Promise<RunRecord> {
  let failed: RunRecord;
  try {
    failed = await deps.store.setRunStatus(runId, ['assembling'], 'assembly_failed', {
      assembly_error: reason.slice(0, 2000),
    });
  } catch (err) {
    if (!(err instanceof StaleStateError)) throw err;
    failed = await getRunOrThrow(deps, runId);
  }
  await endRun(deps, runId);
  return failed;
}

async function endRun(deps: Deps, runId: number): Promise<void> {
  await deps.store.releasePointer(runId);
  await switchScheduleOff(deps);
}

/**
 * Switches the reaper schedule off, then looks again. A start makes its run current (createRun,
 * acquirePointer) before it switches the schedule on, so a start whose switch-on landed before
 * this switch-off is seen here, and the schedule goes back on: whatever the interleaving, it ends
 * on while a run is active. Without the second look, a reaper pass or an assembly ending the
 * previous run could leave the next one with no reaper at all.
 */
export async function switchScheduleOff(deps: Deps): Promise<void> {
  await deps.schedule.setEnabled(false);
  const pointer = await deps.store.getPointer();
  const run = pointer && (await deps.store.getRun(pointer.run_id));
  if (run && ACTIVE_STATUSES.includes(run.status)) await deps.schedule.setEnabled(true);
}

/** POST /run/assemble: a run left `assembly_failed` is assembled again as a new execution. */
export async function reassembleRun(deps: Deps): Promise<{ message: string; run_id: number }> {
  const run = await currentRun(deps);
  if (run.status === 'complete' || run.status === 'cancelled') {
    throw new NotFoundError(
      `no run to assemble again: run ${run.run_id} is already ${run.status}, with its archive at ${run.archive_key}`,
    );
  }
  if (run.status !== 'assembly_failed') {
    throw new ConflictError(
      'run_in_progress',
      `run ${run.run_id} is ${run.status}; only an assembly_failed run is assembled again`,
    );
  }
  const pointer = await deps.store.getPointer();
  if (pointer?.run_id !== run.run_id)
    throw new NotFoundError(`run ${run.run_id} is no longer the current run`);
  const attempt = run.assembly_attempt + 1;
  let again: RunRecord;
  try {
    again = await deps.store.setRunStatus(run.run_id, ['assembly_failed'], 'assembling', {
      assembly_attempt: attempt,
      assembly_started_at: deps.clock().toISOString(),
      execution_started: false,
      assembly_error: null,
    });
  } catch (err) {
    if (!(err instanceof StaleStateError)) throw err;
    throw new ConflictError(
      'run_in_progress',
      `assembly of run ${run.run_id} was just started again by another request; watch GET /run`,
    );
  }
  await deps.schedule.setEnabled(true);
  await triggerAssembly(deps, again);
  return { message: `assembly of run ${run.run_id} started again (attempt ${attempt})`, run_id: run.run_id };
}
