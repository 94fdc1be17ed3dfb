// Tasks: claim, heartbeat, complete, fail, fresh upload URLs. Each transition is one conditional
// write on the task item (the truth of its status) followed by idempotent bookkeeping on the run
// item; the task stays in the sparse `active` index until that bookkeeping is done, so the reaper
// can finish it if a handler dies in between.
import {
  type ClaimRequest,
  type ClaimResponse,
  type CompleteRequest,
  type FailRequest,
  type HeartbeatRequest,
  type HeartbeatResponse,
  imageFor,
  type PresignedUrls,
  RETRYABLE_ERROR_TYPES,
  splitTaskId,
  storageKeys,
  taskIdOf,
  type UploadUrlsRequest,
} from '../shared/contract';
import { ConflictError, InvalidInputError, NotFoundError, TransientError } from './errors';
import { type Deps, type Fence, type QueueDef, queueKey, type RunRecord, type TaskRecord } from './ports';
import { markRunning, settleFinished, settleRequeued } from './run-sets';
import { getRunOrThrow } from './runs';
import { splitRetryEntry } from './views';

// the run-set bookkeeping, from its own module; run-assembly.ts and tests import it from here
export { markRunning, settleFinished, settleRequeued };

/** How often a claim retries after losing a race before answering `wait`. */
const CLAIM_ROUNDS = 6;

/**
 * A run's config never changes after start, so a warm process keeps it: an assigned claim then
 * costs two DynamoDB calls (ticket, task) instead of three. Bounded: only recent runs matter. (A
 * stop between a claim's ticket and its task write is the stop's to handle: see cancelActive.)
 */
type RunFacts = Pick<RunRecord, 'config' | 'ruby_version'>;
const runConfigs = new Map<number, Promise<RunFacts>>();
function runFacts(deps: Deps, runId: number): Promise<RunFacts> {
  let facts = runConfigs.get(runId);
  if (!facts) {
    // the promise is cached, so concurrent first claims share one read
    facts = getRunOrThrow(deps, runId).then((run) => ({
      config: run.config,
      ruby_version: run.ruby_version,
    }));
    facts.catch(() => runConfigs.delete(runId));
    if (runConfigs.size >= 16) runConfigs.delete(runConfigs.keys().next().value as number);
    runConfigs.set(runId, facts);
  }
  return facts;
}

export async function claimTask(deps: Deps, req: ClaimRequest, pathRunId?: number): Promise<ClaimResponse> {
  let runId = pathRunId;
  if (runId === undefined) {
    const pointer = await deps.store.getPointer();
    if (!pointer) throw new NotFoundError('no run has been started yet');
    runId = pointer.run_id;
  }
  const queue = queueKey(req);
  const now = (): string => deps.clock().toISOString();
  for (let round = 0; round < CLAIM_ROUNDS; round++) {
    const index = await deps.store.takeTicket(runId, queue);
    if (index !== undefined) {
      // the URLs are signed while the claim's write is in flight: they need only the task's id
      const urls = presignedUrls(deps, { run_id: runId, id: taskIdOf(runId, index) });
      urls.catch(() => undefined); // awaited below unless the claim is lost
      const task = await deps.store.claimTask(runId, index, 0, req.runner_id, now());
      if (task) return assigned(task, await runFacts(deps, runId), await urls);
      continue; // the reaper requeued this ticket's task as stranded: take another
    }
    // No ticket: find out why, and whether a retry attempt is waiting.
    const run = await deps.store.getRun(runId);
    if (!run) {
      const pointer = await deps.store.getPointer();
      if (pathRunId !== undefined && (!pointer || pathRunId > pointer.run_id)) {
        return { status: 'wait', retry_after_seconds: deps.settings.waitRetrySeconds };
      }
      if (pathRunId === undefined) throw new NotFoundError('no run has been started yet');
      return { status: 'done' };
    }
    if (run.status === 'creating')
      return { status: 'wait', retry_after_seconds: deps.settings.waitRetrySeconds };
    if (run.status !== 'running') return { status: 'done' };
    const q = run.queues.find((x) => queueKey(x) === queue);
    if (!q) return { status: 'done' }; // this run has nothing for that provider and instance type
    const retries = run.retry[queue] ?? [];
    if (retries.length > 0) {
      const entry = retries[Math.floor(Math.random() * retries.length)] as number;
      if (await deps.store.takeRetry(runId, queue, entry, 'claim')) {
        const { gen, index: i } = splitRetryEntry(entry);
        const task = await deps.store.claimTask(runId, i, gen, req.runner_id, now());
        if (task) return assigned(task, run, await presignedUrls(deps, task));
      }
      continue;
    }
    if ((run.next[queue] ?? q.base) < q.base + q.count) continue; // tickets left: the run only just opened
    if (mayComeBack(run, q)) return { status: 'wait', retry_after_seconds: deps.settings.waitRetrySeconds };
    return { status: 'done' };
  }
  return { status: 'wait', retry_after_seconds: 1 };
}

