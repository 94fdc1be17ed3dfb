// Entry point: reads config.json, then polls GET /run and one page of GET /run/tasks, updating the
// page in place. Every 5 s while visible, every 30 s while the tab is hidden, at once on return.
import type { RunView, TaskListResponse } from '../../lambdas/shared/contract';
import { type ApiClient, ApiError, createApiClient, UnreachableError } from './api';
import { renderKeyState, setupKeyDialog, setupStopDialog } from './dialogs';
import { byId, setText, show, toggleClass } from './dom';
import { formatClock } from './format';
import { forgetKey, getKey } from './key';
import { Summary } from './summary';
import { TaskTable } from './tasks';

const HIDDEN_MS = 30_000;
const PAGE_SIZE = 100;

interface Config {
  apiUrl: string;
  refreshSeconds?: number;
}

async function loadConfig(): Promise<Config> {
  const res = await fetch('config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`config.json answered HTTP ${res.status}`);
  const cfg = (await res.json()) as Partial<Config>;
  if (typeof cfg.apiUrl !== 'string' || !/^https?:\/\//.test(cfg.apiUrl)) {
    throw new Error('config.json has no http(s) apiUrl');
  }
  return cfg as Config;
}

let flashTimer: ReturnType<typeof setTimeout> | undefined;

/** A short confirmation ("Run cancelled successfully") that goes away by itself. */
function flash(words: string): void {
  const box = byId('flash');
  setText(box, words);
  show(box, true);
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => show(box, false), 20_000);
}

/** The "cannot reach the API" banner; its text stays the same across retries so it is announced once. */
function notice(words: string | undefined, canRetry = true): void {
  show(byId('notice'), words !== undefined);
  toggleClass(byId('main'), 'is-stale', words !== undefined);
  if (words === undefined) return;
  setText(byId('notice-text'), words);
  show(byId('retry-now'), canRetry);
}

class Dashboard {
  private run: RunView | undefined;
  private tasks: TaskListResponse | undefined;
  private sentKey = false;
  private lastOk: number | undefined;
  private inFlight = false;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private cursors: Array<string | undefined> = [undefined];
  /** The page asked for, and the page `tasks` belongs to: they differ while a page turn loads. */
  private page = 0;
  private shownPage = 0;
  private refreshes = 0;
  private readonly summary = new Summary();
  private readonly table = new TaskTable();

  constructor(
    private readonly api: ApiClient,
    private readonly visibleMs: number,
  ) {}

