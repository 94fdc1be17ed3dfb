// The runner's settings, shared by the CLI (flags and BENCHFLEET_* variables) and the programmatic
// entry that `benchfleet local` uses to run runners in-process.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Provider, RunnerId } from '../lambdas/shared/contract';
import { RUNNER_START_WAIT_S, RUNNER_TASK_TIMEOUT_S } from '../lambdas/shared/vm-life';
import type { Executor } from './executors/types';
import { type CpuTopology, MAX_SLOTS, SLOTS_CHOICES, type SlotsSetting } from './topology';

export const EXECUTORS = ['docker', 'synthetic', 'command'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

export interface RunnerOptions {
  apiUrl: string;
  apiKey: string;
  provider: Provider;
  instanceType: string;
  /** Claim at /runs/{runId}/tasks/claim rather than the current run's /tasks/claim. */
  runId?: number;
  slots: SlotsSetting;
  executor: ExecutorName;
  /** Shell command of the `command` executor. */
  command?: string;
  rubyBenchRef?: string;
  rubyBenchDir?: string;
  /** Where containers clone ruby-bench from when no checkout is mounted (a mirror; GitHub otherwise). */
  rubyBenchRepo?: string;
  image?: string;
  dockerHost?: string;
  heartbeatS: number;
  taskTimeoutS: number;
  shutdownOnDone: boolean;
  shutdownCommand: string;
  debug: boolean;
  workDir: string;
  json: boolean;
  syntheticSize: number;
  /** How long a call may go without an answer before the runner gives up (the spec's 10 minutes). */
  maxRetryS: number;
  /**
   * How long claims may answer `wait` before this runner's first task (its run not started, or
   * other runners holding every task) before it gives up: a VM whose run never comes powers off.
   */
  startWaitS: number;
  /** Prefix of every slot's runner id; instance metadata or the hostname when absent. */
  hostId?: string;
  /** Where log lines go (stderr by default). */
  logWrite?: (line: string) => void;
  /** Stops the runner like SIGTERM: in-flight tasks fail as `interrupted`. */
  signal?: AbortSignal;
  /** Test hook: what API calls and PUTs in flight may still take after a stop (20 s otherwise). */
  stopBudgetS?: number;
  /** Test hook: when after a stop all network work must be over (STOP_TOTAL_S, 45 s, otherwise). */
  stopTotalS?: number;
  /** Test hook: the end of that deadline the error upload leaves to the fail (FAIL_RESERVE_S, 10 s). */
  failReserveS?: number;
  /** Test hook: how long an aborted executor may take to stop (EXECUTOR_GRACE_S, 30 s, otherwise). */
  executorGraceS?: number;
  /** Test hook: the first back-off after INFRA_STREAK infrastructure failures (60 s otherwise). */
  infraBackoffS?: number;
  /** Test hook: how long each Docker engine call may take (ENGINE_CALL_TIMEOUT_MS, 30 s, otherwise). */
  dockerCallTimeoutS?: number;
  /** Test hook: how often a running container's engine is checked (ENGINE_PING_MS, 30 s, otherwise). */
  dockerPingS?: number;
  /** Test hook: how much room the work dir's disk has (statfs otherwise). */
  freeBytes?: (path: string) => number | undefined;
  /** Test hook: a fixed topology instead of sysfs. */
  topology?: CpuTopology;
  /** Test hook: runs every task with this executor instead of the one `executor` names. */
  executorOverride?: Executor;
}

/**
 * The longest wait, in seconds, a seconds option may ask for: Node's timers hold at most 2^31-1 ms
 * (about 24.8 days) and fire after 1 ms when given more, which would time every task out at once.
 */
export const MAX_TIMER_S = 2147483;

export const DEFAULT_SHUTDOWN_COMMAND = 'shutdown -h now';

/**
 * On Linux, /var/tmp: the root disk. /tmp is a tmpfs of half the RAM on Amazon Linux 2023, which
 * a few large logs and tarballs fill, failing every task of the host.
 */
export const DEFAULT_WORK_DIR =
  process.platform === 'linux' ? '/var/tmp/benchfleet-runner' : join(tmpdir(), 'benchfleet-runner');

export const DEFAULTS = {
  slots: 'auto' as SlotsSetting,
  executor: 'docker' as ExecutorName,
  heartbeatS: 30,
  // shared with the VMs' maximum life (vm-life.ts), which must outlast a task at its timeout
  taskTimeoutS: RUNNER_TASK_TIMEOUT_S,
  shutdownOnDone: false,
  shutdownCommand: DEFAULT_SHUTDOWN_COMMAND,
  debug: false,
  workDir: DEFAULT_WORK_DIR,
  json: false,
  syntheticSize: 1,
  maxRetryS: 600,
  startWaitS: RUNNER_START_WAIT_S,
};

/**
 * A setting the runner cannot use, found once it starts (a --work-dir it cannot create): what to fix
 * is in the message, so the CLI prints it as one line, without a stack trace.
 */
export class SettingError extends Error {
  override name = 'SettingError';
}

/** What a failed mkdir of --work-dir means, for the few codes a person can act on. */
const MKDIR_REASONS: Record<string, string> = {
  ENOTDIR: 'a part of its path is a file, not a folder',
  EEXIST: 'it is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  ENAMETOOLONG: 'the path is too long',
  ELOOP: 'too many symbolic links in its path',
};

/** `cannot create --work-dir /x (ENOTDIR: a part of its path is a file, not a folder); pass ...` */
export function workDirError(path: string, err: unknown): SettingError {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const known = code ? MKDIR_REASONS[code] : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // Node's own message repeats the code and the path: `ENOTDIR: not a directory, mkdir '/x'`
  const why = known ? `${code}: ${known}` : code && !message.includes(code) ? `${code}: ${message}` : message;
  return new SettingError(
    `cannot create --work-dir ${path} (${why}); pass a writable folder as --work-dir or BENCHFLEET_WORK_DIR`,
  );
}

export type RunnerInput = Pick<RunnerOptions, 'apiUrl' | 'apiKey' | 'provider' | 'instanceType'> &
  Partial<RunnerOptions>;

/** Fills defaults and checks the combinations a flag parser cannot. */
export function resolveOptions(input: RunnerInput): RunnerOptions {
  const o: RunnerOptions = { ...DEFAULTS, ...stripUndefined(input) } as RunnerOptions;
  if (o.executor === 'command' && !o.command) throw new Error('--executor command needs --command CMD');
  if (!/^https?:\/\//.test(o.apiUrl)) throw new Error(`--api must be an http(s) URL, got ${o.apiUrl}`);
  if (!(o.heartbeatS > 0)) throw new Error('--heartbeat-s must be positive');
  if (!(o.taskTimeoutS > 0)) throw new Error('--task-timeout-s must be positive');
  for (const [flag, v] of [
    ['--heartbeat-s', o.heartbeatS],
    ['--task-timeout-s', o.taskTimeoutS],
  ] as const) {
    if (v > MAX_TIMER_S) throw new Error(`${flag} ${v} is too long: ${timerLimitText}`);
  }
  if (!(o.maxRetryS >= 0)) throw new Error('--max-retry-s must be zero or more');
  if (!(o.startWaitS > 0)) throw new Error('--start-wait-s must be positive');
  if (typeof o.slots === 'number' && (!Number.isInteger(o.slots) || o.slots < 1 || o.slots > MAX_SLOTS)) {
    throw new Error(`--slots must be ${SLOTS_CHOICES}, got ${o.slots}`);
  }
  // each slot's runner id is `<host-id>-<slot>`, and the API refuses one over RunnerId's length
  const maxHostId = (RunnerId.maxLength ?? 128) - '-1023'.length;
  if (o.hostId !== undefined && (o.hostId.length < 1 || o.hostId.length > maxHostId)) {
    throw new Error(`--host-id must be 1 to ${maxHostId} characters, got ${o.hostId.length}`);
  }
  if (o.hostId !== undefined && !RunnerId.safeParse(o.hostId).success) {
    throw new Error(
      `--host-id ${JSON.stringify(o.hostId)} holds control characters, which the API refuses in a runner id`,
    );
  }
  return o;
}

export const timerLimitText = `at most ${MAX_TIMER_S} s (about 24.8 days) is allowed, the longest wait Node's timers can hold`;

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