/**
 * Whether a task of this queue may still be requeued, so a runner should wait rather than leave.
 * A task claimed but not yet running may be one whose claim answer was lost, or whose ticket never
 * reached its task: the reaper requeues it, and someone must be left to take it. With retries, any
 * unfinished task may come back.
 */
function mayComeBack(run: RunRecord, q: QueueDef): boolean {
  for (let i = q.base; i < q.base + q.count; i++) {
    if (run.completed.has(i) || run.failed.has(i) || run.cancelled.has(i)) continue;
    if (run.max_attempts > 1 || !run.running.has(i)) return true;
  }
  return false;
}

function assigned(task: TaskRecord, run: RunFacts, urls: PresignedUrls): ClaimResponse {
  const cfg = run.config;
  return {
    status: 'assigned',
    task: {
      id: task.id,
      run_id: task.run_id,
      provider: task.provider,
      instance_type: task.instance_type,
      run: task.run,
      run_number: task.run,
      attempt: task.attempt,
      ruby_version: run.ruby_version,
      image: imageFor(cfg),
      ...(cfg.benchmarks ? { benchmarks: cfg.benchmarks } : {}),
      ...(cfg.ruby_bench_ref ? { ruby_bench_ref: cfg.ruby_bench_ref } : {}),
      ...(cfg.ruby_bench_env ? { ruby_bench_env: cfg.ruby_bench_env as Record<string, number> } : {}),
    },
    presigned_urls: urls,
  };
}

export async function presignedUrls(
  deps: Deps,
  task: Pick<TaskRecord, 'run_id' | 'id'>,
): Promise<PresignedUrls> {
  const ttl = deps.settings.uploadUrlTtlSeconds;
  const result_key = storageKeys.result(task.run_id, task.id);
  const error_key = storageKeys.error(task.run_id, task.id);
  const [result, error] = await Promise.all([
    deps.results.presignPut(result_key, ttl),
    deps.results.presignPut(error_key, ttl),
  ]);
  return {
    result,
    error,
    result_upload_url: result,
    error_upload_url: error,
    result_key,
    error_key,
    expires_in_seconds: ttl,
  };
}

/** Task id -> run id and index; a malformed or impossible id is simply not found. */
function locate(taskId: number): { runId: number; index: number } {
  const { runId, index } = splitTaskId(taskId);
  if (!Number.isSafeInteger(taskId) || runId <= 0 || index < 0)
    throw new NotFoundError(`task ${taskId} does not exist`);
  return { runId, index };
}

const fenceOf = (req: { runner_id: string; attempt?: number | undefined }): Fence => ({
  runner_id: req.runner_id,
  attempt: req.attempt,
});

/** Whether the runner (and attempt) of `fence` holds the unfinished task: what the store's fence checks. */
const holds = (task: TaskRecord, fence: Fence): boolean =>
  (task.status === 'claimed' || task.status === 'running') &&
  task.runner_id === fence.runner_id &&
  (fence.attempt === undefined || fence.attempt === task.attempt);

