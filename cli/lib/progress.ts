// Live progress of a run, shared by `start` and `watch`: counts per instance type and, for the
// active tasks, status, current benchmark, percent and heartbeat age. On a terminal the block is
// redrawn in place; in a log (not a TTY) a line is printed only when something changed.
import type { RunStatus, RunView, TaskView } from '../../lambdas/shared/contract';
import { RUN_STATUSES } from '../../lambdas/shared/enums';
import { type ApiClient, ApiError, NotJsonAnswer, RUNNER_KEY } from './api';
import { CliError } from './errors';
import { forTerminal } from './terminal';
import { buildsWords } from './version-skew';

export const FINAL_STATUSES: readonly RunStatus[] = ['complete', 'cancelled', 'assembly_failed'];

/**
 * Whether this CLI knows a run status. One it does not comes from an API newer than this checkout
 * (a status added since): neither final nor at work can be told of it, so watches stop and say so
 * rather than poll forever, and the guards of start, teardown and nuke take it as at work.
 */
export const knownStatus = (status: string): boolean => (RUN_STATUSES as readonly string[]).includes(status);
const SHOWN_TASKS = 15;

/**
 * BENCHFLEET_POLL_MS sets the poll (tests); else the caller's pace (local mode's API is in the
 * same process, where a poll costs next to nothing), else the dashboard's.
 */
export function pollMs(preferred = 5_000): number {
  const n = Number(process.env.BENCHFLEET_POLL_MS);
  return Number.isFinite(n) && n > 0 ? n : preferred;
}

/** Local mode's pace: a run that ends is seen, and delivered, within a second, not five. */
export const LOCAL_POLL_MS = 1_000;

export function summaryLine(run: RunView): string {
  const c = run.tasks;
  const done = c.completed + c.failed + c.cancelled;
  const parts = [`${done}/${c.total} finished`, `${c.completed} completed`];
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.cancelled) parts.push(`${c.cancelled} cancelled`);
  parts.push(`${c.claimed + c.running} running`, `${c.pending} pending`);
  return `run ${run.run_id} ${run.status}: ${parts.join(', ')}`;
}

export function renderRun(run: RunView, tasks: TaskView[], now: Date): string[] {
  const lines = [summaryLine(run)];
  const width = Math.max(12, ...run.instance_types.map((t) => t.instance_type.length));
  for (const t of run.instance_types) {
    const c = t.counts;
    const finished = c.completed + c.failed + c.cancelled;
    const bar = progressBar(finished, c.total, 10);
    const extra = [
      c.failed ? `${c.failed} failed` : '',
      c.cancelled ? `${c.cancelled} cancelled` : '',
      c.claimed + c.running ? `${c.claimed + c.running} running` : '',
      c.pending ? `${c.pending} pending` : '',
    ].filter(Boolean);
    lines.push(
      `  ${t.provider.padEnd(5)} ${t.instance_type.padEnd(width)} ${bar} ${c.completed}/${c.total} completed${extra.length ? `, ${extra.join(', ')}` : ''}`,
    );
  }
  const active = tasks.filter((t) => t.status === 'claimed' || t.status === 'running');
  for (const t of active.slice(0, SHOWN_TASKS)) lines.push(`    ${taskLine(t, now)}`);
  if (active.length > SHOWN_TASKS) lines.push(`    ... and ${active.length - SHOWN_TASKS} more active tasks`);
  return lines;
}

export function taskLine(t: TaskView, now: Date): string {
  const bench = t.current_benchmark ? ` ${forTerminal(t.current_benchmark)}` : '';
  const pct = t.progress_pct === null ? '' : ` ${Math.round(t.progress_pct)}%`;
  const hb = t.heartbeat_at
    ? ` heartbeat ${age(now.getTime() - Date.parse(t.heartbeat_at))} ago`
    : ' no heartbeat yet';
  const state = t.heartbeat_status ?? t.status;
  return `task ${t.id} ${t.instance_type} run ${t.run}: ${state}${bench}${pct},${hb}`;
}

