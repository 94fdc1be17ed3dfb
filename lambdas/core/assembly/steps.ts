// The light steps of the assembly workflow over the ports (BuildArchive is in build-step.ts, so
// only its Lambda bundles the archive builder). The Lambda handlers and the local mode both call
// these through the same taskStep chains, so the workflow runs one code base.
import { storageKeys } from '../../shared/contract';
import type {
  FinalizeInput,
  FinalizeOutput,
  ListTasksInput,
  ListTasksOutput,
  MarkFailedInput,
  MarkFailedOutput,
} from '../../shared/workflow';
import { failureReason } from '../../shared/workflow';
import type { Deps } from '../ports';
import { completeAssembly, failAssembly, prepareAssembly } from '../run-assembly';
import { iterateTasks } from '../runs';
import { writeListing } from './listing';

export const LISTING_NAME = 'tasks.jsonl';

export async function listTasksStep(deps: Deps, input: ListTasksInput): Promise<ListTasksOutput> {
  // Cancels what a stop left unfinished first, so the listing shows every task as it ends.
  await prepareAssembly(deps, input.run_id);
  const listingKey = storageKeys.assemblyScratch(input.run_id, LISTING_NAME);
  const count = await writeListing(deps.results, listingKey, iterateTasks(deps, input.run_id));
  return { run_id: input.run_id, listing_key: listingKey, task_count: count };
}

export async function finalizeStep(deps: Deps, input: FinalizeInput): Promise<FinalizeOutput> {
  const run = await completeAssembly(deps, input.run_id, input.archive_key);
  return { run_id: run.run_id, status: run.status };
}

export async function markFailedStep(deps: Deps, input: MarkFailedInput): Promise<MarkFailedOutput> {
  const reason = failureReason(input.error);
  const run = await failAssembly(deps, input.run_id, reason);
  return { run_id: run.run_id, status: run.status, reason };
}
