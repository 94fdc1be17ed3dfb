// Step 1 of the assembly workflow: cancel what a stop left behind, write the task listing to S3.
import { listTasksStep } from '../core/assembly/steps';
import type { Deps } from '../core/ports';
import { onAws } from '../shared/deps';
import { type TaskStepHandler, taskStep } from '../shared/task';
import { ListTasksInput, type ListTasksOutput } from '../shared/workflow';

export const makeHandler = (deps: Deps): TaskStepHandler<unknown, ListTasksOutput> =>
  taskStep(ListTasksInput, (input) => listTasksStep(deps, input));

export const handler = onAws(makeHandler);
