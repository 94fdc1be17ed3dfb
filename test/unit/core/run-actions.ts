// The moves of a run's life as the core tests make them: a one-type run config, a claim, a
// complete with its result uploaded, and the clock moved past the heartbeat timeout.
import { claimTask, completeTask } from '../../../lambdas/core/tasks';
import type { ClaimResponse, RunConfig } from '../../../lambdas/shared/contract';
import type { CoreHarness } from './core-helpers';

/** A run of type `a`, two runs, with `extra` over it. */
export const cfg = (extra: Partial<RunConfig> = {}): RunConfig => ({
  ruby_version: '3.4.7',
  runs_per_instance_type: 2,
  local: ['a'],
  ...extra,
});

/** The task of an assigned claim; anything else fails the test. */
export const taskOf = (c: ClaimResponse) => {
  if (c.status !== 'assigned') throw new Error(`expected a task, got ${JSON.stringify(c)}`);
  return c.task;
};

/** Actions on the harness `harness()` answers (a getter: each test starts a fresh one). */
export function runActions(harness: () => CoreHarness) {
  return {
    claim: (runId: number, runner: string): Promise<ClaimResponse> =>
      claimTask(harness().deps, { provider: 'local', instance_type: 'a', runner_id: runner }, runId),
    finish: async (runId: number, id: number, runner: string): Promise<void> => {
      await harness().uploadResult(runId, id);
      await completeTask(harness().deps, id, { runner_id: runner });
    },
    pastHeartbeatTimeout: (): void =>
      harness().advance(harness().deps.settings.heartbeatTimeoutSeconds * 1000 + 5_000),
  };
}
