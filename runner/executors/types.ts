// What every executor gets and returns. An executor runs one task's benchmarks, writes ruby-bench's
// output files into `outDir` and the process logs into `logsDir`, and reports progress lines.
import type { ClaimedTask, HeartbeatStatus } from '../../lambdas/shared/contract';
import type { Logger } from '../log';
import type { Slot } from '../topology';

export interface ExecContext {
  task: ClaimedTask;
  slot: Slot;
  /** Empty folder for ruby-bench's `output_NNN.*` files. */
  outDir: string;
  /** Empty folder for stdout.log and stderr.log. */
  logsDir: string;
  /** Scratch space of this task. */
  taskDir: string;
  /** Aborted on timeout, cancel or SIGTERM; the executor stops its work and rejects or returns. */
  signal: AbortSignal;
  log: Logger;
  /** Every chunk of the benchmark's stdout, for progress parsing. */
  onStdout(chunk: string): void;
  /** Status and message changes worth a heartbeat (provision, pull progress, running). */
  onStatus(status: HeartbeatStatus, message?: string): void;
}

export interface ExecResult {
  /** The benchmark process's exit status (ruby-bench exits 1 when one benchmark failed). */
  exitCode: number;
  image: string | null;
  /** The image's content digest (`sha256:...`, its RepoDigests'; one for every platform of a tag). */
  imageDigest: string | null;
  dockerVersion: string | null;
  rubyBenchRef: string | null;
  /** The full commit the ref resolved to in the container's clone; null when unknown. */
  rubyBenchCommit: string | null;
}

/** What an executor that runs no image and no ruby-bench clone reports of them. */
export const NO_IMAGE: Pick<
  ExecResult,
  'image' | 'imageDigest' | 'dockerVersion' | 'rubyBenchRef' | 'rubyBenchCommit'
> = { image: null, imageDigest: null, dockerVersion: null, rubyBenchRef: null, rubyBenchCommit: null };

export interface Executor {
  readonly name: string;
  /** How many executables ruby-bench will run (its progress counter restarts for each). */
  readonly expectedPasses?: number;
  run(ctx: ExecContext): Promise<ExecResult>;
  /** Once, before the first claim (the Docker executor removes containers a crashed runner left). */
  prepare?(log: Logger): Promise<void>;
}

/** A failure with the error_type the API should record. */
export class ExecError extends Error {
  override name = 'ExecError';
  constructor(
    readonly errorType: string,
    message: string,
    readonly exitCode: number | null = null,
  ) {
    super(message);
  }
}