  start(): void {
    const hooks = {
      api: this.api,
      changed: (words?: string) => {
        if (words) flash(words);
        void this.refresh();
      },
    };
    setupKeyDialog(hooks);
    setupStopDialog(hooks, () => this.run);
    byId('retry-now').addEventListener('click', () => void this.refresh());
    byId('page-prev').addEventListener('click', () => this.turn(-1));
    byId('page-next').addEventListener('click', () => this.turn(1));
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) this.schedule();
      else void this.refresh();
    });
    // ages and elapsed time tick every second from the last answer, without asking the API
    setInterval(() => {
      if (!document.hidden) this.render();
    }, 1000);
    void this.refresh();
  }

  private turn(delta: number): void {
    // a turn while the previous one loads would read the old page's cursor: ignore it
    if (this.shownPage !== this.page) return;
    if (delta > 0 && !this.tasks?.next_cursor) return;
    if (delta < 0 && this.page === 0) return;
    if (delta > 0) this.cursors[this.page + 1] = this.tasks?.next_cursor ?? undefined;
    this.page += delta;
    void this.refresh();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), document.hidden ? HIDDEN_MS : this.visibleMs);
  }

  async refresh(): Promise<void> {
    if (this.inFlight) {
      this.again = true; // a click arrived mid-refresh: run once more right after
      return;
    }
    this.inFlight = true;
    try {
      await this.fetchAll();
      this.lastOk = Date.now();
      notice(undefined);
    } catch (err) {
      const since = this.lastOk
        ? ` The figures below are from ${formatClock(new Date(this.lastOk).toISOString(), Date.now())}.`
        : '';
      const every = `Retrying every ${Math.round(this.visibleMs / 1000)} s.`;
      const what =
        err instanceof UnreachableError
          ? `Cannot reach the API at ${this.api.baseUrl}.`
          : `The API answered with an error: ${err instanceof Error ? err.message : String(err)}`;
      notice(`${what} ${every}${since}`);
    } finally {
      this.inFlight = false;
      this.refreshes += 1;
      document.body.dataset.refreshes = String(this.refreshes);
      this.render();
      if (this.again) {
        this.again = false;
        void this.refresh();
      } else {
        this.schedule();
      }
    }
  }

  private async fetchAll(): Promise<void> {
    let key = getKey();
    let run: RunView | undefined;
    try {
      run = await this.api.getRun(key);
    } catch (err) {
      if (!(key && err instanceof ApiError && err.status === 401)) throw err;
      forgetKey();
      renderKeyState();
      flash(`The saved operator key was not accepted (${err.message}); it has been forgotten.`);
      key = undefined;
      run = await this.api.getRun();
    }
    if (run?.run_id !== this.run?.run_id) {
      // a new run: the old run's task page must not show under it, even if the next call fails
      this.cursors = [undefined];
      this.page = 0;
      this.shownPage = 0;
      this.tasks = undefined;
    }
    this.run = run;
    this.sentKey = key !== undefined;
    if (!run) {
      this.tasks = undefined;
      return;
    }
    const page = this.page;
    try {
      this.tasks = await this.api.listTasks(PAGE_SIZE, this.cursors[page]);
      this.shownPage = page;
    } catch (err) {
      // a cursor from an older listing may no longer be valid: fall back to the first page
      if (!(err instanceof ApiError && err.status === 400 && page > 0)) throw err;
      this.cursors = [undefined];
      this.page = 0;
      this.tasks = await this.api.listTasks(PAGE_SIZE);
      this.shownPage = 0;
    }
  }

  private render(): void {
    if (this.lastOk !== undefined) {
      setText(byId('updated'), `Updated ${formatClock(new Date(this.lastOk).toISOString(), Date.now())}`);
    }
    const now = this.api.serverNow(); // ages are measured on the API's clock, not the browser's
    const known = this.lastOk !== undefined;
    show(byId('loading'), !known);
    show(byId('idle'), known && !this.run);
    show(byId('run'), known && this.run !== undefined);
    if (!this.run) {
      document.title = 'Benchfleet: idle';
      return;
    }
    const t = this.run.tasks;
    // the tab title alone tells a watcher how far the run is
    document.title = `${t.completed + t.failed + t.cancelled}/${t.total} · Run ${this.run.run_id} · Benchfleet`;
    this.summary.render(this.run, now, this.sentKey);
    const tasks = this.tasks?.tasks ?? [];
    this.table.render(tasks, this.run.tasks.failed, now);
    const first = this.shownPage * PAGE_SIZE; // the label always describes the rows shown
    setText(
      byId('page-label'),
      tasks.length
        ? `${first + 1}–${first + tasks.length} of ${this.run.tasks.total}`
        : `0 of ${this.run.tasks.total}`,
    );
    const loading = this.shownPage !== this.page;
    byId('page-prev').setAttribute('aria-disabled', String(loading || this.shownPage === 0));
    byId('page-next').setAttribute('aria-disabled', String(loading || !this.tasks?.next_cursor));
    show(byId('page-prev').parentElement!, this.shownPage > 0 || Boolean(this.tasks?.next_cursor));
  }
}

async function boot(): Promise<void> {
  let cfg: Config;
  try {
    cfg = await loadConfig();
  } catch (err) {
    notice(
      `This page cannot find its API: ${err instanceof Error ? err.message : String(err)}. Retrying in 5 s.`,
      false,
    );
    setTimeout(() => void boot(), 5000);
    return;
  }
  const seconds =
    cfg.refreshSeconds && cfg.refreshSeconds > 0 ? Math.min(Math.max(cfg.refreshSeconds, 1), 60) : 5;
  new Dashboard(createApiClient(cfg.apiUrl), seconds * 1000).start();
}

void boot();
