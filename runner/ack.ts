// How the API answered a task's complete or fail, and what that means for the task's files.
// Only a 2xx means the server took this runner's report. A 409 saying the task is over or not
// ours (cancelled by a stop, reaped and retried, given to another runner) settles the task without
// it: a complete refused so did not complete anything. Anything else (no answer, 401, a result
// the API cannot see) is no acknowledgement at all: the task folder stays for a person to look at.
import { ApiError } from './api-client';
import { KEY_HINT, refusesKey } from './key-refused';
import { errorText, type Logger } from './log';

export type AckResult =
  /** The server took the report (a repeat of an earlier success included). */
  | { kind: 'done' }
  /** The server has settled the task without this report; `why` says how, for people. */
  | { kind: 'settled'; code: string; why: string }
  /** No acknowledgement: keep the files. */
  | { kind: 'none'; why: string };

/** 409 codes meaning the task is over or no longer this runner's. */
const SETTLED: Record<string, string> = {
  task_finished: 'the server had already finished the task (a stop cancelled it, or it was reaped)',
  not_your_task: 'the task was reaped and is now held by another runner',
  stale_attempt: 'this attempt was reaped and the task retried as a new attempt',
};

export async function acknowledge(
  log: Logger,
  what: 'complete' | 'fail',
  taskId: number,
  call: () => Promise<unknown>,
): Promise<AckResult> {
  try {
    await call();
    return { kind: 'done' };
  } catch (err) {
    if (!(err instanceof ApiError)) {
      const why = `${what} got no answer: ${errorText(err)}`;
      log.error(why);
      return { kind: 'none', why };
    }
    const settled =
      err.status === 409 ? SETTLED[err.code] : err.status === 404 ? 'the task does not exist' : undefined;
    if (settled) {
      if (what === 'complete') {
        log.warn(
          `task ${taskId} was not completed by this runner: complete answered ${err.status} ${err.code}; ${settled}`,
          {
            problem: err.message,
          },
        );
      } else {
        // after a cancel this is the expected answer
        const lvl = err.code === 'task_finished' ? 'info' : 'warn';
        log[lvl](
          `fail answered ${err.status} ${err.code}; ${settled}, so the server has settled task ${taskId}`,
          {
            problem: err.message,
          },
        );
      }
      return { kind: 'settled', code: err.code, why: settled };
    }
    const hint = refusesKey(err)
      ? `: ${KEY_HINT}`
      : err.code === 'result_not_uploaded'
        ? ': the API cannot see result.tar.gz in its bucket (check the bucket and the upload URLs)'
        : '';
    const why = `${what} was refused with ${err.status} ${err.code}${hint}`;
    log.error(`${why}; task ${taskId} is not acknowledged`, { problem: err.message });
    return { kind: 'none', why };
  }
}
