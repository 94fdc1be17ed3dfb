// What the core needs from the outside world. Adapters (DynamoDB, S3, Step Functions, EventBridge,
// and their local stand-ins) implement these; no AWS SDK type appears here.
import type { Readable } from 'node:stream';
import type { HeartbeatStatus, Provider, RunConfig, RunStatus, TaskStatus } from '../shared/contract';

/** A run as stored. `creating` is internal: tasks are still being written. */
export type StoredRunStatus = RunStatus | 'creating';

export interface QueueDef {
  provider: Provider;
  instance_type: string;
  /** first task index of this queue; its tasks are [base, base + count) */
  base: number;
  count: number;
}

export interface RunRecord {
  run_id: number;
  status: StoredRunStatus;
  config: RunConfig;
  ruby_version: string;
  runs_per_instance_type: number;
  max_attempts: number;
  pending_timeout_minutes: number;
  total: number;
  queues: QueueDef[];
  created_at: string;
  /** when the run stopped accepting work: drained, stopped, or assembly done */
  finished_at: string | null;
  stopped: boolean;
  /** per queue key `provider:instance_type`: next index to hand out (base..base+count) */
  next: Record<string, number>;
  verified: Record<string, number>;
  /** per queue key: retry entries `gen * RETRY_GEN_FACTOR + index` */
  retry: Record<string, number[]>;
  /** per queue key: set when the reaper failed the queue as `no_runner` */
  no_runner: Record<string, boolean>;
  /**
   * per queue key: the reaper's mark of a queue that looked abandoned (see failAbandonedQueues); a
   * ticket taken since moves `next` past it, a retry taken clears it
   */
  idle: Record<string, IdleMark>;
  running: Set<number>;
  completed: Set<number>;
  failed: Set<number>;
  cancelled: Set<number>;
  archive_key: string | null;
  assembly_error: string | null;
  assembly_started_at: string | null;
  /** execution names used so far: `<run_id>`, then `<run_id>-2`, ... for POST /run/assemble */
  assembly_attempt: number;
  execution_started: boolean;
}

/** The reaper's mark of a queue that looked abandoned: the `next` it saw, and when. */
export interface IdleMark {
  next: number;
  at: string;
}

export interface TaskRecord {
  run_id: number;
  index: number;
  id: number;
  provider: Provider;
  instance_type: string;
  run: number;
  status: TaskStatus;
  /** attempts started so far (0 while never claimed) */
  attempt: number;
  /** copied from the run so a failing runner's request needs no second read */
  max_attempts: number;
  /** bumped whenever the task goes back to pending; fences claims that raced a requeue */
  gen: number;
  runner_id: string | null;
  claimed_at: string | null;
  heartbeat_at: string | null;
  heartbeat_status: HeartbeatStatus | null;
  heartbeat_message: string | null;
  current_benchmark: string | null;
  progress_pct: number | null;
  finished_at: string | null;
  error_type: string | null;
  error_message: string | null;
  s3_result_key: string | null;
  s3_error_key: string | null;
  /** when the task last went back to pending for a retry: the reaper's clock for `no_runner` */
  requeued_at: string | null;
  /**
   * the runner's fail that sent it back, as `runner_id attempt error_type` (null when the reaper
   * did): a repeat of that fail, whose answer was lost, is recognised and succeeds
   */
  requeued_by: string | null;
  /** claims given back by the reaper because their runner never heartbeated (bounded) */
  refunds: number;
  debug_mode: boolean;
  /** in the sparse `active` index: the reaper looks at it */
  active: boolean;
}

export interface Pointer {
  run_id: number;
  active: boolean;
}

/** Who may act on a task: the runner that holds it, and the attempt when the runner says. */
export interface Fence {
  runner_id: string;
  attempt?: number | undefined;
}

export type RunSetName = 'running' | 'completed' | 'failed' | 'cancelled';

/** Idempotent changes to the run item's sets, applied in one write. */
export interface RunSetChange {
  add?: Partial<Record<RunSetName, number[]>>;
  remove?: Partial<Record<RunSetName, number[]>>;
  addRetry?: Array<{ queue: string; entry: number }>;
  /** not in the same change as an addRetry to the same queue (one write cannot do both) */
  removeRetry?: Array<{ queue: string; entry: number }>;
}