function progressBar(n: number, total: number, width: number): string {
  const filled = total === 0 ? 0 : Math.round((n / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface WatchOptions {
  /** Ask with the operator key, so the final view carries `gzip_url`. */
  withKey?: boolean;
  /** One JSON line per change on stdout instead of the human block on stderr. */
  json?: boolean;
  /** Stop when this run is no longer the current one (another run started). */
  runId?: number;
  /** The pace of the polls, in ms (default 5 s; BENCHFLEET_POLL_MS overrides it). */
  pollMs?: number;
  /**
   * How long polls may keep failing before the watch gives up, in ms (default: MAX_FAILED_POLLS
   * polls, a minute). Past MAX_FAILED_POLLS failures, it polls MAX_FAILED_POLLS times slower.
   * `start` waits out a network that is down for as long as its VMs may live: it tears the fleets
   * down at the end, and a watch that gives up leaves them (and on Azure, their network) up.
   */
  patienceMs?: number;
}

export const MAX_FAILED_POLLS = 12;
/** Throttling (429, as API Gateway answers) and request timeouts pass like a 5xx does. */
const TRANSIENT_4XX: ReadonlyMap<number, string> = new Map([
  [429, 'the API is throttling the polls (Too Many Requests), retrying'],
  [408, 'the API timed out a poll (Request Timeout), retrying'],
]);

/** What a failed poll says: why, and how long the watch keeps trying. */
function retryNote(err: unknown, failures: number, giveUpAt: Date | undefined): string {
  const transient = err instanceof ApiError ? TRANSIENT_4XX.get(err.status) : undefined;
  const why = transient ?? `polling failed, retrying: ${(err as Error).message}`;
  const until = giveUpAt
    ? `the watch keeps trying until ${giveUpAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, the VMs' maximum life; Ctrl-C leaves the run going`
    : `the watch gives up after ${MAX_FAILED_POLLS}`;
  return `${why} (${failures} failed in a row; ${until})`;
}

/** Polls until the run is complete, cancelled or assembly_failed; answers the last view. */
export async function watchRun(api: ApiClient, opts: WatchOptions = {}): Promise<RunView> {
  const tty = !opts.json && process.stderr.isTTY === true;
  let drawn = 0;
  let last = '';
  let failures = 0;
  let failingSince = 0;
  let finalPolls = 0;
  let withKey = opts.withKey;
  let keyWorked = false;
  for (;;) {
    let run: RunView;
    let tasks: TaskView[] = [];
    try {
      run = await api.getRun(withKey);
      keyWorked ||= withKey === true;
      const c = run.tasks;
      if (!opts.json && c.claimed + c.running > 0) tasks = await api.listTasks();
      failures = 0;
      failingSince = 0;
    } catch (err) {
      // No run, a wrong URL or a wrong key will not fix itself: say so at once.
      if ((err instanceof ApiError || err instanceof NotJsonAnswer) && err.status === 404) {
        throw api.runNotFound(err);
      }
      // the runner key was never the operator's: not rotated, just wrong for the archive link
      if (withKey && keyWorked && err instanceof ApiError && err.status === 401 && err.code !== RUNNER_KEY) {
        // accepted earlier in this watch, so changed since (rotated): the run goes on all the same
        process.stderr.write(
          `(${err.message}\nIt was accepted earlier in this run, so it was probably rotated: watching on without it; the end will have no archive link)\n`,
        );
        withKey = false;
        drawn = 0;
        continue;
      }
      if (err instanceof ApiError && err.status < 500 && !TRANSIENT_4XX.has(err.status)) throw err;
      failures += 1;
      failingSince ||= Date.now();
      const giveUpAt = opts.patienceMs === undefined ? undefined : new Date(failingSince + opts.patienceMs);
      if (failures >= MAX_FAILED_POLLS && (!giveUpAt || Date.now() >= giveUpAt.getTime())) throw err;
      process.stderr.write(`(${retryNote(err, failures, giveUpAt)})\n`);
      // The note sits below the drawn block: start the next one afresh rather than redraw over it.
      drawn = 0;
      await sleep(pollMs(opts.pollMs) * (failures >= MAX_FAILED_POLLS ? MAX_FAILED_POLLS : 1));
      continue;
    }
    if (opts.runId !== undefined && run.run_id !== opts.runId) {
      throw new CliError(
        `run ${opts.runId} is no longer the current run (run ${run.run_id} is); see \`benchfleet status\``,
      );
    }
    if (!knownStatus(run.status)) {
      const builds = api.otherBuild();
      throw new CliError(
        `run ${run.run_id} has the status ${JSON.stringify(forTerminal(run.status))}, which this CLI does not know: the API at ${api.url} is likely newer than this checkout${builds ? ` (${buildsWords(builds)})` : ''}. Nothing was changed; update the checkout (\`git pull && npm ci\`), then \`benchfleet watch\` follows the run again`,
      );
    }
    const final = FINAL_STATUSES.includes(run.status);
    if (opts.json) {
      const key = JSON.stringify({ s: run.status, t: run.tasks, g: run.gzip_url !== null });
      if (key !== last) process.stdout.write(`${JSON.stringify(run)}\n`);
      last = key;
    } else if (tty) {
      // Cut lines to the terminal's width: a wrapped line would throw off the redraw below.
      const width = Math.max(20, (process.stderr.columns ?? 120) - 1);
      const lines = renderRun(run, tasks, new Date()).map((l) => l.slice(0, width));
      // Move up over the previous block and clear it, then draw the new one.
      if (drawn > 0) process.stderr.write(`\x1b[${drawn}F\x1b[0J`);
      process.stderr.write(`${lines.join('\n')}\n`);
      drawn = lines.length;
    } else {
      const lines = renderRun(run, tasks, new Date());
      const key = lines.map((l) => l.replace(/heartbeat \S+ ago/, '')).join('\n');
      if (key !== last) process.stderr.write(`${lines.join('\n')}\n`);
      last = key;
    }
    // A finished run may need a moment before its archive URL shows; wait for it when we can see it.
    if (final) finalPolls += 1;
    if (final && (!withKey || run.gzip_url !== null || run.status === 'assembly_failed' || finalPolls > 10)) {
      return run;
    }
    await sleep(pollMs(opts.pollMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
