// A claimed task's heartbeats (runner/task-run.ts): on a timer and on status changes, never two at
// a time. The claim counts as the first (the API stamped the task's heartbeat then), so a task that
// ends within a second sends none, and a longer one reports its status a second in. An answer that
// takes the task away (abort, 404/409, a key refused a few times in a row) stops it.
import type { HeartbeatStatus } from '../lambdas/shared/contract';
import { type ApiClient, ApiError } from './api-client';
import { countsAsRefusal, type KeyRefusals } from './key-refused';
import { errorText, type Logger } from './log';
import type { ProgressTracker } from './progress';

/**
 * Why a task was stopped, which is also the error type it is failed as. A key the API refuses
 * ends it as `heartbeat_timeout`: what the reaper records for such a task anyway (the fail is
 * most likely refused too), and retried like it.
 */
export type AbortReason = 'cancelled' | 'timeout' | 'interrupted' | 'heartbeat_timeout';

export interface HeartbeatDeps {
  api: ApiClient;
  log: Logger;
  taskId: number;
  runnerId: string;
  attempt: number;
  periodS: number;
  progress: ProgressTracker;
  refusals: KeyRefusals;
  /**
   * The task is no longer this runner's to run. `runStopped`: the API answered abort, so its run was
   * stopped (a 404/409 may also be a reap, this host's failure).
   */
  stop(reason: AbortReason, why: string, runStopped: boolean): void;
}

export class TaskHeartbeats {
  private status: HeartbeatStatus = 'boot';
  private message: string | null = 'claimed';
  private inFlight = false;
  private again = false;
  private lastSent = Date.now();
  private soon: NodeJS.Timeout | undefined;
  private over = false;
  private readonly timer: NodeJS.Timeout;
  /** complete or fail has been sent: from here on its answer, not a heartbeat's, settles the task */
  acking = false;

  constructor(private readonly d: HeartbeatDeps) {
    this.timer = setInterval(() => void this.beat(), d.periodS * 1000);
  }

  /** The status now, and a heartbeat that says it (at most one a second) when it changed. */
  setStatus(status: HeartbeatStatus, message?: string): void {
    const changed = status !== this.status;
    this.status = status;
    if (message !== undefined) this.message = message;
    // A new status is worth a heartbeat now, but at most one a second: a task that takes
    // milliseconds should not cost four extra API calls.
    if (!changed || this.soon) return;
    const wait = Math.max(0, 1000 - (Date.now() - this.lastSent));
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.beat();
    }, wait);
  }

  /** No heartbeat from now on: the report was acknowledged or given up, or the task is over. */
  end(): void {
    this.over = true;
    clearInterval(this.timer);
    clearTimeout(this.soon);
  }

  private async beat(): Promise<void> {
    if (this.over) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    const { d } = this;
    this.inFlight = true;
    this.lastSent = Date.now();
    try {
      const r = await d.api.heartbeat(d.taskId, {
        runner_id: d.runnerId,
        status: this.status,
        current_benchmark: d.progress.state.benchmark,
        progress_pct: d.progress.state.benchmark ? d.progress.state.pct : null,
        message: this.message?.slice(0, 1000) ?? null,
        attempt: d.attempt,
      });
      d.refusals.accepted();
      if (r.action === 'abort' && !this.acking)
        d.stop('cancelled', 'the API answered the heartbeat with abort', true);
    } catch (err) {
      // 404/409: the task is no longer ours (cancelled, reaped), or complete/fail just landed and
      // its answer says so; a key refused a few times in a row stops the task (key-refused.ts);
      // anything else is retried next beat.
      if (err instanceof ApiError && (err.status === 409 || err.status === 404)) {
        if (!this.acking) d.stop('cancelled', err.message, false);
      } else if (countsAsRefusal(err) && !this.acking) {
        if (d.refusals.refused(err).stop)
          d.stop('heartbeat_timeout', "the API refuses this runner's key", false);
      } else d.log.warn('heartbeat failed; retrying on the next beat', { problem: errorText(err) });
    } finally {
      this.inFlight = false;
      if (this.again) {
        this.again = false;
        void this.beat();
      }
    }
  }
}