export interface HeartbeatFields {
  heartbeat_at: string;
  heartbeat_status: HeartbeatStatus;
  heartbeat_message: string | null;
  current_benchmark: string | null;
  progress_pct: number | null;
}

export interface FinishFields {
  status: 'completed' | 'failed' | 'cancelled';
  finished_at: string;
  error_type?: string | null;
  error_message?: string | null;
  s3_result_key?: string | null;
  s3_error_key?: string | null;
  debug_mode?: boolean;
}

export interface RunStore {
  getPointer(): Promise<Pointer | undefined>;
  /** Points at a new run and marks it active; StaleStateError when a run is active or run_id is not newer. */
  acquirePointer(runId: number): Promise<void>;
  /** Marks the pointer inactive if it still points at runId (idempotent). */
  releasePointer(runId: number): Promise<void>;

  createRun(run: RunRecord): Promise<void>; // StaleStateError when it exists
  deleteRun(runId: number): Promise<void>;
  getRun(runId: number): Promise<RunRecord | undefined>;
  /** Writes the task items as they are given, fast (batches): for the one writer of a new run. */
  putTasks(tasks: TaskRecord[]): Promise<void>;
  /**
   * Writes only the task items that do not exist yet (one conditional put each): for a writer that
   * may not be the only one, so a task that has moved on (claimed, completed) is never overwritten.
   */
  putMissingTasks(tasks: TaskRecord[]): Promise<void>;
  /**
   * Conditional status change; returns the new record. StaleStateError when not in `from`, or when
   * `notStopped` is set and the run was stopped.
   */
  setRunStatus(
    runId: number,
    from: StoredRunStatus[],
    to: StoredRunStatus,
    fields?: Partial<
      Pick<
        RunRecord,
        | 'finished_at'
        | 'stopped'
        | 'archive_key'
        | 'assembly_error'
        | 'assembly_started_at'
        | 'assembly_attempt'
        | 'execution_started'
      >
    >,
    opts?: { notStopped?: boolean },
  ): Promise<RunRecord>;
  setExecutionStarted(runId: number, attempt: number): Promise<void>;
  /**
   * Fails a queue's tickets from `from` (its base: a queue never claimed from) as no_runner: no ticket
   * can be taken after. StaleStateError if a claim came first, or (from above the base) if the queue
   * is not marked idle at `from`.
   */
  markNoRunner(runId: number, queue: QueueDef, from?: number): Promise<void>;
  /** Marks a queue that looks abandoned at `next` (only while it still is): false if a claim came first. */
  markIdle(runId: number, queue: QueueDef, next: number, at: string): Promise<boolean>;
  /** `ADD next 1` guarded by `next < end` and run status running: the index, or undefined. */
  takeTicket(runId: number, queue: string): Promise<number | undefined>;
  /**
   * Removes one retry entry (conditional on it being there): true when this caller won it. A runner's
   * `'claim'` also clears the queue's idle mark in the same write: a runner of that type is alive. The
   * reaper's, given the idle mark it judged the queue by, applies only while that mark is still there.
   */
  takeRetry(runId: number, queue: string, entry: number, by?: 'claim' | IdleMark): Promise<boolean>;
  advanceVerified(runId: number, queue: string, from: number, to: number): Promise<void>;
  applyRunSets(runId: number, change: RunSetChange): Promise<RunRecord>;