/** Why a fenced write was refused: the error a client should see. */
async function refusal(
  deps: Deps,
  taskId: number,
  fence: Fence,
): Promise<{ task: TaskRecord; error: Error }> {
  const { runId, index } = locate(taskId);
  const task = await deps.store.getTask(runId, index);
  if (!task) throw new NotFoundError(`task ${taskId} does not exist`);
  let error: Error;
  if (task.status === 'completed' || task.status === 'failed' || task.status === 'cancelled') {
    error = new ConflictError('task_finished', `task ${taskId} is already ${task.status}`);
  } else if (task.runner_id !== fence.runner_id) {
    error = new ConflictError(
      'not_your_task',
      `task ${taskId} is ${task.status} and held by ${task.runner_id ? `runner ${task.runner_id}` : 'no runner'}, not by ${fence.runner_id}`,
    );
  } else if (fence.attempt !== undefined && task.attempt !== fence.attempt) {
    error = new ConflictError(
      'stale_attempt',
      fence.attempt < task.attempt
        ? `task ${taskId} is on attempt ${task.attempt}; attempt ${fence.attempt} was reaped and may not report`
        : `task ${taskId} is on attempt ${task.attempt}; it has had no attempt ${fence.attempt}, so a report for it is refused`,
    );
  } else {
    error = new ConflictError('task_finished', `task ${taskId} is ${task.status}`);
  }
  return { task, error };
}

export async function heartbeat(
  deps: Deps,
  taskId: number,
  req: HeartbeatRequest,
): Promise<HeartbeatResponse> {
  const { runId, index } = locate(taskId);
  const fence = fenceOf(req);
  const fields = {
    heartbeat_at: deps.clock().toISOString(),
    heartbeat_status: req.status,
    heartbeat_message: req.message ?? null,
    current_benchmark: req.current_benchmark ?? null,
    progress_pct: req.progress_pct ?? null,
  };
  const beat = await deps.store.heartbeat(runId, index, fence, fields, req.status === 'running');
  if (beat) {
    if (beat.promoted) await markRunning(deps, runId, index);
    return { action: 'continue' };
  }
  const { task, error } = await refusal(deps, taskId, fence);
  // The run was stopped: tell the runner to stop its work rather than report an error.
  if (task.status === 'cancelled' && task.runner_id === fence.runner_id) return { action: 'abort' };
  throw error;
}

export async function completeTask(
  deps: Deps,
  taskId: number,
  req: CompleteRequest,
): Promise<{ message: string }> {
  const { runId, index } = locate(taskId);
  const key = storageKeys.result(runId, taskId);
  if (req.s3_result_key !== undefined && req.s3_result_key !== key) {
    throw new InvalidInputError([
      `s3_result_key: must be ${key}, the key minted for task ${taskId} (or omitted)`,
    ]);
  }
  const fence = fenceOf(req);
  // The hot path is one HEAD and one conditional write; the task is read only to explain a refusal.
  if (!(await deps.results.exists(key))) {
    // a task this runner no longer holds (reaped, cancelled, someone else's) is refused for that
    const { task, error } = await refusal(deps, taskId, fence);
    if (!holds(task, fence)) throw error;
    throw new ConflictError(
      'result_not_uploaded',
      `task ${taskId} has no result at ${key}: upload result.tar.gz to the presigned URL first`,
    );
  }
  let task = await deps.store.finishTask(runId, index, fence, {
    status: 'completed',
    finished_at: deps.clock().toISOString(),
    s3_result_key: key,
  });
  if (!task) {
    const { task: now, error } = await refusal(deps, taskId, fence);
    // a repeat of this runner's complete (a lost answer, or a concurrent retry that won) succeeds
    if (!(now.status === 'completed' && now.runner_id === req.runner_id)) throw error;
    task = now;
  }
  await settleFinished(deps, task); // idempotent, so a repeated complete also repairs bookkeeping
  return { message: `task ${taskId} completed` };
}

