// The runner's only link to the orchestrator: JSON over HTTP, bodies checked against the shared
// contract. "No answer" (network error, 5xx, 404 before the run exists) is retried with
// exponential backoff and jitter inside a time budget; a definite answer is returned or thrown.
import type { z } from 'zod';
import {
  ClaimResponse,
  type CompleteRequest,
  type FailRequest,
  type HeartbeatRequest,
  HeartbeatResponse,
  PresignedUrls,
  type UploadUrlsRequest,
} from '../lambdas/shared/contract';
import { type Logger, networkErrorText } from './log';
import { FAIL_RESERVE_S, STOP_BUDGET_S, STOP_TOTAL_S, StopDeadline } from './stop-deadline';

/** The API answered with a 4xx (other than a retried 404): retrying will not help. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Nothing usable came back within the retry budget. */
export class NoAnswerError extends Error {
  override name = 'NoAnswerError';
}

export interface ApiClientOptions {
  apiUrl: string;
  apiKey: string;
  log: Logger;
  /** Total time one call may spend retrying, in seconds (the spec's 10 minutes). */
  maxRetryS: number;
  /** Per-request timeout in milliseconds. */
  requestTimeoutMs?: number;
  /**
   * The runner's stop (SIGTERM). Once it fires, a call's remaining retries and its request in flight
   * get at most STOP_BUDGET_S more (counted from the stop, or from the call's start if it came after),
   * and every call ends by the runner-wide deadline, STOP_TOTAL_S after the stop (`stopDeadline`):
   * the host has seconds to live, and a fail or complete should still get through in them.
   */
  signal?: AbortSignal;
  /** Test hook: STOP_BUDGET_S otherwise. */
  stopBudgetS?: number;
  /** Test hook: STOP_TOTAL_S otherwise. */
  stopTotalS?: number;
  /** Test hook: FAIL_RESERVE_S otherwise. */
  failReserveS?: number;
}

export { FAIL_RESERVE_S, STOP_BUDGET_S, STOP_TOTAL_S };
/** Node's timers cannot wait longer than 2^31-1 ms (about 24.8 days); a longer delay fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface CallOptions {
  /** Retry budget for this call in seconds; 0 = one attempt. Defaults to the client's. */
  budgetS?: number;
  /** Treat 404 as "not yet" and retry (claims before the run exists). */
  retry404?: boolean;
  /** Stops retrying (not the request in flight) at once when aborted (claims, at a stop). */
  signal?: AbortSignal;
  /** Ends the call after a stop, instead of the client's `stopDeadline` (a share of it, from sooner()). */
  deadline?: StopDeadline;
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Backoff for attempt n (0-based): 0.5 s doubling to 30 s, with full jitter in the upper half. */
export const backoffMs = (n: number): number => {
  const cap = Math.min(30_000, 500 * 2 ** n);
  return cap / 2 + Math.random() * (cap / 2);
};

export class ApiClient {
  /**
   * The runner-wide end of network work after the stop (`signal`): every call ends by it, and
   * uploads take their caps from it too (`uploadTarball`).
   */
  readonly stopDeadline: StopDeadline;

  constructor(private readonly opts: ApiClientOptions) {
    this.stopDeadline = new StopDeadline(opts.signal, (opts.stopTotalS ?? STOP_TOTAL_S) * 1000);
  }

  /** What a call, or a PUT in flight, may still take once the runner is stopping, in seconds. */
  get stopBudgetS(): number {
    return this.opts.stopBudgetS ?? STOP_BUDGET_S;
  }

  /** The end of the stop deadline kept for the fail report: the error upload must leave it, in seconds. */
  get failReserveS(): number {
    return this.opts.failReserveS ?? FAIL_RESERVE_S;
  }

  /** How long a call may go on retrying without an answer (--max-retry-s); uploads use it too. */
  get retryBudgetS(): number {
    return this.opts.maxRetryS;
  }

  claim(
    body: { provider: string; instance_type: string; runner_id: string },
    runId?: number,
    signal?: AbortSignal,
  ): Promise<ClaimResponse> {
    const path = runId === undefined ? '/tasks/claim' : `/runs/${runId}/tasks/claim`;
    return this.call(path, body, ClaimResponse, { retry404: true, signal });
  }

  heartbeat(taskId: number, body: HeartbeatRequest): Promise<HeartbeatResponse> {
    // One attempt: the timer sends the next one anyway, and a stuck retry would pile up.
    return this.call(`/tasks/${taskId}/heartbeat`, body, HeartbeatResponse, { budgetS: 0 });
  }

