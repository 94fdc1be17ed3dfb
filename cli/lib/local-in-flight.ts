// The tasks a killed `benchfleet local` left in flight. Its runners ran in its own process, so they
// died with it: a resumed run queues their tasks again (or fails them, when no attempt is left) at
// once, instead of waiting out the heartbeat timeout for runners known to be gone.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { Deps, TaskRecord } from '../../lambdas/core/ports';
import { reapDeadRunners } from '../../lambdas/core/reap-dead';

/**
 * The host id of the in-process runners of a local instance type: runner ids are `<host id>-<slot>`.
 * It names the data dir too (a hash of its path): a docker runner's start-up removes the containers
 * labelled with its host id, left by a killed `benchfleet local` of the same data dir, and two
 * `benchfleet local` at once (each has a data dir of its own: a given one is locked) must not
 * remove each other's running containers.
 */
export const localHostId = (instanceType: string, dataDir: string): string =>
  `local-${instanceType}-${createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 8)}`;

/**
 * A task claimed by an in-process runner of an earlier `benchfleet local` (another runner is not):
 * one of this data dir's, or of a version whose host ids did not name it yet (`local-<type>-<slot>`).
 */
const ranInProcess = (t: TaskRecord): boolean =>
  t.provider === 'local' && (t.runner_id?.startsWith(`local-${t.instance_type}-`) ?? false);

/** Settles the in-flight tasks of the data dir's resumed run; answers the line that says what became of them. */
export async function settleInFlight(
  deps: Deps,
  inFlight: number,
  heartbeatTimeoutS: number,
): Promise<string> {
  const r = await reapDeadRunners(deps, ranInProcess, 'died with the `benchfleet local` that ran it');
  const parts = [];
  if (r.requeued.length) parts.push(`${r.requeued.length} queued again`);
  if (r.reaped.length) parts.push(`${r.reaped.length} failed as heartbeat_timeout (no attempt left)`);
  const others = r.others.length; // (one the stack's own reaper took meanwhile is in no list)
  if (others > 0)
    parts.push(
      `${others} held by other runners stay theirs (if those are gone too, they fail as heartbeat_timeout after --heartbeat-timeout-s, ${heartbeatTimeoutS} s, and are retried while attempts remain)`,
    );
  return `  ${inFlight} task(s) were in flight when it stopped, their runners gone with it: ${parts.join('; ') || 'none left'}`;
}
