// The BuildArchive step: streams every result into results.tar.gz (see builder.ts).
import { storageKeys } from '../../shared/contract';
import type { BuildArchiveInput, BuildArchiveOutput } from '../../shared/workflow';
import type { Deps } from '../ports';
import { getRunOrThrow } from '../runs';
import { type BuildOptions, type BuildProgress, buildArchive, finalStatus } from './builder';
import { readListing } from './listing';

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
