// Entry point: reads config.json, then polls GET /run and one page of GET /run/tasks, updating the
// page in place. Every `refreshSeconds` (5 s by default) while visible, every HIDDEN_MS while the
// tab is hidden, at once on return.
import type { RunView, TaskListResponse } from '../../lambdas/shared/contract';
import { type ApiClient, ApiError, createApiClient, TIMEOUT_MS, UnreachableError } from './api';
import { renderKeyState, setupKeyDialog, setupStopDialog } from './dialogs';
import { byId, setText, show, toggleClass } from './dom';
import { archiveUnlockable, formatClock } from './format';
import { acceptKey, getKey, keyStatus, refuseKey } from './key';
import { Summary } from './summary';
import { TaskTable } from './tasks';

/** The refresh interval of a hidden tab; the notice states it from here too. */
const HIDDEN_MS = 30_000;
/** How soon a page that could not read config.json tries again. */
const CONFIG_RETRY_MS = 5_000;
const PAGE_SIZE = 100;

/** `5 s`: an interval as the page states it. */
const inSeconds = (ms: number): string => `${Math.round(ms / 1000)} s`;

interface Config {
  apiUrl: string;
  refreshSeconds?: number;
  /** How long one API call may take, body included (default TIMEOUT_MS); tests shorten it. */
  timeoutSeconds?: number;
}

