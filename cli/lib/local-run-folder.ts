// A new `benchfleet local` run takes its results folder, results/<run-id>/, before it starts. The
// folder is made with a plain (non-recursive) mkdir, which fails with EEXIST when it is there
// already: of two runs that want one id exactly one gets it, and no run ever unpacks over the
// results of another. The folder stays empty until the run's archive is unpacked into it (one
// rename, archive.ts), and is removed again, if still empty, when the run ends without delivering.
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import { resultsDirFor, resultsRootFor } from './archive';
import { CliError } from './errors';

/** How many ids, from the first one wanted on, a run without run_id tries before giving up. */
export const RUN_ID_TRIES = 100;

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Where a run without an archive keeps its runner logs (keepRunnerLogs): that name is taken too. */
export const runnerLogsDirFor = (runId: number, root?: string): string =>
  `${resultsDirFor(runId, root)}-runner-logs`;

export class RunFolder {
  private taken: { runId: number; dir: string } | undefined;
  private kept = false;
  /** Said after the run's start line when ids were skipped because their folders exist. */
  note: string | undefined;

  /** `root`: --results-dir (resultsRootFor's default otherwise); `config`: the file named in messages. */
  constructor(
    private readonly root: string | undefined,
    private readonly config: string,
  ) {}

  /** The id whose folder this run holds, once taken. */
  get runId(): number | undefined {
    return this.taken?.runId;
  }

  /**
   * Takes the folder of `runId` (the config's run_id), refused when it or its runner logs exist;
   * without one, the first free id from `from` on (the current second, or past the data dir's
   * latest run), refused when RUN_ID_TRIES ids in a row are taken. Answers the id.
   */
  take(runId: number | undefined, from: number): number {
    if (runId !== undefined) {
      const dir = resultsDirFor(runId, this.root);
      const logs = runnerLogsDirFor(runId, this.root);
      const what = existsSync(logs)
        ? `${logs} (the runner logs of an earlier run ${runId}) already exists`
        : this.claim(runId)
          ? undefined
          : `the results folder ${dir} already exists`;
      if (what) {
        throw new CliError(
          `${what}, and run_id ${runId} in ${this.config} would put this run there; an earlier run's results are never replaced, so the run was not started: move or delete that folder, or set another run_id in ${this.config} (or none, to take the next free id)`,
        );
      }
      return runId;
    }
    for (let id = from; id < from + RUN_ID_TRIES; id += 1) {
      if (existsSync(runnerLogsDirFor(id, this.root)) || !this.claim(id)) continue;
      const first = resultsDirFor(from, this.root);
      if (id === from + 1) this.note = `  (${first} is taken, so this run is ${id})`;
      else if (id > from) this.note = `  (${first} to ${id - 1} are taken, so this run is ${id})`;
      return id;
    }
    throw new CliError(
      `no free run id from ${from} to ${from + RUN_ID_TRIES - 1}: each already has a results folder (or runner logs) in ${resultsRootFor(this.root)}, so the run was not started; move or delete the folders you no longer need, pass another --results-dir, or set a free run_id in ${this.config}`,
    );
  }

  /** The folder stays at exit: the results are in it, or the data dir's run may still deliver there. */
  keep(): void {
    this.kept = true;
  }

  /** Removes the folder now if it is still empty (rmdir never removes one holding files). */
  release(): void {
    const taken = this.taken;
    this.taken = undefined;
    if (!taken) return;
    try {
      rmdirSync(taken.dir);
    } catch {
      // ENOTEMPTY: something is in it and it stays; ENOENT: gone already
    }
  }

  /** What the end of the process does: the folder is released unless kept. */
  atExit(): void {
    if (!this.kept) this.release();
  }

  /** Makes the folder: false when it exists (another run has it), a CliError when it cannot be made. */
  private claim(runId: number): boolean {
    const dir = resultsDirFor(runId, this.root);
    try {
      mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new CliError(
        `cannot make the results folder ${dir} (${(err as Error).message}); pass a folder you can write with --results-dir (or BENCHFLEET_RESULTS_DIR), or fix that path`,
      );
    }
    this.taken = { runId, dir };
    return true;
  }
}