  uploadUrls(
    taskId: number,
    body: UploadUrlsRequest,
    budgetS?: number,
    deadline?: StopDeadline,
  ): Promise<PresignedUrls> {
    return this.call(`/tasks/${taskId}/upload-urls`, body, PresignedUrls, { budgetS, deadline });
  }

  complete(taskId: number, body: CompleteRequest, budgetS?: number): Promise<unknown> {
    return this.call(`/tasks/${taskId}/complete`, body, undefined, { budgetS });
  }

  async fail(taskId: number, body: FailRequest, budgetS?: number): Promise<unknown> {
    const path = `/tasks/${taskId}/fail`;
    if (this.stopDeadline.leftMs() > 0) return this.call(path, body, undefined, { budgetS });
    // The stop deadline has passed before the fail, which comes last (an executor slow to die is
    // not bounded by it): one try of its own, failReserveS long, rather than none. systemd's
    // SIGKILL is still about STOP_TOTAL_S away, and without the fail the task waits for the reaper.
    const lastChance = new StopDeadline(this.opts.signal, this.failReserveS * 1000, "the fail's last try");
    try {
      return await this.call(path, body, undefined, { budgetS: 0, deadline: lastChance });
    } finally {
      lastChance.dispose();
    }
  }

  async call<T>(
    path: string,
    body: unknown,
    schema: z.ZodType<T> | undefined,
    co: CallOptions = {},
  ): Promise<T> {
    const budgetMs = (co.budgetS ?? this.opts.maxRetryS) * 1000;
    const started = Date.now();
    const url = this.opts.apiUrl.replace(/\/+$/, '') + path;
    // A stop (SIGTERM) during the call shortens what is left of it to the stop budget, and to
    // the runner-wide deadline, whichever ends first.
    const stop = this.opts.signal;
    const cap = (co.deadline ?? this.stopDeadline).cap(stop, this.stopBudgetS * 1000);
    let lastProblem = '';
    try {
      for (let n = 0; ; n++) {
        try {
          return await this.once(url, body, schema, co, cap.signal);
        } catch (err) {
          if (!(err instanceof RetryableError)) throw err;
          lastProblem = err.message;
        }
        const wait = backoffMs(n);
        const now = Date.now();
        const deadline = Math.min(started + budgetMs, cap.at);
        if (now + wait > deadline || co.signal?.aborted) {
          const why = cap.at < started + budgetMs ? ' (cut short: the runner is stopping)' : '';
          throw new NoAnswerError(
            `POST ${url}: no usable answer after ${n + 1} attempt(s) over ${Math.round((now - started) / 1000)} s${why}; last: ${lastProblem}`,
          );
        }
        if (n === 0 || n % 5 === 0)
          this.opts.log.warn(`POST ${path} failed, retrying`, { problem: lastProblem });
        // a stop coming now ends the wait: the next try goes out at once, within the short budget
        // (a claim's own signal is the stop itself: one signal, as AbortSignal.any([s, s]) on Node 20
        // leaves a reference behind in `s` each time, for the runner's life)
        const wake = [
          ...new Set([co.signal, stop?.aborted ? undefined : stop].filter((x) => x !== undefined)),
        ];
        await sleep(wait, wake.length > 1 ? AbortSignal.any(wake) : wake[0]);
      }
    } finally {
      cap.dispose();
    }
  }

  private async once<T>(
    url: string,
    body: unknown,
    schema: z.ZodType<T> | undefined,
    co: CallOptions,
    stopCap: AbortSignal,
  ): Promise<T> {
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.opts.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.any([AbortSignal.timeout(this.opts.requestTimeoutMs ?? 30_000), stopCap]),
      });
      text = await res.text();
    } catch (err) {
      // fetch says only `fetch failed`: the refused port, the unknown host or the TLS error is its cause
      throw new RetryableError(`network: ${networkErrorText(err)}`);
    }
    if (res.status >= 500 || res.status === 429 || (res.status === 404 && co.retry404)) {
      throw new RetryableError(`HTTP ${res.status} ${text.slice(0, 200)}`);
    }
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : {};
    } catch {
      // A proxy's HTML page or a truncated body: the API did not really answer.
      throw new RetryableError(`HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 120)}`);
    }
    if (res.status >= 400) {
      const e = json as { error?: unknown; message?: unknown };
      const code = typeof e.error === 'string' ? e.error : `http_${res.status}`;
      const msg = typeof e.message === 'string' ? e.message : text.slice(0, 200);
      throw new ApiError(res.status, code, `HTTP ${res.status} ${code}: ${msg}`);
    }
    if (!schema) return json as T;
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new RetryableError(
        `malformed answer: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    return parsed.data;
  }
}

class RetryableError extends Error {
  override name = 'RetryableError';
}
