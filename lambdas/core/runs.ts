// Runs: start (and a start resumed), read, stop; how a run ends is in run-assembly.ts.
import type {
  RunConfig,
  RunView,
  StartRunResponse,
  TaskListQuery,
  TaskListResponse,
} from '../shared/contract';
import { eachLimited } from './each-limited';
import { ConflictError, InvalidInputError, NotFoundError, StaleStateError } from './errors';
import { type Deps, queueKey, type RunRecord, type TaskRecord } from './ports';
import { buildRun } from './run-records';
import { fitPage } from './task-pages';
import { countsOf, finishedCount, taskView } from './views';

export const ACTIVE_STATUSES = ['creating', 'running', 'assembling'];
/** Task writes in flight at once when a stop or an assembly touches every unfinished task. */
export const WRITE_LANES = 8;

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
  if ((await finishCreating(deps, run, tasks)) === 'stopped') {
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
 * A run left `creating` this long is resumed by the reaper: its start died, or a write failed. It
 * must be longer than the start function can live (its timeout is 29 s, API Gateway's limit), so
 * the start's own batch writes, which overwrite, are over before a resume begins.
 */
export const RESUME_CREATING_AFTER_S = 60;

/**
 * Writes the tasks and opens the run for claims: `opened`, or `stopped` when a stop came during
 * `creating` (then this ends the run: every task cancelled, the assembly started). `tasks` are the
 * start's, written in batches; without them (the reaper resuming a run left `creating`, maybe in two
 * passes at once) only the missing items are written, so no task that moved on is overwritten.
 * The schedule is switched on again at the end: a reaper pass that read the previous, ended run may
 * have switched it off during the start.
 */
export async function finishCreating(
  deps: Deps,
  run: RunRecord,
  tasks?: TaskRecord[],
): Promise<'opened' | 'stopped'> {
  if (tasks) await deps.store.putTasks(tasks);
  else await deps.store.putMissingTasks(buildRun(run.run_id, run.config, run.created_at).tasks);
  let outcome: 'opened' | 'stopped' = 'opened';
  try {
    await deps.store.setRunStatus(run.run_id, ['creating'], 'running', {}, { notStopped: true });
  } catch (err) {
    if (!(err instanceof StaleStateError)) throw err;
    const now = await getRunOrThrow(deps, run.run_id);
    if (now.stopped) {
      outcome = 'stopped';
      // a second writer that gets here too loses this status change: the run is ended either way
      if (now.status === 'creating')
        await endEarly(deps, run.run_id, 'creating').catch((e: unknown) => {
          if (!(e instanceof StaleStateError)) throw e;
        });
    } // else another writer (a resume) opened it first
  }
  await deps.schedule.setEnabled(true);
  return outcome;
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
  // a live view: a page a second behind is fine, at half the reads of a consistent one
  const page = await deps.store.listTasks(run.run_id, query.limit, after, false);
  // DynamoDB hands a cursor back whenever a page is full, even the last one: no empty next page
  const next = page.nextIndex === null || page.nextIndex >= run.total - 1 ? null : String(page.nextIndex);
  // cut by bytes too: a page of tasks with long free text would outgrow what a Lambda may answer
  const views = page.tasks.map((t) => ({ index: t.index, view: taskView(t, run) }));
  return fitPage(run.run_id, views, next);
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
  if (run.status === 'creating') {
    // Its tasks are still being written: the writer (the start, or the reaper resuming it) sees
    // the mark when it is done and ends the run then, so no task item lands after the assembly.
    try {
      await deps.store.setRunStatus(run.run_id, ['creating'], 'creating', { stopped: true });
      return {
        message: `run ${run.run_id} stopped while its tasks were being created: they are cancelled as soon as they are written, and the archive is built with no results`,
        run_id: run.run_id,
      };
    } catch (err) {
      if (!(err instanceof StaleStateError)) throw err; // opened meanwhile: stopped below
    }
  }
  try {
    await endEarly(deps, run.run_id, 'running');
  } catch (err) {
    if (err instanceof StaleStateError)
      throw new NotFoundError(`no run in progress: run ${run.run_id} just finished`);
    throw err;
  }
  return {
    message: `run ${run.run_id} stopped: unfinished tasks are cancelled and the archive is being built from the completed ones`,
    run_id: run.run_id,
  };
}

/** A stopped run to assembling: its unfinished tasks cancelled, the assembly started. */
async function endEarly(deps: Deps, runId: number, from: 'running' | 'creating'): Promise<void> {
  const now = deps.clock().toISOString();
  // From here no claim can take a ticket: takeTicket requires status `running`.
  const stopped = await deps.store.setRunStatus(runId, [from], 'assembling', {
    stopped: true,
    finished_at: now,
    assembly_started_at: now,
    assembly_attempt: 1,
  });
  await cancelActive(deps, stopped);
  await triggerAssembly(deps, stopped);
}

/**
 * Cancels the unfinished tasks of a stopped run, so their next heartbeat answers `abort`: those in
 * the active index, and those whose claim took a ticket (or a retry) before the stop but has not
 * yet written its task, which no index shows. `run` is the run as the stop left it: no ticket can
 * be taken after that write, so every such task lies below its queue's `next` and in none of the
 * run's sets; cancelled while still pending, its claim's write then loses and the claim answers
 * `done`, as every claim after a stop does. (The same sweep catches a claim the eventually
 * consistent index does not show yet.) `sweepTickets` false leaves that sweep out: the reaper's
 * passes long after the stop, when what it would find has left every index and set already.
 */
export async function cancelActive(deps: Deps, run: RunRecord, sweepTickets = true): Promise<void> {
  const now = deps.clock().toISOString();
  const active = (await deps.store.queryActive(run.run_id)).filter(
    (t) => t.status === 'claimed' || t.status === 'running' || t.status === 'pending',
  );
  const indexes = new Set(active.map((t) => t.index));
  for (const q of sweepTickets ? run.queues : []) {
    for (let i = q.base; i < (run.next[queueKey(q)] ?? q.base); i++) {
      if (!(run.completed.has(i) || run.failed.has(i) || run.cancelled.has(i) || run.running.has(i)))
        indexes.add(i);
    }
  }
  await eachLimited([...indexes], WRITE_LANES, async (index) => {
    await deps.store.finishTask(
      run.run_id,
      index,
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
