// Step 2 of the assembly workflow: stream every result into runs/<run_id>/results.tar.gz.
import { buildArchiveStep } from '../core/assembly/build-step';
import { useArchiveHeapPolicy } from '../core/assembly/heap';
import type { Deps } from '../core/ports';
import { onAws } from '../shared/deps';
import { logger } from '../shared/logger';
import { type TaskStepHandler, taskStep } from '../shared/task';
import { BuildArchiveInput, type BuildArchiveOutput } from '../shared/workflow';

export const makeHandler = (deps: Deps): TaskStepHandler<unknown, BuildArchiveOutput> =>
  taskStep(BuildArchiveInput, async (input) => {
    logger.appendKeys({ runId: input.run_id });
    logger.info('building the archive', { task_count: input.task_count });
    const out = await buildArchiveStep(deps, input, {
      // A long build shows it is alive (and how far it got, should the Lambda time out).
      onProgress: (p) => logger.info('archive progress', { ...p }),
    });
    logger.info('archive built', { ...out });
    return out;
  });

const onLambda = onAws(makeHandler);

/** The Lambda entry: a process of its own, so it takes the archive build's heap policy (heap.ts). */
export const handler: typeof onLambda = (event, context) => {
  useArchiveHeapPolicy();
  return onLambda(event, context);
};
