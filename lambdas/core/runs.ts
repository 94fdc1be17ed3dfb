// Runs: start, read, stop, and the hooks the assembly workflow calls.
import {
  FINISHED_STATUSES,
  type RunConfig,
  type RunView,
  type StartRunResponse,
  type TaskListQuery,
  type TaskListResponse,
} from '../shared/contract';
import { eachLimited } from './each-limited';
import { ConflictError, InvalidInputError, NotFoundError, StaleStateError } from './errors';
import type { Deps, RunRecord, TaskRecord } from './ports';
import { buildRun } from './run-records';
import { countsOf, finishedCount, taskView } from './views';

const ACTIVE_STATUSES = ['creating', 'running', 'assembling'];
/** Task writes in flight at once when a stop or an assembly touches every unfinished task. */
const WRITE_LANES = 8;

/** The current (newest) run, or NotFoundError when none was ever started. */
export async function currentRun(deps: Deps): Promise<RunRecord> {
  const pointer = await deps.store.getPointer();
  const run = pointer && (await deps.store.getRun(pointer.run_id));
  if (!run) throw new NotFoundError('no run has been started yet: POST /run/start creates one');
  return run;
}

export async function getRunOrThrow(deps: Deps, runId: number): Promise<RunRecord> {
  const run = await deps.store.getRun(runId);
  if (!run) throw new NotFoundError(`run ${runId} does not exist`);
  return run;
}

/**
 * Refuses a start while the current run is active (by its status, which also covers a run being
 * assembled again after `assembly_failed`), and releases a pointer whose run ended but whose
 * release was lost (a crash between two writes).
 */
async function settlePointer(deps: Deps): Promise<{ latest: number | undefined }> {
  const pointer = await deps.store.getPointer();
  if (!pointer) return { latest: undefined };
  const run = await deps.store.getRun(pointer.run_id);
  if (run && ACTIVE_STATUSES.includes(run.status)) {
    throw new ConflictError(
      'run_in_progress',
      `run ${run.run_id} is ${run.status}; wait for it to finish or end it with POST /run/stop`,
    );
  }
  if (pointer.active) await deps.store.releasePointer(pointer.run_id);
  return { latest: pointer.run_id };
}

export async function startRun(deps: Deps, cfg: RunConfig): Promise<StartRunResponse> {
  const { latest } = await settlePointer(deps);
  const nowDate = deps.clock();
  let runId = cfg.run_id ?? Math.floor(nowDate.getTime() / 1000);
  if (latest !== undefined && runId <= latest) {
    if (cfg.run_id !== undefined) {
      throw new InvalidInputError([
        `run_id: must be greater than every earlier run's id (latest is ${latest})`,
      ]);
    }
    runId = latest + 1; // two runs started within one second
  }
  const { run, tasks } = buildRun(runId, cfg, nowDate.toISOString());
  const raced = (): ConflictError =>
    new ConflictError('run_in_progress', `another run started at the same time as run ${runId}; try again`);
  try {
    await deps.store.createRun(run);
  } catch (err) {
    if (!(err instanceof StaleStateError)) throw err;
    // an id the client chose is its mistake; an id taken from the clock means a concurrent start won
    if (cfg.run_id === undefined) throw raced();
    throw new InvalidInputError([`run_id: run ${runId} already exists`]);
  }
  try {
    await deps.store.acquirePointer(runId);
  } catch (err) {
    await deps.store.deleteRun(runId);
    throw err instanceof StaleStateError ? raced() : err;
  }
  // The reaper resumes a run left `creating` (a write below failed, or this Lambda died), so it
  // must be switched on before those writes. If it cannot be, the start is undone.
  try {
    await deps.schedule.setEnabled(true);
  } catch (err) {
    await deps.store.releasePointer(runId);
    await deps.store.deleteRun(runId);
    throw err;
  }
  try {
    await finishCreating(deps, run, tasks);
  } catch (err) {
    if (!(err instanceof StaleStateError)) throw err;
    throw new ConflictError(
      'run_in_progress',
      `run ${runId} was stopped while its tasks were being created; it ends cancelled with no results`,
    );
  }
  return {
    run_id: runId,
    tasks_created: tasks.length,
    tasks: tasks.map((t) => ({
      id: t.id,
      provider: t.provider,
      instance_type: t.instance_type,
      run: t.run,
      run_number: t.run,
      status: t.status,
    })),
  };
}

/**
 * Writes the tasks and opens the run for claims. Idempotent: the reaper resumes a run left `creating`.
 * A StaleStateError means the run was stopped meanwhile. The schedule is switched on again at the
 * end: a reaper pass that read the previous, ended run may have switched it off during the start.
 */
export async function finishCreating(deps: Deps, run: RunRecord, tasks?: TaskRecord[]): Promise<void> {
  await deps.store.putTasks(tasks ?? buildRun(run.run_id, run.config, run.created_at).tasks);
  await deps.store.setRunStatus(run.run_id, ['creating'], 'running');
  await deps.schedule.setEnabled(true);
}

