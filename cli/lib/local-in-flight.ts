// The tasks a killed `benchfleet local` left in flight. Its runners ran in its own process, so they
// died with it: a resumed run queues their tasks again (or fails them, when no attempt is left) at
// once, instead of waiting out the heartbeat timeout for runners known to be gone.
import type { Deps, TaskRecord } from '../../lambdas/core/ports';
import { reapDeadRunners } from '../../lambdas/core/reap-dead';

/** The host id of the in-process runners of a local instance type: runner ids are `<host id>-<slot>`. */
export const localHostId = (instanceType: string): string => `local-${instanceType}`;

/** A task claimed by an in-process runner of an earlier `benchfleet local` (another runner is not). */
const ranInProcess = (t: TaskRecord): boolean =>
  t.provider === 'local' && (t.runner_id?.startsWith(`${localHostId(t.instance_type)}-`) ?? false);

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
