// The runner: one independent claim loop per slot. `assigned` runs the task, `wait` sleeps the
// advised time, `done` ends the slot; no answer for --max-retry-s ends it with an error.
import { setMaxListeners } from 'node:events';
import { freeBytes } from '../lambdas/shared/free-bytes';
import { makeDir } from '../lambdas/shared/make-dir';
import { ApiClient, ApiError, NoAnswerError, sleep } from './api-client';
import { BusySlots } from './busy-slots';
import { LOW_DISK_LOOKS, MIN_FREE_BYTES, sizeText } from './disk';
import { CommandExecutor } from './executors/command';
import { DockerExecutor } from './executors/docker';
import { SyntheticExecutor } from './executors/synthetic';
import type { Executor } from './executors/types';
import { KEY_HINT, refusesKey } from './key-refused';
import { failLeftoverTasks } from './leftovers';
import { createLogger, errorText, type Logger } from './log';
import { detectHostId, hostFacts } from './meta';
import { type RunnerInput, type RunnerOptions, resolveOptions, workDirError } from './options';
import { runShutdownCommand, shouldShutDown } from './shutdown';
import { runTask, type TaskDeps } from './task-run';
import { planSlots, readTopology, type Slot } from './topology';

/** What a claim answer's `wait` may ask, in seconds: never a busy loop, never an hour asleep. */
export const WAIT_BOUNDS_S = { min: 1, max: 300 };
/**
 * Failures that say this host cannot run tasks (its container engine, its disk), not that a
 * benchmark failed. After INFRA_STREAK of them in a row, the host's slots wait before each claim,
 * longer each time, so healthy hosts take the queue instead of this one failing it in seconds.
 */
const INFRA_ERRORS = new Set(['docker_error', 'provision_failed']);
export const INFRA_STREAK = 3;
/** Test hook default: the first back-off, doubled per further failure, capped at 15 minutes. */
export const INFRA_BACKOFF_S = 60;

export interface RunnerResult {
  /** 0 when every slot ended on `done` (or a requested stop); 1 when the API stayed away or refused. */
  exitCode: number;
  interrupted: boolean;
  tasksCompleted: number;
  tasksFailed: number;
  /** Ended because their run was stopped (the API answered abort): counted apart, as nothing failed. */
  tasksCancelled: number;
  tasksUnacknowledged: number;
  runnerIds: string[];
  shutdownRan: boolean;
}

export interface RunnerHandle {
  done: Promise<RunnerResult>;
  /** Like SIGTERM: in-flight tasks fail as `interrupted`, no new claims, then `done` resolves. */
  stop(): void;
}

export function makeExecutor(o: RunnerOptions, hostId?: string): Executor {
  if (o.executor === 'synthetic') return new SyntheticExecutor({ size: o.syntheticSize });
  if (o.executor === 'command') return new CommandExecutor(o.command ?? '', [o.apiKey]);
  return new DockerExecutor({
    dockerHost: o.dockerHost,
    image: o.image,
    rubyBenchRef: o.rubyBenchRef,
    rubyBenchDir: o.rubyBenchDir,
    rubyBenchRepo: o.rubyBenchRepo,
    hostId,
    callTimeoutMs: o.dockerCallTimeoutS === undefined ? undefined : o.dockerCallTimeoutS * 1000,
    pingIntervalMs: o.dockerPingS === undefined ? undefined : o.dockerPingS * 1000,
  });
}

export function createRunner(input: RunnerInput): RunnerHandle {
  const o = resolveOptions(input);
  const stopCtl = new AbortController();
  // every slot's task, API call and PUT listens for the stop: many on a large host, not a leak
  setMaxListeners(0, stopCtl.signal);
  o.signal?.addEventListener('abort', () => stopCtl.abort(), { once: true });
  if (o.signal?.aborted) stopCtl.abort();
  const log = createLogger({ json: o.json, debug: o.debug, write: o.logWrite });
  return { done: run(o, log, stopCtl.signal), stop: () => stopCtl.abort() };
}

export function startRunner(input: RunnerInput): Promise<RunnerResult> {
  return createRunner(input).done;
}

