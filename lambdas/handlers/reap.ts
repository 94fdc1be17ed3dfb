import type { Deps } from '../core/ports';
import { reap } from '../core/reaper';
import { onAws } from '../shared/deps';
import { logger } from '../shared/logger';

// Scheduled every minute while a run is active (the schedule is switched off when the run ends).
export const makeHandler = (deps: Deps) => async (): Promise<void> => {
  const report = await reap(deps);
  if (
    report.reaped.length ||
    report.requeued.length ||
    report.repaired.length ||
    report.no_runner.length ||
    report.actions.length
  ) {
    logger.info('reaper pass changed state', { ...report });
  }
};

export const handler = onAws(makeHandler);
