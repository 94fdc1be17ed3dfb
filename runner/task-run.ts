// One claimed task, start to acknowledgement: heartbeats (task-heartbeat.ts), the executor, packaging,
// upload, then complete or fail. The tarball stays on disk until the API has acknowledged.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ClaimedTask,
  type HeartbeatStatus,
  MAX_ERROR_MESSAGE,
  type PresignedUrls,
  type RunnerMeta,
} from '../lambdas/shared/contract';
import { Abandoned, abandonAfter } from './abandon';
import { type AckResult, acknowledge } from './ack';
import type { ApiClient } from './api-client';
import type { BusySlots, BusyWatch } from './busy-slots';
import { diskProblem } from './disk';
import { ExecError, type ExecResult, type Executor } from './executors/types';
import { logsWhere, noOutputText } from './failure-text';
import { KeyRefusals } from './key-refused';
import { errorText, type Logger } from './log';
import { type HostFacts, rubyDescription } from './meta';
import { findOutputs, packError, packResult } from './package';
import { ProgressTracker } from './progress';
import { type AbortReason, TaskHeartbeats } from './task-heartbeat';
import { readCpuTimes, type Slot, siblingBusy } from './topology';
import { type UploadLimits, uploadTarball } from './upload';
import { RUNNER_VERSION } from './version';

export interface TaskDeps {
  api: ApiClient;
  executor: Executor;
  facts: HostFacts;
  /** The prefix of every slot's runner id: instance metadata, the hostname or --host-id. */
  hostId: string;
  /** The runner's slots that are running a benchmark, shared by all of them. */
  busySlots: BusySlots;
  log: Logger;
  workDir: string;
  heartbeatS: number;
  taskTimeoutS: number;
  debug: boolean;
  provider: string;
  instanceType: string;
  /** Aborts on SIGTERM: the task fails as `interrupted`. */
  stopSignal: AbortSignal;
  /** Test hook: EXECUTOR_GRACE_S otherwise. */
  executorGraceS?: number;
}

/**
 * How long an executor may take to stop once its task is aborted (timeout, cancel, SIGTERM) before
 * the task is reported anyway: a container engine that stops answering must not keep a task, and
 * its heartbeats, going for ever. Under the runner's stop deadline (45 s) with room for the fail.
 */
export const EXECUTOR_GRACE_S = 30;

/** `cancelled`: the run was stopped under it, which is no failure of the task or of this host. */
export type TaskOutcome = 'completed' | 'failed' | 'cancelled' | 'unacknowledged';
/** How a task ended, and the removal of its work dir, already started (the slot need not wait). */
export interface TaskEnd {
  outcome: TaskOutcome;
  cleanup: Promise<void>;
  /** the error type the task failed with (reported or not) */
  errorType?: string;
}

