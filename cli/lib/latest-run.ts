// What a deployment is doing, as start, teardown and nuke ask before they touch its fleets: its
// latest run from GET /run (public), and whether that run is still at work.
import type { RunView } from '../../lambdas/shared/contract';
import { ApiClient, apiTarget, isNoRunYet } from './api';
import { knownStatus, pollMs, sleep } from './progress';
import { readOutputs } from './state';

/**
 * Still at work: running (GET /run shows `creating` as running) or assembling its archive, or in a
 * status this CLI does not know (an API newer than this checkout's): a launch or a teardown must not
 * go on blind.
 */
export const atWork = (run: RunView | undefined): run is RunView =>
  run !== undefined && (run.status === 'running' || run.status === 'assembling' || !knownStatus(run.status));

/**
 * The latest run of the API at `apiUrl`: `run` undefined before the first (the API's own 404 that
 * says so). Any other failure, another 404 included (a URL that is not a Benchfleet API's: its
 * runs cannot be known), is tried `tries` times in all (an API deployed moments ago may not answer
 * at once), then answered as `unknown`, for the caller to decide: a launch or a teardown must not
 * go on blind.
 */
export async function latestRun(
  apiUrl: string,
  tries = 1,
): Promise<{ run: RunView | undefined; clockOffsetMs: number | undefined } | { unknown: unknown }> {
  const api = new ApiClient(apiTarget({ apiUrl }));
  for (let attempt = 1; ; attempt++) {
    try {
      return { run: await api.getRun(), clockOffsetMs: api.clockOffsetMs };
    } catch (err) {
      if (isNoRunYet(err)) return { run: undefined, clockOffsetMs: api.clockOffsetMs };
      if (attempt >= tries) return { unknown: err };
      await sleep(pollMs(2_000));
    }
  }
}

/** This folder's record of its deployment's API, or why there is none (absent, or unreadable). */
export function recordedApiUrl(): { url: string } | { none: string } {
  try {
    const outputs = readOutputs();
    return outputs ? { url: outputs.ApiUrl } : { none: 'this folder has no record of its deployment' };
  } catch (err) {
    return { none: (err as Error).message };
  }
}
