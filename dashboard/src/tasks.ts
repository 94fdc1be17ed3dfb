// The live task table (one page of GET /run/tasks) and the failed tasks of that page. The notes
// drawn from the rows say they cover the page on screen whenever the run has more than one page.
import type { TaskView } from '../../lambdas/shared/contract';
import { byId, el, KeyedList, setAttr, setText, show, toggleClass } from './dom';
import { clampPct, failedNote, formatAge, isStale, type PageScope, parseTime, staleNote } from './format';

const COLUMNS = [
  'Task',
  'Provider',
  'Instance type',
  'Run',
  'Status',
  'Runner',
  'Heartbeat',
  'Benchmark',
  'Progress',
] as const;

function createRow(t: TaskView): HTMLTableRowElement {
  // data-label feeds the stacked phone layout (styles.css), where the header row is hidden
  const cells = COLUMNS.map((label, i) =>
    el(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row', 'data-label': label } : { 'data-label': label }),
  );
  const tr = el('tr', { 'data-task-id': String(t.id) }, ...cells);
  cells[4]!.append(el('span', { class: 'badge' }));
  cells[6]!.append(
    el('span', { class: 'hb-text' }),
    el('span', { class: 'stale-badge', hidden: '' }, 'stale'),
  );
  cells[8]!.append(el('progress', { max: '100' }), el('span', { class: 'pct' }));
  return tr;
}

const FINISHED: readonly string[] = ['completed', 'failed', 'cancelled'];

function heartbeatText(t: TaskView, now: number): string {
  // a finished task's last heartbeat says "running": its end is what matters now
  if (FINISHED.includes(t.status)) return t.finished_at ? `ended ${formatAge(t.finished_at, now)}` : '—';
  if (t.heartbeat_at === null) {
    return t.claimed_at === null ? '—' : `no heartbeat, claimed ${formatAge(t.claimed_at, now)}`;
  }
  return [t.heartbeat_status, formatAge(t.heartbeat_at, now)].filter(Boolean).join(' · ');
}

function updateRow(tr: HTMLTableRowElement, t: TaskView, now: number): void {
  const c = tr.cells;
  setAttr(tr, 'data-status', t.status);
  setText(c[0]!, String(t.id));
  setText(c[1]!, t.provider);
  setText(c[2]!, t.instance_type);
  setText(c[3]!, t.attempt > 1 ? `${t.run} (attempt ${t.attempt})` : String(t.run));
  const badge = c[4]!.firstElementChild!;
  setText(badge, t.status);
  setAttr(badge, 'class', `badge task-${t.status}`);
  setText(c[5]!, t.runner_id ?? '—');
  toggleClass(c[5]!, 'empty', t.runner_id === null);
  const hb = heartbeatText(t, now);
  setText(c[6]!.querySelector('.hb-text')!, hb);
  toggleClass(c[6]!, 'empty', hb === '—');
  setAttr(c[6]!, 'title', t.heartbeat_message ?? undefined);
  const stale = isStale(t, now);
  toggleClass(tr, 'stale', stale);
  show(c[6]!.querySelector<HTMLElement>('.stale-badge')!, stale);
  // a completed task is done, whatever its last heartbeat said; a failed or cancelled one keeps
  // where it stopped, which helps to tell a broken benchmark from a lost VM
  const done = t.status === 'completed';
  const bench = done ? null : t.current_benchmark;
  setText(c[7]!, bench ?? '—');
  toggleClass(c[7]!, 'empty', bench === null);
  const pct = done ? 100 : clampPct(t.progress_pct);
  const bar = c[8]!.querySelector('progress')!;
  show(bar, pct !== undefined);
  if (pct !== undefined && bar.value !== pct) bar.value = pct;
  setAttr(bar, 'aria-label', pct === undefined ? undefined : `task ${t.id} progress`);
  setText(c[8]!.querySelector('.pct')!, pct === undefined ? '—' : `${Math.round(pct)}%`);
  toggleClass(c[8]!, 'empty', pct === undefined);
}

function createFailed(t: TaskView): HTMLLIElement {
  return el(
    'li',
    { 'data-task-id': String(t.id) },
    el(
      'div',
      { class: 'failed-head' },
      el('strong', { class: 'failed-what' }),
      el('code', { class: 'error-type' }),
    ),
    el('p', { class: 'error-message' }),
  );
}

function updateFailed(li: HTMLLIElement, t: TaskView, now: number): void {
  const ago = t.finished_at ? `, ${formatAge(t.finished_at, now)}` : '';
  setText(
    li.querySelector('.failed-what')!,
    `Task ${t.id}: ${t.provider} ${t.instance_type} run ${t.run}${ago}`,
  );
  setText(li.querySelector('.error-type')!, t.error_type ?? 'unknown error');
  setText(li.querySelector('.error-message')!, t.error_message ?? 'No message was recorded.');
}

export class TaskTable {
  private now = Date.now();
  private readonly rows = new KeyedList<TaskView, HTMLTableRowElement>(
    byId('task-rows'),
    (t) => String(t.id),
    createRow,
    (tr, t) => updateRow(tr, t, this.now),
  );
  private readonly failed = new KeyedList<TaskView, HTMLLIElement>(
    byId('failed'),
    (t) => String(t.id),
    createFailed,
    (li, t) => updateFailed(li, t, this.now),
  );

  /** `failedTotal` is the run's count; the list can only show the failures on this page. */
  render(tasks: readonly TaskView[], failedTotal: number, now: number, scope: PageScope): void {
    this.now = now;
    this.rows.render(tasks);
    show(byId('tasks-empty'), tasks.length === 0);

    const stale = tasks.filter((t) => isStale(t, now));
    const staleBox = byId('stale-note');
    show(staleBox, stale.length > 0);
    if (stale.length > 0) {
      const oldest = Math.max(...stale.map((t) => now - (parseTime(t.heartbeat_at ?? t.claimed_at) ?? now)));
      setText(staleBox, staleNote(stale.length, oldest, scope));
    }

    const failed = tasks.filter((t) => t.status === 'failed');
    this.failed.render(failed);
    show(byId('failed-section'), failedTotal > 0);
    const failedWords = failedNote(failed.length, failedTotal, scope);
    setText(byId('failed-note'), failedWords);
    show(byId('failed-note'), failedWords !== '');
  }
}