export async function getRunView(deps: Deps, withKey: boolean): Promise<RunView> {
  const run = await currentRun(deps);
  const archiveReady = run.archive_key !== null && (run.status === 'complete' || run.status === 'cancelled');
  return {
    run_id: run.run_id,
    status: run.status === 'creating' ? 'running' : run.status,
    ruby_version: run.ruby_version,
    runs_per_instance_type: run.runs_per_instance_type,
    max_attempts: run.max_attempts,
    created_at: run.created_at,
    completed_at: archiveReady ? run.finished_at : null,
    finished_at: run.finished_at,
    tasks: countsOf(run),
    instance_types: run.queues.map((q) => ({
      provider: q.provider,
      instance_type: q.instance_type,
      counts: countsOf(run, q),
    })),
    // presigned afresh on every request: a stored presigned URL would expire
    gzip_url:
      archiveReady && withKey && run.archive_key
        ? await deps.results.presignGet(run.archive_key, deps.settings.downloadUrlTtlSeconds)
        : null,
    archive_key: run.archive_key,
    assembly_error: run.assembly_error,
  };
}

export async function listTaskViews(deps: Deps, query: TaskListQuery): Promise<TaskListResponse> {
  const run = await currentRun(deps);
  const after = query.cursor === undefined ? undefined : Number(query.cursor);
  const page = await deps.store.listTasks(run.run_id, query.limit, after);
  return {
    run_id: run.run_id,
    tasks: page.tasks.map((t) => taskView(t, run)),
    // DynamoDB hands a cursor back whenever a page is full, even the last one: no empty next page
    next_cursor: page.nextIndex === null || page.nextIndex >= run.total - 1 ? null : String(page.nextIndex),
  };
}

/** Every task of a run, a page at a time, in index order. */
export async function* iterateTasks(deps: Deps, runId: number, pageSize = 500): AsyncGenerator<TaskRecord[]> {
  let after: number | undefined;
  for (;;) {
    const page = await deps.store.listTasks(runId, pageSize, after);
    if (page.tasks.length > 0) yield page.tasks;
    if (page.nextIndex === null) return;
    after = page.nextIndex;
  }
}

/** Starts the assembly execution of a run that is `assembling`; safe to call twice (named executions). */
export async function triggerAssembly(deps: Deps, run: RunRecord): Promise<void> {
  const attempt = Math.max(1, run.assembly_attempt);
  const name = attempt === 1 ? String(run.run_id) : `${run.run_id}-${attempt}`;
  await deps.assembly.start(run.run_id, name);
  await deps.store.setExecutionStarted(run.run_id, attempt);
}

/** running -> assembling, exactly once: the conditional status change is the guard. */
export async function drainIfFinished(deps: Deps, run: RunRecord): Promise<void> {
  if (run.status !== 'running' || finishedCount(run) < run.total) return;
  const now = deps.clock().toISOString();
  let assembling: RunRecord;
  try {
    assembling = await deps.store.setRunStatus(run.run_id, ['running'], 'assembling', {
      finished_at: now,
      assembly_started_at: now,
      assembly_attempt: 1,
    });
  } catch (err) {
    if (err instanceof StaleStateError) return; // another writer drained it first
    throw err;
  }
  await triggerAssembly(deps, assembling);
}

export async function stopRun(deps: Deps, runId?: number): Promise<{ message: string; run_id: number }> {
  const run = await currentRun(deps);
  if (runId !== undefined && runId !== run.run_id) {
    throw new NotFoundError(
      `run ${runId} is not in progress: the current run is ${run.run_id} (${run.status}); nothing was stopped`,
    );
  }
  if (run.status !== 'running' && run.status !== 'creating') {
    throw new NotFoundError(`no run in progress: run ${run.run_id} is already ${run.status}`);
  }
  const now = deps.clock().toISOString();
  let stopped: RunRecord;
  try {
    // From here no claim can take a ticket: takeTicket requires status `running`.
    stopped = await deps.store.setRunStatus(run.run_id, ['running', 'creating'], 'assembling', {
      stopped: true,
      finished_at: now,
      assembly_started_at: now,
      assembly_attempt: 1,
    });
  } catch (err) {
    if (err instanceof StaleStateError)
      throw new NotFoundError(`no run in progress: run ${run.run_id} just finished`);
    throw err;
  }
  await cancelActive(deps, stopped);
  await triggerAssembly(deps, stopped);
  return {
    message: `run ${run.run_id} stopped: unfinished tasks are cancelled and the archive is being built from the completed ones`,
    run_id: run.run_id,
  };
}

/** Cancels claimed and running tasks of a stopped run, so their next heartbeat answers `abort`. */
export async function cancelActive(deps: Deps, run: RunRecord): Promise<void> {
  const now = deps.clock().toISOString();
  const unfinished = (await deps.store.queryActive(run.run_id)).filter(
    (t) => t.status === 'claimed' || t.status === 'running' || t.status === 'pending',
  );
  await eachLimited(unfinished, WRITE_LANES, async (t) => {
    await deps.store.finishTask(
      run.run_id,
      t.index,
      null,
      {
        status: 'cancelled',
        finished_at: now,
        error_type: 'cancelled',
        error_message: 'the run was ended early',
      },
      { from: ['pending', 'claimed', 'running'] },
    );
  });
}

/**
 * First step of assembly. For a stopped run, writes `cancelled` to every task still unfinished (and
 * `failed`/no_runner to a no-runner queue's pending tasks), so the task items agree with the counts.
 */
export async function prepareAssembly(deps: Deps, runId: number): Promise<RunRecord> {
  const run = await getRunOrThrow(deps, runId);
  const now = deps.clock().toISOString();
  for await (const page of iterateTasks(deps, runId)) {
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
