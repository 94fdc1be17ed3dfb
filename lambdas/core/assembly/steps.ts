// The four steps of the assembly workflow over the ports. The Lambda handlers and the local mode
// both call these (through the same taskStep chains), so the workflow runs one code base.
import { storageKeys } from '../../shared/contract';
import type {
  BuildArchiveInput,
  BuildArchiveOutput,
  FinalizeInput,
  FinalizeOutput,
  ListTasksInput,
  ListTasksOutput,
  MarkFailedInput,
  MarkFailedOutput,
} from '../../shared/workflow';
import { failureReason } from '../../shared/workflow';
import type { Deps } from '../ports';
import { completeAssembly, failAssembly, getRunOrThrow, iterateTasks, prepareAssembly } from '../runs';
import { type BuildOptions, type BuildProgress, buildArchive, finalStatus } from './builder';
import { readListing, writeListing } from './listing';

export const LISTING_NAME = 'tasks.jsonl';

export async function listTasksStep(deps: Deps, input: ListTasksInput): Promise<ListTasksOutput> {
  // Cancels what a stop left unfinished first, so the listing shows every task as it ends.
  await prepareAssembly(deps, input.run_id);
  const listingKey = storageKeys.assemblyScratch(input.run_id, LISTING_NAME);
  const count = await writeListing(deps.results, listingKey, iterateTasks(deps, input.run_id));
  return { run_id: input.run_id, listing_key: listingKey, task_count: count };
}

export async function buildArchiveStep(
  deps: Deps,
  input: BuildArchiveInput,
  opts: Pick<BuildOptions, 'limits' | 'progressEvery' | 'gzipLevel'> & {
    onProgress?: (p: BuildProgress & { task_count: number }) => void;
  } = {},
): Promise<BuildArchiveOutput> {
  const run = await getRunOrThrow(deps, input.run_id);
  const archiveKey = storageKeys.archive(input.run_id);
  const summary = await buildArchive(
    deps.results,
    {
      run_id: run.run_id,
      ruby_version: run.ruby_version,
      status: finalStatus(run.stopped),
      config: run.config as Record<string, unknown>,
      created_at: run.created_at,
      finished_at: run.finished_at,
    },
    readListing(deps.results, input.listing_key),
    {
      archiveKey,
      now: deps.clock(),
      limits: opts.limits,
      progressEvery: opts.progressEvery,
      gzipLevel: opts.gzipLevel,
      onProgress: (p) => opts.onProgress?.({ ...p, task_count: input.task_count }),
    },
  );
  return {
    run_id: input.run_id,
    archive_key: summary.archive_key,
    task_count: summary.tasks,
    files: summary.files,
    bytes: summary.bytes,
    assembly_errors: summary.assembly_errors,
  };
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