async function run(o: RunnerOptions, log: Logger, stop: AbortSignal): Promise<RunnerResult> {
  const topo = o.topology ?? readTopology();
  const slots = planSlots(topo, o.slots);
  const hostId = o.hostId ?? (await detectHostId(o.provider));
  try {
    makeDir(o.workDir);
  } catch (err) {
    throw workDirError(o.workDir, err); // a setting to fix, said in one line (cli.ts prints no stack)
  }
  // the stop cuts API retries and uploads short (STOP_BUDGET_S a step, and all of them by one
  // deadline STOP_TOTAL_S after the stop), so a fail still gets through before systemd's SIGKILL
  const api = new ApiClient({
    apiUrl: o.apiUrl,
    apiKey: o.apiKey,
    log,
    maxRetryS: o.maxRetryS,
    signal: stop,
    stopBudgetS: o.stopBudgetS,
    stopTotalS: o.stopTotalS,
    failReserveS: o.failReserveS,
  });
  const executor = o.executorOverride ?? makeExecutor(o, hostId);
  // before the first claim: containers a crashed runner left would share the slots' CPUs
  await executor.prepare?.(log);
  // and the tasks it held: failed now, saying why, rather than reaped minutes later
  await failLeftoverTasks({ api, log, workDir: o.workDir, hostId, debug: o.debug });
  const deps: TaskDeps = {
    api,
    executor,
    facts: hostFacts(topo),
    hostId,
    busySlots: new BusySlots(),
    log,
    workDir: o.workDir,
    heartbeatS: o.heartbeatS,
    taskTimeoutS: o.taskTimeoutS,
    debug: o.debug,
    provider: o.provider,
    instanceType: o.instanceType,
    stopSignal: stop,
    executorGraceS: o.executorGraceS,
  };
  const result: RunnerResult = {
    exitCode: 0,
    interrupted: false,
    tasksCompleted: 0,
    tasksFailed: 0,
    tasksCancelled: 0,
    tasksUnacknowledged: 0,
    runnerIds: slots.map((s) => `${hostId}-${s.index}`),
    shutdownRan: false,
  };
  log.info(`starting ${slots.length} slot(s) for ${o.provider}/${o.instanceType}`, {
    host: hostId,
    executor: o.executor,
    cpus: slots.map((s) => s.cpu).join(','),
  });
  const health = { infraStreak: 0, assigned: false, startedAt: Date.now() };
  await Promise.all(
    slots.map((slot) => runSlot(o, deps, slot, `${hostId}-${slot.index}`, stop, result, health)),
  );
  result.interrupted = stop.aborted;
  log.info(
    `all slots exited: ${result.tasksCompleted} completed, ${result.tasksFailed} failed` +
      (result.tasksCancelled ? `, ${result.tasksCancelled} cancelled` : '') +
      (result.tasksUnacknowledged ? `, ${result.tasksUnacknowledged} unacknowledged` : ''),
  );
  if (result.tasksUnacknowledged > 0 && !result.interrupted) {
    // their results may be in S3, but the run counts them as lost (the reaper fails them): say so
    // in the exit status too, so systemd or whoever started the runner sees it
    log.error(
      `${result.tasksUnacknowledged} task(s) were never acknowledged by the API: their files stay in ${o.workDir}; exiting 1`,
    );
    result.exitCode = 1;
  }
  const decision = shouldShutDown({
    ...o,
    interrupted: result.interrupted,
    tasksFailed: result.tasksFailed + result.tasksUnacknowledged,
  });
  if (decision.shutdown) {
    await runShutdownCommand(o.shutdownCommand, log);
    result.shutdownRan = true;
  } else if (o.shutdownOnDone) log.info(`not shutting down: ${decision.why}`);
  return result;
}

