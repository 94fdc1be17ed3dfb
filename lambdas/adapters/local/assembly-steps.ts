// The local mode's assembly steps: the Lambda handlers' own middy chains (makeHandler), called
// in-process with a local Lambda context, so local and cloud run the same step code.
import type { Deps } from '../../core/ports';
import { makeHandler as buildArchive } from '../../handlers/assembly-build-archive';
import { makeHandler as finalize } from '../../handlers/assembly-finalize';
import { makeHandler as listTasks } from '../../handlers/assembly-list-tasks';
import { makeHandler as markFailed } from '../../handlers/assembly-mark-failed';
import { localContext } from '../../shared/task';
import { STEP_TIMEOUT_SECONDS, type StepName } from '../../shared/workflow';
import type { AssemblyStep, AssemblySteps } from './local-assembly';

export function assemblyStepsFor(deps: Deps): AssemblySteps {
  const wrap =
    (
      step: StepName,
      handler: (event: unknown, context: ReturnType<typeof localContext>) => Promise<unknown>,
    ): AssemblyStep =>
    (input) =>
      handler(input, localContext(`benchfleet-local-${step}`, STEP_TIMEOUT_SECONDS[step]));
  return {
    ListTasks: wrap('ListTasks', listTasks(deps)),
    BuildArchive: wrap('BuildArchive', buildArchive(deps)),
    Finalize: wrap('Finalize', finalize(deps)),
    MarkFailed: wrap('MarkFailed', markFailed(deps)),
  };
}