export async function runTask(
  d: TaskDeps,
  slot: Slot,
  runnerId: string,
  task: ClaimedTask,
  claimUrls: PresignedUrls,
): Promise<TaskEnd> {
  // The claim answer just came: its URLs are good for expires_in_seconds from now.
  const claimUrlsUntil = Date.now() + claimUrls.expires_in_seconds * 1000;
  const log = d.log.child({ task: task.id, attempt: task.attempt });
  const dir = join(d.workDir, `task-${task.id}-a${task.attempt}-s${slot.index}`);
  const outDir = join(dir, 'out');
  const logsDir = join(dir, 'logs');
  const ctl = new AbortController();
  let abortReason: AbortReason | undefined;
  /** The API said abort: the run was stopped (a 404/409 may also be a reap, this host's failure). */
  let runStopped = false;
  const abort = (reason: AbortReason, why: string, byRunStop = false): void => {
    if (abortReason) return;
    abortReason = reason;
    runStopped = byRunStop;
    log.warn(`stopping the task: ${why}`, { reason });
    ctl.abort(reason);
  };
  const onStop = (): void => abort('interrupted', 'the runner is shutting down');
  d.stopSignal.addEventListener('abort', onStop, { once: true });
  if (d.stopSignal.aborted) onStop();
  const timeout = setTimeout(
    () => abort('timeout', `past --task-timeout-s ${d.taskTimeoutS}`),
    d.taskTimeoutS * 1000,
  );

  const progress = new ProgressTracker(d.executor.expectedPasses ?? 1);
  const refusals = new KeyRefusals(log, task.id);
  const hb = new TaskHeartbeats({
    api: d.api,
    log,
    taskId: task.id,
    runnerId,
    attempt: task.attempt,
    periodS: d.heartbeatS,
    progress,
    refusals,
    stop: abort,
  });
  const setStatus = (status: HeartbeatStatus, message?: string): void => hb.setStatus(status, message);

  const startedAt = new Date().toISOString();
  const cpuBefore = readCpuTimes();
  let result: ExecResult | undefined;
  // counted from the benchmark's start (the executor's `running`), not the claim: an image pull
  // or a clone beside it is not a benchmark
  let busy: BusyWatch | undefined;
  let execOver = false;
  /** `logs`: the message should end by saying where the task's logs are (known once they are uploaded). */
  let failure: { type: string; message: string; logs?: boolean } | undefined;
  let abandoned: string | undefined;
  try {
    await mkdir(outDir, { recursive: true });
    await mkdir(logsDir, { recursive: true });
  } catch (err) {
    failure = {
      type: 'provision_failed',
      message: diskProblem(err, dir) ?? `cannot prepare ${dir}: ${errorText(err)}`,
    };
  }
  if (!failure) {
    setStatus('provision', `${d.executor.name} executor`);
    log.info(`running task ${task.id} (${task.instance_type} run ${task.run})`, {
      executor: d.executor.name,
    });
    try {
      const run = d.executor.run({
        task,
        slot,
        outDir,
        logsDir,
        taskDir: dir,
        signal: ctl.signal,
        log,
        onStdout: (chunk) => progress.push(chunk),
        onStatus: (status, message) => {
          // an abandoned executor may still say `running`: its slot is no longer counted
          if (status === 'running' && !busy && !execOver) busy = d.busySlots.start(slot.index);
          setStatus(status, message);
        },
      });
      result = await abandonAfter(run, ctl.signal, (d.executorGraceS ?? EXECUTOR_GRACE_S) * 1000);
    } catch (err) {
      if (err instanceof Abandoned) {
        abandoned = err.message;
        log.error(
          `${err.message} of the task's abort; reporting it anyway (is the container engine answering?)`,
        );
      }
      // a full disk while the workload writes its files is this host's trouble, as in the packing
      const disk = diskProblem(err, (err as { path?: string }).path ?? outDir);
      failure =
        err instanceof ExecError
          ? { type: err.errorType, message: err.message }
          : disk
            ? { type: 'provision_failed', message: disk }
            : { type: 'benchmark_failed', message: `executor crashed: ${errorText(err)}` };
    }
  }
  execOver = true;
  busy?.end();
  clearTimeout(timeout);
  if (abortReason) {
    const more = abandoned ? `; ${abandoned} after it, so its container or process may still be running` : '';
    const what = abortReason === 'heartbeat_timeout' ? refusals.message : `task ${abortReason}`;
    failure = { type: abortReason, message: `${what}${more}` };
  }
  const outputs = await findOutputs(outDir);
  if (!failure && !outputs.txt) {
    failure = {
      type: 'benchmark_failed',
      message: await noOutputText(d.executor.name, result?.exitCode, progress.state.benchmark, logsDir),
      logs: true,
    };
  }
  // Required: an optional field (one older archives lack) is still always written
  const meta: Required<RunnerMeta> = {
    runner_id: runnerId,
    host_id: d.hostId,
    runner_version: RUNNER_VERSION,
    provider: d.provider,
    instance_type: d.instanceType,
    task_id: task.id,
    run: task.run,
    attempt: task.attempt,
    ...d.facts,
    docker_version: result?.dockerVersion ?? null,
    image: result?.image ?? null,
    image_digest: result?.imageDigest ?? null,
    ruby_description: await rubyDescription(outputs.json),
    ruby_bench_ref: result?.rubyBenchRef ?? null,
    ruby_bench_commit: result?.rubyBenchCommit ?? null,
    slot_cpu: slot.cpu,
    sibling_busy: siblingBusy(slot.siblings, cpuBefore, readCpuTimes()),
    busy_slots_at_start: busy?.atStart ?? null,
    busy_slots_max: busy?.max ?? null,
    started_at: startedAt,
    finished_at: new Date().toISOString(),
    exit_code: result?.exitCode ?? null,
  };

  // The task's abort (SIGTERM, a cancel) also ends upload retries.
  const target = {
    api: d.api,
    taskId: task.id,
    runnerId,
    attempt: task.attempt,
    claimUrls,
    claimUrlsUntil,
    log,
    signal: ctl.signal,
    stopGraceS: d.api.stopBudgetS,
    deadline: d.api.stopDeadline,
  };
  // After SIGTERM (even one that comes mid-upload) the host has seconds to live: short budgets so
  // the fail still gets through. Otherwise the result, which may have taken hours, is retried for
  // as long as an API call (--max-retry-s); error.tar.gz holds only logs: a few tries.
  const interrupted = (): boolean => abortReason === 'interrupted';
  const limitsFor = (kind: 'result' | 'error'): UploadLimits =>
    interrupted()
      ? { attempts: 2, budgetS: 0, urlBudgetS: 10 }
      : { attempts: 5, budgetS: kind === 'result' ? d.api.retryBudgetS : 0, urlBudgetS: 120 };
  // After a stop the API client cuts ack retries short itself (STOP_BUDGET_S each, and all by the
  // runner's stop deadline, STOP_TOTAL_S): the fail still gets through before systemd's SIGKILL.
  let outcome: TaskOutcome = 'failed';
  let ack: AckResult = { kind: 'none', why: 'no report was sent' };
  try {
    if (!failure) {
      setStatus('uploading', 'uploading result.tar.gz');
      const file = join(dir, 'result.tar.gz');
      const up = await packResult(outputs, meta, logsDir, file)
        .then(() => uploadTarball(target, 'result', file, limitsFor('result')))
        .catch((err: unknown) => {
          // a full disk is this host's trouble: provision_failed, which counts toward its back-off
          const disk = diskProblem(err, file);
          return {
            ok: false as const,
            reason: disk ?? `cannot write ${file}: ${errorText(err)}`,
            finished: false,
            disk,
          };
        });
      if (up.ok && abortReason === 'cancelled') {
        // the heartbeat said abort (or 404/409) during the upload: the task is not ours to complete
        failure = {
          type: 'cancelled',
          message: 'the API stopped the task (abort, or it is no longer ours) while its result was uploading',
        };
      } else if (up.ok && abortReason === 'heartbeat_timeout') {
        failure = { type: abortReason, message: refusals.message }; // the complete would be refused
      } else if (up.ok) {
        // Heartbeats go on while complete is retried: the API may be unable to check S3 for a
        // while (5xx), and a silent runner would be reaped as heartbeat_timeout with its result
        // uploaded. They stop with the acknowledgement, or when it is given up.
        hb.acking = true;
        ack = await acknowledge(log, 'complete', task.id, () =>
          d.api.complete(task.id, { runner_id: runnerId, s3_result_key: up.key, attempt: task.attempt }),
        );
        hb.end();
        if (ack.kind === 'done') {
          outcome = 'completed';
          log.info(`task ${task.id} completed`, { exit_code: meta.exit_code });
        }
      } else {
        // retries cut short by a shutdown or a cancel fail the task as that, not as upload_failed
        const local = 'disk' in up && up.disk ? 'provision_failed' : 'upload_failed';
        const type = up.finished ? 'cancelled' : (abortReason ?? local);
        failure = { type, message: up.reason };
      }
    }
    if (failure) {
      if (runStopped) log.info(`task ${task.id} cancelled: ${failure.message} (its run was stopped)`);
      else log.warn(`task ${task.id} failed: ${failure.message}`, { error_type: failure.type });
      setStatus('error', `${failure.type}: ${failure.message}`);
      const file = join(dir, 'error.tar.gz');
      let errorKey: string | null = null;
      // After a stop the error upload (logs only) may use the stop deadline but for its last
      // failReserveS, which the fail keeps for itself; with less left it is not even tried.
      const share = d.api.stopDeadline.sooner(
        d.api.failReserveS * 1000,
        "the error upload's share of the stop deadline",
      );
      try {
        if (failure.type === 'cancelled' || abortReason === 'heartbeat_timeout') {
          // Stopped or reaped (a heartbeat's abort or 404/409, or upload-urls' 409), or soon reaped (a
          // refused key): the task's keys now belong to the API (a stop's assembly may be
          // reading them, a retry's runner may write them), so this attempt writes nothing more.
          const why =
            abortReason === 'heartbeat_timeout' ? 'soon reaped: the API refuses the key' : 'or reaped';
          log.info(`error.tar.gz not uploaded: the task is no longer ours (cancelled, ${why})`);
        } else if (share.leftMs() <= 0) {
          const leftS = Math.max(0, d.api.stopDeadline.leftMs() / 1000).toFixed(1);
          log.warn(
            `error.tar.gz not uploaded: the runner is stopping and only ${leftS} s are left before its stop deadline, kept for the fail report (it has the last ${d.api.failReserveS} s)`,
          );
        } else {
          await packError(meta, logsDir, file);
          // a timeout ends the task, not the runner: its logs, which explain the timeout, get the
          // PUT's own limits; only a stop cuts them short
          const up = await uploadTarball(
            { ...target, signal: d.stopSignal, deadline: share },
            'error',
            file,
            limitsFor('error'),
          );
          if (up.ok) errorKey = up.key;
          else log.warn(`error.tar.gz not uploaded: ${up.reason}`);
        }
      } catch (err) {
        log.warn(`cannot write error.tar.gz: ${errorText(err)}`);
      } finally {
        share.dispose();
      }
      hb.acking = true; // as for complete: heartbeats go on until fail is acknowledged
      const message = failure.logs
        ? `${failure.message}; ${logsWhere(errorKey, d.debug, logsDir)}`
        : failure.message;
      const body = {
        runner_id: runnerId,
        error_type: failure.type,
        error_message: message.slice(0, MAX_ERROR_MESSAGE),
        s3_error_key: errorKey,
        debug_mode: d.debug,
        attempt: task.attempt,
      };
      ack = await acknowledge(log, 'fail', task.id, () => d.api.fail(task.id, body));
      hb.end();
      outcome = runStopped ? 'cancelled' : 'failed';
    }
  } finally {
    hb.end();
    clearTimeout(timeout);
    d.stopSignal.removeEventListener('abort', onStop);
  }
  if (ack.kind === 'none') {
    log.error(`the API never acknowledged task ${task.id}; its files stay in ${dir} (${ack.why})`);
    return { outcome: 'unacknowledged', cleanup: Promise.resolve(), errorType: failure?.type };
  }
  if (d.debug && outcome === 'failed') {
    log.info(`debug: keeping ${dir} for inspection`);
    return { outcome, cleanup: Promise.resolve(), errorType: failure?.type };
  }
  // acknowledged: the files are the API's now, and the slot claims its next task meanwhile
  return {
    outcome,
    cleanup: rm(dir, { recursive: true, force: true }).catch(() => undefined),
    errorType: failure?.type,
  };
}
