// Where `benchfleet local` leaves what a run produced: the results folder is checked before the run
// starts, what cannot go there (runner logs of a run without an archive, an archive that could not
// be unpacked) is kept rather than removed with the temp data dir, and a run that finished after an
// earlier `benchfleet local --data-dir` stopped is delivered by the next one.
import { cpSync, createWriteStream, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RunView } from '../../lambdas/shared/contract';
import { makeDir } from '../../lambdas/shared/make-dir';
import {
  fetchWithin,
  holdsResults,
  idleTimeoutMs,
  resultsDirFor,
  resultsRootFor,
  stallWatch,
} from './archive';
import { CliError, describe } from './errors';
import { runnerLogsDirFor } from './local-run-folder';
import { saveResults } from './results';

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/**
 * Creates the results root (--results-dir, BENCHFLEET_RESULTS_DIR or `results`) and writes and
 * removes a probe file in it, so a folder the run could not write is refused before the run, not
 * found after it.
 */
export function checkResultsRoot(root?: string): string {
  const dir = resultsRootFor(root);
  const probe = join(dir, `.benchfleet-write-check-${process.pid}`);
  try {
    makeDir(dir);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (err) {
    throw new CliError(
      `cannot write the results folder ${dir} (${(err as Error).message}); pass a folder you can write with --results-dir (or BENCHFLEET_RESULTS_DIR), or fix that path`,
    );
  }
  return dir;
}

/**
 * Without --data-dir the runner logs live in the temp data dir, removed at exit; a run without an
 * archive has nothing else to show for itself, so its logs move next to results/<run-id>/.
 */
export function keepRunnerLogs(logDir: string, runId: number, resultsRoot?: string): string | undefined {
  const target = runnerLogsDirFor(runId, resultsRoot);
  try {
    rmSync(target, { recursive: true, force: true });
    makeDir(dirname(target));
    cpSync(logDir, target, { recursive: true });
    return target;
  } catch (err) {
    say(`  (the runner logs could not be kept in ${target}: ${(err as Error).message})`);
    return undefined;
  }
}

/**
 * The archive could not be unpacked into results/<run-id>/ (checked writable before the run, so
 * a full disk, or a folder changed meanwhile). It lives in the local S3 inside the data dir: a copy
 * is written next to it, as one file, and the caller keeps the data dir. Answers what to tell the
 * user about where the archive is.
 */
export async function keepArchive(url: string, dataDir: string, runId: number): Promise<string> {
  const file = join(dataDir, `results-${runId}.tar.gz`);
  const idleMs = idleTimeoutMs();
  try {
    const { res, abort } = await fetchWithin(url, idleMs);
    if (!res.ok || !res.body) {
      abort();
      throw new Error(`HTTP ${res.status}`);
    }
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      stallWatch(idleMs),
      createWriteStream(file),
    ).catch((err: unknown) => {
      abort();
      throw err;
    });
    return `the archive is kept in ${file}: unpack it with \`mkdir -p DIR && tar -xzf ${file} -C DIR\` into a folder DIR you can write, then build the site with \`benchfleet site DIR\``;
  } catch (err) {
    rmSync(file, { force: true });
    return `the archive could not be copied out (${(err as Error).message}) and stays in the data dir's local S3, under ${join(dataDir, 's3')}`;
  }
}

/**
 * The data dir's latest run may have finished with an archive after the `benchfleet local` that ran
 * it stopped (a quit lets the run drain and assemble; a kill during the download), so its results
 * never reached results/<run-id>/. They are delivered now, before a new run starts; if that fails,
 * the archive is copied out and how to unpack it is printed. Answers whether it was delivered.
 */
export async function deliverEarlierRun(
  run: RunView,
  dataDir: string,
  resultsRoot?: string,
): Promise<boolean> {
  if (!run.gzip_url || run.status === 'running' || run.status === 'assembling') return false;
  const dir = resultsDirFor(run.run_id, resultsRoot);
  // an empty folder is the one the run took before it started (local-run-folder.ts)
  if (holdsResults(dir)) return false;
  say(
    `\n== run ${run.run_id} ended ${run.status} after the last \`benchfleet local\` on this data dir stopped, and its results never reached ${dir}: delivering them before the new run ==`,
  );
  try {
    await saveResults(run.run_id, { url: run.gzip_url }, resultsRoot);
    return true;
  } catch (err) {
    const where = await keepArchive(run.gzip_url, dataDir, run.run_id);
    say(`  run ${run.run_id}'s results could not be delivered: ${describe(err)}; ${where}`);
    return false;
  }
}
