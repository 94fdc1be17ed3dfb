// PUTs a tarball to a presigned URL. The claim's URLs serve while they have minutes left (a short
// task: no extra API call); otherwise fresh ones come from /tasks/{id}/upload-urls right before the
// upload, as they do after a 403.
// S3 giving no answer (network, 5xx, 429) is retried like an API call, within a time budget: a
// result that took hours to make is not thrown away for a minute of S3 or network trouble.
// After the runner's stop, every step of the upload (upload-urls, each PUT) also ends by the
// target's stop deadline, and the retries end once it has passed.
import { stat } from 'node:fs/promises';
import type { PresignedUrls } from '../lambdas/shared/contract';
import { type ApiClient, ApiError, backoffMs, sleep } from './api-client';
import { errorText, type Logger, networkErrorText } from './log';
import { putFile } from './put-file';
import { STOP_BUDGET_S, StopCap, type StopDeadline } from './stop-deadline';

export interface UploadTarget {
  api: ApiClient;
  taskId: number;
  runnerId: string;
  attempt: number;
  /** The claim's URLs: used while fresh enough, and the fallback when fresh ones cannot be had. */
  claimUrls: PresignedUrls;
  /** When the claim's URLs expire, on this host's clock (claim answer + expires_in_seconds). */
  claimUrlsUntil: number;
  log: Logger;
  /**
   * Aborting it (shutdown, cancel) ends the retries: no further try once the current one failed.
   * A PUT in flight then gets `stopGraceS` more to finish (from the abort, or from its start if it
   * began after), not as long as it would otherwise run (it has only a stall limit).
   */
  signal?: AbortSignal;
  /** What a PUT in flight may still take after `signal` aborts, in seconds; STOP_BUDGET_S by default. */
  stopGraceS?: number;
  /**
   * The runner's stop deadline (`api.stopDeadline`), or the share of it this upload may use
   * (`sooner()`): upload-urls calls and PUTs end by it. None: only `stopGraceS` caps them.
   */
  deadline?: StopDeadline;
}

export type UploadOutcome =
  | { ok: true; key: string }
  | { ok: false; reason: string /** the server says the task is over */; finished: boolean };

export interface UploadLimits {
  /** Tries at least this many; and at most this many while S3 refuses (a 4xx; 403 gets fresh URLs). */
  attempts: number;
  /** Past `attempts`, S3 giving no answer (network, 5xx, 429) is retried this long in all, in seconds. */
  budgetS: number;
  /** Budget of each upload-urls call, in seconds. */
  urlBudgetS: number;
}

/**
 * A claim's URLs are used as they are only with this much validity left: S3 checks a URL's expiry
 * when a request starts, so this covers the first PUT's start and a few retries.
 */
export const CLAIM_URL_MARGIN_S = 300;

export async function uploadTarball(
  t: UploadTarget,
  kind: 'result' | 'error',
  file: string,
  limits: UploadLimits = { attempts: 5, budgetS: 0, urlBudgetS: 120 },
): Promise<UploadOutcome> {
  // streamed from the file on each try (put-file.ts): never held in memory whole
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    return { ok: false, reason: `cannot read ${file}: ${errorText(err)}`, finished: false };
  }
  const fresh = async (): Promise<PresignedUrls | UploadOutcome> => {
    try {
      return await t.api.uploadUrls(
        t.taskId,
        { runner_id: t.runnerId, attempt: t.attempt },
        limits.urlBudgetS,
        t.deadline,
      );
    } catch (err) {
      if (err instanceof ApiError && err.status === 409)
        return { ok: false, reason: err.message, finished: true };
      t.log.warn('cannot get fresh upload URLs; using the claim URLs', { problem: errorText(err) });
      return t.claimUrls;
    }
  };
  // The claim's URLs until a try with them fails: then fresh ones (the store may have moved, a
  // local stack restarted on another port, or the host's clock lied about the age).
  let onClaimUrls = Date.now() + CLAIM_URL_MARGIN_S * 1000 < t.claimUrlsUntil;
  let urls = onClaimUrls ? t.claimUrls : await fresh();
  if ('ok' in urls) return urls;
  // Already aborted (a shutdown before the upload): the caller's short limits apply as they are.
  const stop = t.signal?.aborted ? undefined : t.signal;
  const started = Date.now();
  const pastDeadline = (): boolean => (t.deadline?.leftMs() ?? 1) <= 0;
  let last = '';
  let lastStatus: number | undefined;
  let tries = 0;
  for (;;) {
    const url = kind === 'result' ? urls.result_upload_url : urls.error_upload_url;
    const key = kind === 'result' ? urls.result_key : urls.error_key;
    let refused = false;
    tries++;
    // a PUT that would finish within the grace (and the stop deadline) is not thrown away at a stop
    const graceS = t.stopGraceS ?? STOP_BUDGET_S;
    const cap = new StopCap(t.signal, graceS * 1000, t.deadline);
    // one line per PUT: a long upload shows in the log (and the e2e bench times the workload by it)
    t.log.info(`uploading ${kind}.tar.gz`, { bytes: size, try: tries });
    try {
      // no total timeout: a stalled PUT fails (PUT_STALL_S), a slow one that moves runs on
      const { status, error } = await putFile(url, file, size, 'application/gzip', cap.signal);
      if (status >= 200 && status < 300) return { ok: true, key };
      // the store's own word (S3's <Code>) says what to fix: an expired URL, a wrong clock, a policy
      last = error ? `HTTP ${status} ${error}` : `HTTP ${status}`;
      lastStatus = status;
      refused = status < 500 && status !== 429;
    } catch (err) {
      lastStatus = undefined;
      last = !cap.signal.aborted
        ? `network: ${networkErrorText(err)}`
        : cap.byDeadline
          ? `the PUT was cut off: ${errorText(cap.signal.reason)}`
          : `the PUT was still going ${graceS} s after the task was stopped`;
    } finally {
      cap.dispose();
    }
    t.log.warn(`upload of ${kind}.tar.gz failed`, { try: tries, problem: last });
    const wait = backoffMs(tries - 1);
    // no further try once the task is stopped, or once the stop deadline has passed
    if (stop?.aborted || pastDeadline()) break;
    const withinBudget = !refused && Date.now() - started + wait <= limits.budgetS * 1000;
    if (tries >= limits.attempts && !withinBudget) break;
    if (lastStatus === 403 || onClaimUrls) {
      onClaimUrls = false;
      const next = await fresh();
      if ('ok' in next) return next;
      urls = next;
    } else await sleep(wait, stop);
    if (stop?.aborted || pastDeadline()) break; // an abort ends the wait: no further try
  }
  return {
    ok: false,
    reason: `upload of ${kind}.tar.gz failed ${tries} times over ${Math.round((Date.now() - started) / 1000)} s; last: ${last}`,
    finished: false,
  };
}
