// What the runner may still do on the network once it is told to stop (SIGTERM: systemd stopping
// it, the host shutting down). Two limits, both counted from the stop:
// - one runner-wide deadline, StopDeadline: every API call (and its retries), PUT in flight,
//   presign refresh and error upload of every slot ends by stop + STOP_TOTAL_S;
// - each step's own cap, StopCap: STOP_BUDGET_S (from the stop, or from the step's start if it
//   began after), so one slow step cannot eat the whole deadline.
// A step ends at whichever comes first. The error upload works to a deadline FAIL_RESERVE_S
// earlier (sooner()), so the fail report, which comes last, always has that much time left; a fail
// that still comes after the deadline (an executor slow to die is not bounded by it) gets one try
// of FAIL_RESERVE_S of its own (ApiClient.fail), well inside systemd's stop timeout.
import { setMaxListeners } from 'node:events';

/** What an API call, or a result PUT, may still take once the runner is told to stop, in seconds. */
export const STOP_BUDGET_S = 20;
/**
 * When, after the stop, everything the runner does on the network must be over, in seconds.
 * systemd SIGKILLs a unit that has not stopped TimeoutStopSec (90 s, its default
 * DefaultTimeoutStopSec and what our units set) after SIGTERM. 45 s leaves room for two full
 * steps (a PUT in flight, then the fail: 2 x STOP_BUDGET_S) and keeps the other half of systemd's
 * window as slack for what the deadline does not bound: containers slow to die, packing, exiting.
 */
export const STOP_TOTAL_S = 45;
/**
 * The time the fail report keeps for itself at the end of STOP_TOTAL_S, in seconds: the
 * error.tar.gz upload must be over this long before the deadline, and is skipped when less is left.
 * A fail is one small POST; 10 s covers a slow answer and a retry or two.
 */
export const FAIL_RESERVE_S = 10;

/**
 * The runner-wide deadline: `totalMs` after `stop` fires (Infinity until then). `signal` aborts at
 * that moment. One per runner (the ApiClient makes it from the runner's stop signal); every step
 * takes its StopCap from it, so nothing recomputes the deadline.
 */
export class StopDeadline {
  readonly signal: AbortSignal;
  private stoppedAt = Number.POSITIVE_INFINITY;
  private readonly ctl = new AbortController();
  private timer?: NodeJS.Timeout;
  private readonly onStop = (): void => {
    this.stoppedAt = this.parent?.stopped ? this.parent.stoppedAt : Date.now();
    const reason = new Error(`${this.what} passed (${this.totalMs / 1000} s after the stop)`);
    // unref'd: the deadline only matters while something else (a request, a wait) is running
    this.timer = setTimeout(() => this.ctl.abort(reason), Math.max(0, this.at - Date.now()));
    this.timer.unref();
  };

  constructor(
    private readonly stop: AbortSignal | undefined,
    /** From the stop to the deadline, in ms. */
    readonly totalMs: number,
    /** For messages: what this deadline is. */
    readonly what = "the runner's stop deadline",
    private readonly parent?: StopDeadline,
  ) {
    this.signal = this.ctl.signal;
    // every call and PUT in flight, on every slot, listens to it: many on a large host, not a leak
    setMaxListeners(0, this.signal);
    if (stop?.aborted) this.onStop();
    else stop?.addEventListener('abort', this.onStop, { once: true });
  }

  /** The runner has been told to stop. */
  get stopped(): boolean {
    return this.stoppedAt !== Number.POSITIVE_INFINITY;
  }

  /** The deadline, epoch ms; Infinity until the stop. */
  get at(): number {
    return this.stoppedAt + this.totalMs;
  }

  /** Time left before the deadline, in ms (Infinity before the stop; negative once it has passed). */
  leftMs(now = Date.now()): number {
    return this.at - now;
  }

  /**
   * The same deadline `reserveMs` earlier: the share of work that must leave time to what follows
   * (`what` names it in messages). Call dispose() when that work is over.
   */
  sooner(reserveMs: number, what: string): StopDeadline {
    return new StopDeadline(this.stop, this.totalMs - reserveMs, what, this);
  }

  /** A cap for one step: `graceMs` after `trigger` fires, and never past this deadline. */
  cap(trigger: AbortSignal | undefined, graceMs: number): StopCap {
    return new StopCap(trigger, graceMs, this);
  }

  /** Stops listening for the stop (a share from sooner(), once its work is over). */
  dispose(): void {
    clearTimeout(this.timer);
    this.stop?.removeEventListener('abort', this.onStop);
  }
}

/**
 * One step's cap: aborts `graceMs` after `trigger` fires (or after it is created, if `trigger`
 * already has), or at the shared deadline, whichever comes first; work in flight at a shutdown
 * gets a short grace instead of its full timeout. `at` is that moment (epoch ms; Infinity until
 * either is known). Call dispose() when the work is over.
 */
export class StopCap {
  readonly signal: AbortSignal;
  /** The shared deadline, not this step's own grace, ended it. */
  byDeadline = false;
  private ownAt = Number.POSITIVE_INFINITY;
  private readonly ctl = new AbortController();
  private timer?: NodeJS.Timeout;
  private readonly onTrigger = (): void => {
    this.ownAt = Date.now() + this.graceMs;
    this.timer = setTimeout(
      () => this.ctl.abort(new Error(`cut short ${this.graceMs / 1000} s after the stop`)),
      this.graceMs,
    );
  };
  private readonly onDeadline = (): void => {
    if (this.ctl.signal.aborted) return;
    this.byDeadline = true;
    this.ctl.abort(this.deadline?.signal.reason);
  };

  constructor(
    private readonly trigger: AbortSignal | undefined,
    private readonly graceMs: number,
    private readonly deadline?: StopDeadline,
  ) {
    this.signal = this.ctl.signal;
    if (deadline?.signal.aborted) this.onDeadline();
    else deadline?.signal.addEventListener('abort', this.onDeadline, { once: true });
    if (trigger?.aborted) this.onTrigger();
    else trigger?.addEventListener('abort', this.onTrigger, { once: true });
  }

  /** When this step must be over: its own grace or the shared deadline, whichever is sooner. */
  get at(): number {
    return Math.min(this.ownAt, this.deadline?.at ?? Number.POSITIVE_INFINITY);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.trigger?.removeEventListener('abort', this.onTrigger);
    this.deadline?.signal.removeEventListener('abort', this.onDeadline);
  }
}
