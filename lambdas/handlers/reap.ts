import type { Context } from 'aws-lambda';
import type { Deps } from '../core/ports';
import { reap } from '../core/reaper';
import { onAws } from '../shared/deps';
import { logger } from '../shared/logger';
import { countMetric } from '../shared/metrics';

// Scheduled every minute while a run is active (the schedule is switched off when the run ends).
// A pass stops short of the function's timeout (55 s), the next one goes on: see PASS_RESERVE_MS (lambdas/core/pass-budget.ts).
export const makeHandler =
  (deps: Deps) =>
  async (_event?: unknown, context?: Context): Promise<void> => {
    const report = await reap(deps, context && (() => context.getRemainingTimeInMillis()));
    if (report.counts) {
      countMetric('QueueDepth', report.counts.pending);
      countMetric('RunningTasks', report.counts.running + report.counts.claimed);
    }
    if (report.reaped.length) countMetric('HeartbeatTimeouts', report.reaped.length);
    if (report.requeued.length) countMetric('Requeued', report.requeued.length);
    if (report.repaired.length) countMetric('Repairs', report.repaired.length);
    if (
      report.reaped.length ||
      report.requeued.length ||
      report.repaired.length ||
      report.no_runner.length ||
      report.actions.length
    ) {
      const { lines, ...summary } = report;
      for (const line of lines) logger.info(`run ${report.run_id}: ${line}`);
      logger.info('reaper pass changed state', { ...summary });
    }
  };

export const handler = onAws(makeHandler);