async function runSlot(
  o: RunnerOptions,
  deps: TaskDeps,
  slot: Slot,
  runnerId: string,
  stop: AbortSignal,
  result: RunnerResult,
  health: { infraStreak: number; assigned: boolean; startedAt: number },
): Promise<void> {
  const log = deps.log.child({ slot: slot.index });
  const d = { ...deps, log };
  // a finished task's work dir is removed while the slot claims its next task; the slot ends
  // only when every removal has (a shutdown must not cut one short)
  let cleaning: Promise<unknown> = Promise.resolve();
  // looks in a row that found the work dir's disk too full to claim
  let lowDiskLooks = 0;
  try {
    while (!stop.aborted) {
      if (health.infraStreak >= INFRA_STREAK) {
        const backoffS = Math.min(
          900,
          (o.infraBackoffS ?? INFRA_BACKOFF_S) * 2 ** (health.infraStreak - INFRA_STREAK),
        );
        log.warn(
          `this host failed its last ${health.infraStreak} tasks with docker_error or provision_failed: waiting ${backoffS} s before claiming again, so healthy hosts take the work (check the container engine and the disk)`,
        );
        await sleep(backoffS * 1000, stop);
        if (stop.aborted) break;
      }
      // A task claimed on a full disk fails for it (and with one attempt, for good): leave the
      // tasks to hosts with room, and end the slot if none comes (the VM then powers off).
      const need = MIN_FREE_BYTES[o.executor] ?? MIN_FREE_BYTES.default ?? 0;
      const free = (o.freeBytes ?? freeBytes)(o.workDir);
      if (free !== undefined && free < need) {
        if (++lowDiskLooks > LOW_DISK_LOOKS) {
          log.error(
            `the disk of --work-dir ${o.workDir} has had under ${sizeText(need)} free for ${LOW_DISK_LOOKS} looks: this slot stops claiming and ends`,
          );
          break;
        }
        const waitS = o.infraBackoffS ?? INFRA_BACKOFF_S;
        log.warn(
          `the disk of --work-dir ${o.workDir} has ${sizeText(free)} free, under the ${sizeText(need)} a task needs: not claiming, so hosts with room take the work; looking again in ${waitS} s (free space there, or give --work-dir a larger disk)`,
        );
        await sleep(waitS * 1000, stop);
        continue;
      }
      lowDiskLooks = 0;
      let ans: Awaited<ReturnType<ApiClient['claim']>>;
      try {
        ans = await deps.api.claim(
          { provider: o.provider, instance_type: o.instanceType, runner_id: runnerId },
          o.runId,
          stop,
        );
      } catch (err) {
        if (stop.aborted) break;
        if (err instanceof NoAnswerError)
          log.error(
            `giving up on claims: ${err.message}. This slot stops (the runner will exit 1): check --api / BENCHFLEET_API_URL (now ${o.apiUrl}) and that the API is deployed and reachable from this host, then restart the runner`,
          );
        else if (refusesKey(err))
          log.error(
            `the API refuses this runner's key (claim answered ${err.message}): this slot stops (the runner will exit 1). To fix: ${KEY_HINT}, then restart the runner`,
          );
        else if (err instanceof ApiError)
          log.error(
            `the API refused the claim (${err.message}): this slot stops (the runner will exit 1); check this runner's --provider and --instance-type against the run's, then restart it`,
          );
        else log.error(`claim failed: ${errorText(err)}: this slot stops (the runner will exit 1)`);
        result.exitCode = 1;
        return;
      }
      if (ans.status === 'done') {
        log.info('no more tasks for this instance type; slot done');
        return;
      }
      if (ans.status === 'wait') {
        if (!health.assigned && Date.now() - health.startedAt >= o.startWaitS * 1000) {
          // a VM whose run never starts (the CLI died before POST /run/start) must not bill forever
          log.error(
            `no task came within --start-wait-s ${o.startWaitS} s of starting${o.runId ? ` (run ${o.runId} has not started, or other runners hold all of its tasks)` : ''}: giving up`,
          );
          result.exitCode = 1;
          return;
        }
        // bounded, and spread a little so a host's slots do not claim in lockstep
        const waitS = Math.min(WAIT_BOUNDS_S.max, Math.max(WAIT_BOUNDS_S.min, ans.retry_after_seconds || 0));
        log.debug(`nothing to do yet; waiting ${waitS} s`);
        await sleep(waitS * 1000 * (1 + Math.random() * 0.2), stop);
        continue;
      }
      health.assigned = true;
      const { outcome, cleanup, errorType } = await runTask(d, slot, runnerId, ans.task, ans.presigned_urls);
      cleaning = Promise.all([cleaning, cleanup]).then(() => undefined); // no chain that grows per task
      if (outcome === 'completed') result.tasksCompleted++;
      else if (outcome === 'failed') result.tasksFailed++;
      else if (outcome === 'cancelled') result.tasksCancelled++;
      else result.tasksUnacknowledged++;
      if (outcome === 'completed') health.infraStreak = 0;
      else if (errorType !== undefined && INFRA_ERRORS.has(errorType)) health.infraStreak++;
    }
  } finally {
    await cleaning;
  }
  log.info('stopped');
}
