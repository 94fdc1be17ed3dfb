// Whether the fleet stack is held by a run the API cannot show yet, as `start` and `deploy` ask
// before they deploy the meta stack over a deployment. A start launches its fleets before POST
// /run/start, so for those minutes its run is not in the API (GET /run cannot see it) but its VMs
// are booting, and they fetch the API and runner.js that a deploy would replace under them.
import { fleetStackHolder } from './fleets';

/** The fleet stack while a start or a teardown is at work on it, or holding a run not started. */
export interface FleetStackInUse {
  /** the run whose fleet it holds, from its run-id tag; undefined when it has none */
  runId: number | undefined;
  status: string | undefined;
  /** being deployed or removed (…_IN_PROGRESS): another start or a teardown is at work on it */
  busy: boolean;
  /** holds the fleet of a run newer than the API's latest: another start is launching it */
  unstarted: boolean;
}

/**
 * The fleet stack in use, or undefined when it is free: gone (nothing deployed yet, the first
 * start), settled with the fleet of a run the API knows (`runId`, this start's own, counts as
 * known), or AWS would not say (no reason to stop: POST /run/start still refuses a second run).
 * `latest`: the API's latest run id (undefined: it has none yet); 'unknown' when no API answered,
 * so only a stack at work counts, as a run not started cannot be told from one that has ended.
 */
export async function fleetStackInUse(
  latest: number | undefined | 'unknown',
  runId?: number,
): Promise<FleetStackInUse | undefined> {
  const holder = await fleetStackHolder();
  if (holder.state === 'gone') return undefined;
  const busy = holder.status?.endsWith('_IN_PROGRESS') === true;
  const unstarted =
    latest !== 'unknown' && holder.state === 'run' && holder.runId > (latest ?? 0) && holder.runId !== runId;
  if (!busy && !unstarted) return undefined;
  return { runId: holder.state === 'run' ? holder.runId : undefined, status: holder.status, busy, unstarted };
}