export async function failTask(deps: Deps, taskId: number, req: FailRequest): Promise<{ message: string }> {
  const { runId, index } = locate(taskId);
  const errorKey = storageKeys.error(runId, taskId);
  // Unlike a complete's result key, a fail is never refused for its s3_error_key: the failure is
  // what matters. A key other than the minted one (a runner written from the spec, whose claim
  // hands out no keys, makes one up) names no file of this task's, so it counts as no key.
  const namesErrorFile = req.s3_error_key === errorKey;
  const fence = fenceOf(req);
  const current = await deps.store.getTask(runId, index);
  if (!current) throw new NotFoundError(`task ${taskId} does not exist`);
  const by = requeuedBy(req.runner_id, req.attempt ?? current.attempt, req.error_type);
  const repeat = await repeatedFail(deps, current, req, by);
  if (repeat) return repeat;
  // Recorded only if it is really there (older runners name it even after a failed upload), but a
  // failure is recorded even while S3 does not answer: the failure itself is what matters, its logs
  // are a bonus, and then the runner's word is taken.
  const hasErrorFile = await deps.results.exists(errorKey).catch((err: unknown) => {
    if (err instanceof TransientError) return namesErrorFile;
    throw err;
  });
  const fields = {
    error_type: req.error_type,
    error_message: req.error_message ?? null,
  };
  if (RETRYABLE_ERROR_TYPES.includes(req.error_type) && current.attempt < current.max_attempts) {
    const requeued = await deps.store.requeueTask(
      runId,
      index,
      { status: ['claimed', 'running'], gen: current.gen, fence },
      { ...fields, requeued_at: deps.clock().toISOString(), requeued_by: by },
    );
    if (requeued) {
      await settleRequeued(deps, requeued);
      return {
        message: `task ${taskId} failed (${req.error_type}); attempt ${current.attempt + 1} of ${current.max_attempts} is queued`,
      };
    }
  } else {
    const failed = await deps.store.finishTask(runId, index, fence, {
      status: 'failed',
      finished_at: deps.clock().toISOString(),
      ...fields,
      s3_error_key: hasErrorFile ? errorKey : null,
      debug_mode: req.debug_mode ?? false,
    });
    if (failed) {
      await settleFinished(deps, failed);
      return { message: `task ${taskId} failed` };
    }
  }
  // The write lost: to a copy of this same fail in flight at once (the runner retried a request
  // whose answer was slow), which is a repeat like any other; or to the reaper or a stop.
  const { task: now, error } = await refusal(deps, taskId, fence);
  const late = await repeatedFail(deps, now, req, by);
  if (late) return late;
  throw error;
}

/**
 * A repeat of this runner's own fail (its answer was lost) succeeds, whether that fail ended the
 * task or sent it back for another attempt; a fail after the reaper or a stop ended the task is
 * refused, so the runner learns its report was not recorded. undefined when `task` shows no repeat.
 */
async function repeatedFail(
  deps: Deps,
  task: TaskRecord,
  req: FailRequest,
  by: string,
): Promise<{ message: string } | undefined> {
  if (
    task.status === 'failed' &&
    task.runner_id === req.runner_id &&
    task.error_type === req.error_type &&
    (req.attempt === undefined || req.attempt === task.attempt)
  ) {
    await settleFinished(deps, task); // idempotent: also repairs what a dead handler left undone
    return { message: `task ${task.id} failed` };
  }
  if (task.requeued_by === by && task.gen > 0) {
    return {
      message: `task ${task.id} failed (${req.error_type}); it was already queued for another attempt`,
    };
  }
  return undefined;
}

/** Who sent a task back for another attempt, as its repeat would say it. */
const requeuedBy = (runnerId: string, attempt: number, errorType: string): string =>
  `${runnerId} ${attempt} ${errorType}`;

export async function uploadUrls(deps: Deps, taskId: number, req: UploadUrlsRequest): Promise<PresignedUrls> {
  const { runId, index } = locate(taskId);
  const task = await deps.store.getTask(runId, index);
  if (!task) throw new NotFoundError(`task ${taskId} does not exist`);
  const fence = fenceOf(req);
  if (!holds(task, fence)) throw (await refusal(deps, taskId, fence)).error;
  return presignedUrls(deps, task);
}
