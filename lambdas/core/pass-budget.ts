// The time one reaper pass (lambdas/core/reaper.ts) may take: it stops between two tasks before its
// Lambda's timeout, and the next pass goes on.

/**
 * How much of the Lambda's time a pass leaves unused, in ms: a pass stops taking up tasks once less
 * is left, so the one in hand (a few writes) ends well before the timeout. A pass cut off by the
 * timeout itself would count as a reaper error (and alarm) and skip its later steps every minute.
 */
export const PASS_RESERVE_MS = 10_000;

/** Thrown between two tasks when the pass's time is up (PassBudget.check). */
export class PassOutOfTime extends Error {
  override name = 'PassOutOfTime';
}

/** The time a pass has: `timeLeftMs` is the Lambda's getRemainingTimeInMillis; none locally. */
export class PassBudget {
  /** the tasks and queues taken up so far */
  steps = 0;
  constructor(private readonly timeLeftMs?: () => number) {}

  /** Before each task a step would write to: ends the pass when less than PASS_RESERVE_MS is left. */
  check(): void {
    if (this.timeLeftMs && this.timeLeftMs() < PASS_RESERVE_MS) throw new PassOutOfTime();
    this.steps++;
  }
}
