// Catch-all of the assembly workflow: the run ends assembly_failed with the reason, never hangs.
import { markFailedStep } from '../core/assembly/steps';
import type { Deps } from '../core/ports';
import { onAws } from '../shared/deps';
import { logger } from '../shared/logger';
import { type TaskStepHandler, taskStep } from '../shared/task';
import { MarkFailedInput, type MarkFailedOutput } from '../shared/workflow';

export const makeHandler = (deps: Deps): TaskStepHandler<unknown, MarkFailedOutput> =>
  taskStep(MarkFailedInput, async (input) => {
    const out = await markFailedStep(deps, input);
    logger.error('assembly failed', { runId: out.run_id, reason: out.reason });
    return out;
  });

export const handler = onAws(makeHandler);
