// A task's heartbeats answered 401: the API refuses this runner's key. It stops counting the
// task's heartbeats at the first refusal, so its reaper takes the task (heartbeat_timeout) once the
// heartbeat timeout (120 s by default) has passed, and would refuse the complete anyway. A runner
// cannot get a new key without a restart, so after a few refusals in a row the task is stopped
// instead of benchmarking for hours for nothing.
import { ApiError } from './api-client';
import type { Logger } from './log';

/**
 * Refusals in a row that stop the task. Three: 60-90 s at the default --heartbeat-s 30, inside the
 * API's heartbeat timeout; more than a proxy's stray 401. A heartbeat that gets through between
 * them starts the count again.
 */
export const KEY_REFUSALS = 3;

/** What to check when the API refuses the runner key, for every line that says so. */
export const KEY_HINT =
  'check --api-key (or BENCHFLEET_API_KEY): it must be the current runner key of this deployment (was it rotated?)';

/** Is this an answer refusing the key itself (401, or a gateway's 403)? */
export const refusesKey = (err: unknown): err is ApiError & { status: 401 | 403 } =>
  err instanceof ApiError && (err.status === 401 || err.status === 403);

/**
 * Does this heartbeat answer count toward stopping the task? Only the API's own 401: a 403 comes
 * from something in front of it (a WAF, a proxy) and proves nothing about the key, and stopping a
 * task loses its attempt.
 */
export const countsAsRefusal = (err: unknown): err is ApiError & { status: 401 } =>
  err instanceof ApiError && err.status === 401;

/** Counts one task's heartbeat refusals in a row and logs them; `stop` is true at KEY_REFUSALS. */
export class KeyRefusals {
  private streak = 0;

  constructor(
    private readonly log: Logger,
    private readonly taskId: number,
  ) {}

  /** A heartbeat got through: the refusals before it were stray ones. */
  accepted(): void {
    this.streak = 0;
  }

  refused(err: ApiError): { stop: boolean } {
    this.streak++;
    if (this.streak < KEY_REFUSALS) {
      this.log.warn(
        `heartbeat of task ${this.taskId} refused (${this.streak} in a row; the task stops at ${KEY_REFUSALS}): ${err.message}`,
      );
      return { stop: false };
    }
    if (this.streak === KEY_REFUSALS) {
      this.log.error(
        `task ${this.taskId}: the API refuses this runner's key (${KEY_REFUSALS} heartbeats in a row answered ${err.message}), so it will reap the task; stopping the task now. To fix: ${KEY_HINT}, then restart the runner`,
      );
    }
    return { stop: true };
  }

  /** The fail report's message. */
  get message(): string {
    return `the API refused this runner's key on ${KEY_REFUSALS} heartbeats in a row (rotated, or not this deployment's runner key); the task was stopped`;
  }
}
