// Step 3 of the assembly workflow: assembling -> complete (or cancelled after a stop).
import { finalizeStep } from '../core/assembly/steps';
import type { Deps } from '../core/ports';
import { onAws } from '../shared/deps';
import { type TaskStepHandler, taskStep } from '../shared/task';
import { FinalizeInput, type FinalizeOutput } from '../shared/workflow';

export const makeHandler = (deps: Deps): TaskStepHandler<unknown, FinalizeOutput> =>
  taskStep(FinalizeInput, (input) => finalizeStep(deps, input));

export const handler = onAws(makeHandler);