  getTask(runId: number, index: number): Promise<TaskRecord | undefined>;
  getTasks(runId: number, indices: number[]): Promise<TaskRecord[]>;
  /** pending -> claimed, conditional on `gen`; undefined when someone else moved it first. */
  claimTask(
    runId: number,
    index: number,
    gen: number,
    runnerId: string,
    now: string,
  ): Promise<TaskRecord | undefined>;
  /**
   * Heartbeat fields under the fence, from claimed or running, in one write; with `running` the task
   * becomes running. `promoted`: it was claimed before this beat. undefined on a failed condition.
   */
  heartbeat(
    runId: number,
    index: number,
    fence: Fence,
    fields: HeartbeatFields,
    running: boolean,
  ): Promise<{ promoted: boolean } | undefined>;
  /** claimed|running -> finished under the fence (or, with `fence` null, from any of `from`). Keeps the task active. */
  finishTask(
    runId: number,
    index: number,
    fence: Fence | null,
    fields: FinishFields,
    opts?: { from?: TaskStatus[]; heartbeatAt?: string | null; gen?: number },
  ): Promise<TaskRecord | undefined>;
  /**
   * Back to pending for another attempt (or after a stranded claim): gen + 1, stays active.
   * `refund` gives back the attempt of a claim that never started (its runner never heartbeated).
   * `requeued_by` and the error are kept as they are when not given (undefined), set when given.
   */
  requeueTask(
    runId: number,
    index: number,
    expect: { status: TaskStatus[]; gen: number; fence?: Fence | null; heartbeatAt?: string | null },
    fields: {
      requeued_at: string;
      requeued_by?: string | null;
      error_type?: string | null;
      error_message?: string | null;
      refund?: boolean;
    },
  ): Promise<TaskRecord | undefined>;
  /** Leaves the sparse index: the run item now reflects this task's state. */
  clearActive(runId: number, index: number, expectStatus: TaskStatus): Promise<void>;
  queryActive(runId: number): Promise<TaskRecord[]>;
  /**
   * A page of a run's tasks in index order. Consistent unless told otherwise: what the archive holds
   * is decided from it; a live view (GET /run/tasks) may read a second behind at half the cost.
   */
  listTasks(
    runId: number,
    limit: number,
    afterIndex?: number,
    consistent?: boolean,
  ): Promise<{ tasks: TaskRecord[]; nextIndex: number | null }>;
}

export interface ResultStore {
  presignPut(key: string, expiresInSeconds: number): Promise<string>;
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
  exists(key: string): Promise<boolean>;
  /** undefined when the object does not exist */
  getStream(key: string): Promise<Readable | undefined>;
  /** Multipart upload of a stream of unknown length; memory stays bounded by the part size. */
  putStream(key: string, body: Readable, contentType: string): Promise<void>;
  putText(key: string, text: string, contentType: string): Promise<void>;
  getText(key: string): Promise<string | undefined>;
}

/** Starts the assembly workflow; an execution name used before is `already_started`. */
export interface AssemblyTrigger {
  start(runId: number, executionName: string): Promise<'started' | 'already_started'>;
}

/** Turns the reaper's schedule on while a run is active, off when idle (cost: nothing runs idle). */
export interface ReaperSchedule {
  setEnabled(enabled: boolean): Promise<void>;
}

export interface ApiKeys {
  operator: string;
  runner: string;
}

export interface Settings {
  heartbeatTimeoutSeconds: number;
  waitRetrySeconds: number;
  uploadUrlTtlSeconds: number;
  downloadUrlTtlSeconds: number;
  /** a run left `assembling` without a started execution this long is started again by the reaper */
  assemblyRestartSeconds: number;
  /** past the workflow's own timeout (2 h) a run still `assembling` is marked `assembly_failed` */
  assemblyGiveUpSeconds: number;
}

export const DEFAULT_SETTINGS: Settings = {
  heartbeatTimeoutSeconds: 120,
  waitRetrySeconds: 30,
  uploadUrlTtlSeconds: 3600,
  downloadUrlTtlSeconds: 3600,
  assemblyRestartSeconds: 60,
  assemblyGiveUpSeconds: 3 * 3600,
};

export interface Deps {
  /** The two API keys; read once (Secrets Manager in the cloud) and kept for the process. */
  keys: () => Promise<ApiKeys>;
  store: RunStore;
  results: ResultStore;
  assembly: AssemblyTrigger;
  schedule: ReaperSchedule;
  clock: () => Date;
  settings: Settings;
}

export const queueKey = (q: { provider: string; instance_type: string }): string =>
  `${q.provider}:${q.instance_type}`;

/** The inverse of queueKey (instance type names never contain a colon). */
export function parseQueueKey(key: string): { provider: string; instance_type: string } {
  const i = key.indexOf(':');
  return { provider: key.slice(0, i), instance_type: key.slice(i + 1) };
}
