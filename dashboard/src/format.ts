// Pure helpers for the page: durations, ages, staleness and labels. No DOM here, so jest tests them in node.
import type { RunStatus, RunView, TaskCounts, TaskStatus, TaskView } from '../../lambdas/shared/contract';

/** A heartbeat older than this stands out (the runner beats every 30 s; the reaper gives up at 120 s). */
export const STALE_AFTER_MS = 60_000;

/** STALE_AFTER_MS in words, for the note that counts stale tasks: `a minute`, `90 s`. */
export function staleAfterWords(ms = STALE_AFTER_MS): string {
  if (ms % 60_000 !== 0) return `${Math.round(ms / 1000)} s`;
  return ms === 60_000 ? 'a minute' : `${ms / 60_000} minutes`;
}

/** Display order of task statuses: finished first in bars, so progress grows from the left. */
export const STATUS_ORDER = [
  'completed',
  'failed',
  'cancelled',
  'running',
  'claimed',
  'pending',
] as const satisfies readonly TaskStatus[];

const ACTIVE: readonly TaskStatus[] = ['claimed', 'running'];

export const RUN_STATUS_LABEL: Record<RunStatus, string> = {
  running: 'Running',
  assembling: 'Assembling the archive',
  complete: 'Complete',
  cancelled: 'Ended early',
  assembly_failed: 'Archive assembly failed',
};

/** `1h 02m`, `4m 05s`, `12s`: short and unambiguous at a glance. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (h > 0) return `${h}h ${pad(m)}m`;
  if (m > 0) return `${m}m ${pad(s)}s`;
  return `${s}s`;
}

export function parseTime(iso: string | null): number | undefined {
  if (iso === null) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** `12s ago`; a clock a little ahead of the browser's reads as `just now`, not a negative age. */
export function formatAge(iso: string | null, now: number): string {
  const t = parseTime(iso);
  if (t === undefined) return '';
  const ms = now - t;
  if (ms < 1000) return 'just now';
  return `${formatDuration(ms)} ago`;
}

/** Local wall-clock time with the date only when it is not today. */
export function formatClock(iso: string | null, now: number): string {
  const t = parseTime(iso);
  if (t === undefined) return '';
  const d = new Date(t);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  if (d.toDateString() === new Date(now).toDateString()) return time;
  return `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}

/**
 * A claimed or running task whose last sign of life (heartbeat, else the claim) is older than
 * STALE_AFTER_MS. Finished and pending tasks are never stale.
 */
export function isStale(
  task: Pick<TaskView, 'status' | 'heartbeat_at' | 'claimed_at'>,
  now: number,
): boolean {
  if (!ACTIVE.includes(task.status)) return false;
  const last = parseTime(task.heartbeat_at) ?? parseTime(task.claimed_at);
  return last !== undefined && now - last > STALE_AFTER_MS;
}

/** Elapsed time of a run: to its end when it has one, else to now. */
export function runElapsed(
  run: { created_at: string; finished_at: string | null; completed_at: string | null },
  now: number,
): string {
  const start = parseTime(run.created_at);
  if (start === undefined) return '';
  const end = parseTime(run.finished_at) ?? parseTime(run.completed_at) ?? now;
  return formatDuration(end - start);
}

export function finishedCount(c: Omit<TaskCounts, 'total'>): number {
  return c.completed + c.failed + c.cancelled;
}

/** Percent widths of each status in a bar; they sum to 100 when total > 0. */
export function barSegments(c: TaskCounts): Array<{ status: TaskStatus; pct: number; count: number }> {
  if (c.total <= 0) return [];
  return STATUS_ORDER.filter((s) => c[s] > 0).map((s) => ({
    status: s,
    count: c[s],
    pct: (c[s] / c.total) * 100,
  }));
}

/** A sentence a screen reader can say instead of a coloured bar. */
export function describeCounts(c: TaskCounts): string {
  const parts = STATUS_ORDER.filter((s) => c[s] > 0).map((s) => `${c[s]} ${s}`);
  return `${finishedCount(c)} of ${c.total} finished${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

export function clampPct(p: number | null): number | undefined {
  if (p === null || Number.isNaN(p)) return undefined;
  return Math.min(100, Math.max(0, p));
}

/** Only http(s) links are ever put in an href: a value from the network must not become `javascript:`. */
export function safeHttpUrl(raw: string | null): string | undefined {
  if (!raw) return undefined;
  try {
    const u = new URL(raw);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

export type ArchiveState =
  | { kind: 'none' }
  | { kind: 'assembling' }
  | { kind: 'failed'; reason: string }
  | { kind: 'link'; url: string }
  | { kind: 'locked' }
  | { kind: 'key_rejected' };

/**
 * True when the API hands `gzip_url` to a valid key (the archive is built and the run is over), so a
 * GET /run sent with a key and answered without the URL means the API refused that key.
 */
export function archiveUnlockable(run: Pick<RunView, 'status' | 'archive_key'>): boolean {
  return run.archive_key !== null && (run.status === 'complete' || run.status === 'cancelled');
}

/**
 * What to say about the results archive. `gzip_url` comes only with a valid key, so a ready archive
 * without one is `key_rejected` when the saved key was refused, and `locked` otherwise.
 */
export function archiveState(
  run: Pick<RunView, 'status' | 'gzip_url' | 'archive_key' | 'assembly_error'>,
  keyRefused: boolean,
): ArchiveState {
  const url = safeHttpUrl(run.gzip_url);
  if (url) return { kind: 'link', url };
  if (run.status === 'assembling') return { kind: 'assembling' };
  if (run.status === 'assembly_failed') {
    return { kind: 'failed', reason: run.assembly_error ?? 'no reason was recorded' };
  }
  const ready = run.archive_key !== null || run.status === 'complete' || run.status === 'cancelled';
  if (!ready) return { kind: 'none' };
  return keyRefused ? { kind: 'key_rejected' } : { kind: 'locked' };
}

/** The rows of the task table on screen: tasks `first`–`last` (1-based), or the whole run. */
export interface PageScope {
  first: number;
  last: number;
  /** The page holds every task of the run: what it shows is the run's. */
  whole: boolean;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The stale-heartbeat note; it can only speak for the page of tasks the page has read. */
export function staleNote(stale: number, oldestMs: number, scope: PageScope): string {
  const what = `${plural(stale, 'task')} without a heartbeat for over ${staleAfterWords()} (oldest ${formatDuration(oldestMs)})`;
  return scope.whole ? what : `On this page: ${what}. Other pages are checked only when shown.`;
}

/** Beside the failed tasks listed (those of the page on screen): how many the whole run has. */
export function failedNote(shown: number, total: number, scope: PageScope): string {
  if (scope.whole || shown >= total) return '';
  const page = `this page of the task table (tasks ${scope.first}–${scope.last})`;
  if (shown === 0) {
    return `${plural(total, 'failed task')} in this run, none on ${page}. Turn its pages to see ${total === 1 ? 'it' : 'them'}.`;
  }
  return `${shown} of ${total} failed tasks shown: those on ${page}. Turn its pages to see the others.`;
}