async function loadConfig(): Promise<Config> {
  // a config.json that hangs (headers or body) must not leave the page at "Loading…" for good
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  try {
    const res = await fetch('config.json', { cache: 'no-store', signal: ctrl.signal });
    if (!res.ok) throw new Error(`config.json answered HTTP ${res.status}`);
    const cfg = (await res.json()) as Partial<Config>;
    if (typeof cfg.apiUrl !== 'string' || !/^https?:\/\//.test(cfg.apiUrl)) {
      throw new Error('config.json has no http(s) apiUrl');
    }
    return cfg as Config;
  } catch (err) {
    if (ctrl.signal.aborted) throw new Error('config.json did not arrive in time', { cause: err });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** A positive number of seconds from config.json, kept within [min, max]; `fallback` otherwise. */
function seconds(value: unknown, fallback: number, min: number, max: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? Math.min(Math.max(n, min), max) : fallback;
}

/** What one refresh read: committed to the page all at once, so a frame never mixes two answers. */
interface Snapshot {
  run: RunView | undefined;
  /** Always the list of `run` (same run_id), or undefined. */
  tasks: TaskListResponse | undefined;
  /** The key GET /run was sent with, if any: the answer says whether the API accepted it. */
  sentKey: string | undefined;
  /** The page `tasks` is. */
  page: number;
  /** Paging starts over: a new run, or a cursor the API no longer accepted. */
  reset: boolean;
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
  private lastOk: number | undefined;
  /** Why the last refresh failed, for the notice; its retry interval is added when it is shown. */
  private problem: string | undefined;
  private inFlight = false;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private cursors: Array<string | undefined> = [undefined];
  /** The row each page starts at (from 0): a page may hold fewer tasks than asked for. */
  private firsts: number[] = [0];
  /** The page asked for, and the page `tasks` belongs to: they differ while a page turn loads. */
  private page = 0;
  private shownPage = 0;
  private refreshes = 0;
  private readonly summary = new Summary();
  private readonly table = new TaskTable();
  private syncStopDialog: (run: RunView | undefined) => void = () => undefined;

  constructor(
    private readonly api: ApiClient,
    private readonly visibleMs: number,
    /** A refresh that has not settled by then is given up (each call has its own, shorter timeout). */
    private readonly watchdogMs: number,
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
    this.syncStopDialog = setupStopDialog(hooks, () => this.run);
    byId('retry-now').addEventListener('click', () => void this.refresh());
    byId('page-prev').addEventListener('click', () => this.turn(-1));
    byId('page-next').addEventListener('click', () => this.turn(1));
    document.addEventListener('visibilitychange', () => {
      this.showProblem(); // the interval the notice states changes with the tab's visibility
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
    if (delta > 0) {
      this.cursors[this.page + 1] = this.tasks?.next_cursor ?? undefined;
      this.firsts[this.page + 1] = (this.firsts[this.page] ?? 0) + (this.tasks?.tasks.length ?? 0);
    }
    this.page += delta;
    void this.refresh();
  }

  /** The interval in use now: the one the poller waits, and the one the notice states. */
  private delayMs(): number {
    return document.hidden ? HIDDEN_MS : this.visibleMs;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), this.delayMs());
  }

  private showProblem(): void {
    if (this.problem === undefined) {
      notice(undefined);
      return;
    }
    const hidden = document.hidden ? ' while this tab is hidden' : '';
    const since = this.lastOk
      ? ` The figures below are from ${formatClock(new Date(this.lastOk).toISOString(), Date.now())}.`
      : '';
    notice(`${this.problem} Retrying every ${inSeconds(this.delayMs())}${hidden}.${since}`);
  }

  async refresh(): Promise<void> {
    if (this.inFlight) {
      this.again = true; // a click arrived mid-refresh: run once more right after
      return;
    }
    this.inFlight = true;
    try {
      this.commit(await this.fetchWithin(this.watchdogMs));
      this.lastOk = Date.now();
      this.problem = undefined;
    } catch (err) {
      this.problem =
        err instanceof UnreachableError
          ? `Cannot reach the API at ${this.api.baseUrl}.`
          : `The API answered with an error: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      this.showProblem();
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

  /**
   * fetchAll, given up after `ms`: a second guard, beside each call's own timeout, so that nothing
   * can keep `inFlight` set (and polling stopped) for good. A late answer of a given-up refresh is
   * dropped: only the snapshot returned here is ever committed.
   */
  private async fetchWithin(ms: number): Promise<Snapshot> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const watchdog = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new UnreachableError(`No answer from the API within ${Math.round(ms / 1000)} s`)),
        ms,
      );
    });
    try {
      return await Promise.race([this.fetchAll(), watchdog]);
    } finally {
      clearTimeout(timer);
    }
  }

  private commit(s: Snapshot): void {
    this.run = s.run;
    this.tasks = s.tasks;
    this.judgeKey(s);
    if (s.reset) {
      // a new run: the old run's cursors and page number mean nothing for it
      this.cursors = [undefined];
      this.firsts = [0];
      this.page = 0;
    }
    this.shownPage = s.page;
  }

  /**
   * What an answer to GET /run with the key says about it: a download link means accepted; none,
   * for a run whose archive the API unlocks for a valid key, means refused. Only the key that was
   * sent is judged: one saved while the request was on its way waits for its own answer.
   */
  private judgeKey(s: Snapshot): void {
    if (s.sentKey === undefined || !s.run) return;
    if (s.run.gzip_url) {
      if (acceptKey(s.sentKey))
        flash("The operator key was accepted: it unlocked the archive's download link.");
    } else if (archiveUnlockable(s.run) && refuseKey(s.sentKey)) {
      flash(
        "The saved operator key was refused: it did not unlock the archive's download link. Enter it again.",
      );
    }
    renderKeyState();
  }

  private async readRun(): Promise<{ run: RunView | undefined; sentKey: string | undefined }> {
    const key = getKey();
    try {
      return { run: await this.api.getRun(key), sentKey: key };
    } catch (err) {
      // reads are public, but a wrong key sent with one is refused (401): forget it, read without
      if (!(key && err instanceof ApiError && err.status === 401)) throw err;
      if (refuseKey(key)) {
        renderKeyState();
        flash(`The saved operator key was refused (${err.message}); it has been forgotten. Enter it again.`);
      }
      return { run: await this.api.getRun(), sentKey: undefined };
    }
  }

  private async fetchAll(): Promise<Snapshot> {
    // GET /run, then GET /run/tasks: a run can start (or end) between the two. A list of another
    // run is never shown under this run's heading: the pair is read again, from GET /run.
    for (let attempt = 1; ; attempt += 1) {
      const { run, sentKey } = await this.readRun();
      const fresh = run?.run_id !== this.run?.run_id;
      if (!run) return { run, tasks: undefined, sentKey, page: 0, reset: fresh };
      let page = fresh ? 0 : this.page;
      let reset = fresh;
      let tasks: TaskListResponse;
      try {
        tasks = await this.api.listTasks(PAGE_SIZE, fresh ? undefined : this.cursors[page]);
      } catch (err) {
        // a cursor from an older listing may no longer be valid: fall back to the first page
        if (!(err instanceof ApiError && err.status === 400 && page > 0)) throw err;
        page = 0;
        reset = true;
        tasks = await this.api.listTasks(PAGE_SIZE);
      }
      if (tasks.run_id === run.run_id) return { run, tasks, sentKey, page, reset };
      if (attempt >= 2) {
        // twice in a row: keep the last consistent figures, say so, and try again on the next poll
        throw new ApiError(
          0,
          'run_changed',
          `the task list was of run ${tasks.run_id}, not of run ${run.run_id}.`,
        );
      }
    }
  }

  private render(): void {
    if (this.lastOk !== undefined) {
      setText(byId('updated'), `Updated ${formatClock(new Date(this.lastOk).toISOString(), Date.now())}`);
    }
    const now = this.api.serverNow(); // ages are measured on the API's clock, not the browser's
    this.syncStopDialog(this.run);
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
    this.summary.render(this.run, now, keyStatus() === 'refused');
    const tasks = this.tasks?.tasks ?? [];
    // the label always describes the rows shown
    const first = this.firsts[this.shownPage] ?? this.shownPage * PAGE_SIZE;
    const whole = this.shownPage === 0 && !this.tasks?.next_cursor;
    this.table.render(tasks, this.run.tasks.failed, now, {
      first: first + 1,
      last: first + tasks.length,
      whole,
    });
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
      `This page cannot find its API: ${err instanceof Error ? err.message : String(err)}. Retrying in ${inSeconds(CONFIG_RETRY_MS)}.`,
      false,
    );
    setTimeout(() => void boot(), CONFIG_RETRY_MS);
    return;
  }
  const refreshMs = seconds(cfg.refreshSeconds, 5, 1, 60) * 1000;
  const timeoutMs = seconds(cfg.timeoutSeconds, TIMEOUT_MS / 1000, 1, 60) * 1000;
  // the watchdog leaves room for three calls, each within its own timeout: the usual two, and one
  // more (the retry without a refused key, a page-1 fallback); it only catches what nothing else does
  const api = createApiClient(cfg.apiUrl, undefined, timeoutMs);
  new Dashboard(api, refreshMs, 3 * timeoutMs).start();
}

// serve.ts (and CloudFront's X-Frame-Options) forbid framing by header; under a host that sends no
// such header another page could get "End run" clicked through a frame, so the page never starts there
if (window.top === window.self) void boot();
else {
  show(byId('loading'), false);
  notice('This page does not run inside a frame of another page: open it in its own tab.', false);
}
