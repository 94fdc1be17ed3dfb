// Builds results.tar.gz in one pass: for each task in listing order, its tarball is read from the
// result store, checked, and its kept files appended to one archiver tar.gz stream that the store
// uploads as it is produced (multipart). One task at a time, and the next entry is appended only
// once the previous one has been taken by the tar encoder (which itself waits for the upload), so
// memory depends on the size caps, not on the number or size of results.
//
// manifest.json is the last entry written (it lists every task's files and assembly_error, known
// only once the tarballs have been read) but sits at the top level of the archive, beside the
// `<instance_type>-<run>/` folders. Tar readers do not care about entry order.
//
// Entries are dated by the records, not the clock: a task's files by when the task finished, the
// manifest by when the run did. Building the same run again gives the same bytes (gzip writes no
// time of its own), so a re-assembly can be checked against an earlier archive.
import { PassThrough, pipeline, type Readable } from 'node:stream';
import archiver, { type Archiver } from 'archiver';
import type { Manifest, ManifestTask, RunStatus } from '../../shared/contract';
import { storageKeys } from '../../shared/contract';
import { AppError, TransientError } from '../errors';
import type { ResultStore } from '../ports';
import { DEFAULT_LIMITS, type EntryLimits, type TarballRole, taskFolder } from './entries';
import type { ListedTask } from './listing';
import { ParallelGzip } from './parallel-gzip';
import { readTarball, type TarballContents } from './tarball';

/**
 * gzip level of results.tar.gz. Level 1 compresses ruby-bench's text nearly as well as 6 for about a
 * third of the CPU, and the assembly Lambda bills CPU time while the archive is downloaded once.
 */
export const DEFAULT_GZIP_LEVEL = 1;

/** The run-level fields of manifest.json. */
export type ArchiveRun = Omit<Manifest, 'tasks'>;

export interface BuildProgress {
  tasks: number;
  files: number;
  /** compressed bytes produced so far */
  bytes: number;
  assembly_errors: number;
}

export interface BuildOptions {
  archiveKey: string;
  /** the date of entries whose record has none (a task or run without finished_at) */
  now: Date;
  limits?: EntryLimits;
  /** called every `progressEvery` tasks (default 250) and once at the end */
  onProgress?: (p: BuildProgress) => void;
  progressEvery?: number;
  /** gzip level (default DEFAULT_GZIP_LEVEL) */
  gzipLevel?: number;
  /**
   * Tarballs read ahead of the one being appended (default 4). Memory is at most about
   * (prefetch + 1) * limits.maxTaskBytes, however many tasks the run has.
   */
  prefetch?: number;
}

export interface BuildSummary extends BuildProgress {
  archive_key: string;
}

/** The status manifest.json records: what the run becomes when Finalize succeeds. */
export function finalStatus(stopped: boolean): RunStatus {
  return stopped ? 'cancelled' : 'complete';
}

export async function buildArchive(
  results: ResultStore,
  run: ArchiveRun,
  tasks: AsyncIterable<ListedTask>,
  opts: BuildOptions,
): Promise<BuildSummary> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const every = opts.progressEvery ?? 250;
  // archiver writes the tar; ParallelGzip compresses it on several threads into one gzip member.
  const archive = archiver('tar');
  const gzip = new ParallelGzip({ level: opts.gzipLevel ?? DEFAULT_GZIP_LEVEL });
  const progress: BuildProgress = { tasks: 0, files: 0, bytes: 0, assembly_errors: 0 };
  // The manifest's task entries, serialized as we go: about 0.5 KB per task, at most 10,000 tasks.
  const manifestTasks: string[] = [];

  let uploadError: unknown;
  // Without a listener an archiver error would crash the process; the upload sees it anyway.
  archive.on('error', (err: Error) => {
    uploadError ??= err;
  });
  // archiver is a `readable-stream` Transform, which lib-storage does not take for a Node Readable.
  const body = new PassThrough();
  pipeline(archive, gzip, body, (err) => {
    if (err) uploadError ??= err;
  });
  const upload = results.putStream(opts.archiveKey, body, 'application/gzip').catch((err: unknown) => {
    uploadError ??= err;
    // A failed upload stops reading: fail the archive too, or the next append would wait forever.
    archive.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  });
  // Observed below; this keeps an early rejection from being reported as unhandled meanwhile.
  upload.catch(() => undefined);

  try {
    const fetched = ordered(tasks, opts.prefetch ?? 4, (task) =>
      fetchTask(results, task, run.run_id, limits),
    );
    for await (const item of fetched) {
      if (uploadError) throw uploadError;
      const entry = await appendTask(archive, item, dateOf(item.task.finished_at, opts.now));
      manifestTasks.push(JSON.stringify(entry));
      progress.tasks += 1;
      progress.files += entry.files.length;
      if (entry.assembly_error) progress.assembly_errors += 1;
      if (opts.onProgress && progress.tasks % every === 0) {
        opts.onProgress({ ...progress, bytes: gzip.bytesOut });
      }
    }
    await appendEntry(
      archive,
      manifestText(run, manifestTasks),
      'manifest.json',
      dateOf(run.finished_at, opts.now),
    );
    await archive.finalize();
  } catch (err) {
    // destroy, not abort: abort ends the stream cleanly and the store would keep a truncated archive.
    archive.destroy(err instanceof Error ? err : new Error(String(err)));
    await upload.catch(() => undefined);
    throw asStepError(err, 'building the archive failed');
  }
  try {
    await upload;
  } catch (err) {
    throw asStepError(err, 'uploading the archive failed');
  }
  progress.bytes = gzip.bytesOut;
  opts.onProgress?.({ ...progress });
  return { ...progress, archive_key: opts.archiveKey };
}

/** manifest.json: the run's fields, then `tasks`, one serialized task per line. */
function manifestText(run: ArchiveRun, tasks: string[]): Buffer {
  const head = JSON.stringify({ ...run, tasks: [] } satisfies Manifest, null, 2);
  // `tasks` is the last key: splice the pre-serialized tasks in rather than re-parsing them.
  const text = `${head.slice(0, head.lastIndexOf('[]'))}[\n${tasks.join(',\n')}\n]\n}\n`;
  return Buffer.from(text, 'utf8');
}

/** One task with its tarball read (or why there is none), ready to append. */
interface FetchedTask {
  task: ListedTask;
  role?: TarballRole;
  contents?: TarballContents;
  missing?: boolean;
}

/** Reads the task's tarball, if it has one. Runs ahead of the appends (see `ordered`). */
async function fetchTask(
  results: ResultStore,
  task: ListedTask,
  runId: number,
  limits: EntryLimits,
): Promise<FetchedTask> {
  const source = sourceOf(task, runId);
  if (!source) return { task };
  const stream = await openSource(results, source.key);
  if (!stream) return { task, role: source.role, missing: true };
  return { task, role: source.role, contents: await readTarball(stream, source.role, limits) };
}

/** A record's ISO time as a Date, or `fallback` when it has none (or an unreadable one). */
function dateOf(iso: string | null, fallback: Date): Date {
  const ms = iso === null ? Number.NaN : Date.parse(iso);
  return Number.isNaN(ms) ? fallback : new Date(ms);
}

/** Appends a fetched task's files in order, dated `date`, and returns its manifest entry. */
async function appendTask(archive: Archiver, fetched: FetchedTask, date: Date): Promise<ManifestTask> {
  const { task, role, contents } = fetched;
  const entry: ManifestTask = {
    id: task.id,
    provider: task.provider,
    instance_type: task.instance_type,
    run: task.run,
    status: task.status,
    attempt: task.attempt,
    runner_id: task.runner_id,
    claimed_at: task.claimed_at,
    finished_at: task.finished_at,
    error_type: task.error_type,
    error_message: task.error_message,
    files: [],
    assembly_error: null,
  };
  if (!role) return entry;
  if (fetched.missing || !contents) {
    entry.assembly_error = `${role} tarball missing`;
    return entry;
  }
  const other = otherAttempt(contents, task);
  if (role === 'error' && other) {
    // error keys are per task too: an earlier attempt's logs, left there when the last attempt
    // uploaded none, are not the last failure's; Decisions keep only the last attempt's files
    entry.assembly_error = `error.tar.gz comes from ${other.from}, not from the last attempt (${other.last}), which uploaded none: its files are left out`;
    return entry;
  }
  const base = taskFolder(task.instance_type, task.run);
  const folder = role === 'result' ? base : `${base}/error`;
  for (const file of contents.files) {
    const path = `${folder}/${file.name}`;
    await appendEntry(archive, file.data, path, date);
    entry.files.push(path);
  }
  const stale = other
    ? `result.tar.gz comes from ${other.from}, not from ${other.last} that completed the task: a ` +
      'reaped attempt uploaded it after the task completed; its files are kept as they are'
    : null;
  const problems = [problemOf(contents, role), stale];
  entry.assembly_error = problems.filter((p) => p !== null).join('; ') || null;
  return entry;
}

/**
 * Tarball keys are per task, not per attempt, so a tarball can come from another attempt than the
 * task's last: a reaped attempt whose runner came back can still PUT its result to its (unexpired)
 * URL after another attempt completed, and an earlier attempt's error.tar.gz stays when the last
 * attempt uploads none. Its meta.json says so; `from` and `last` name the two for messages.
 */
function otherAttempt(contents: TarballContents, task: ListedTask): { from: string; last: string } | null {
  const raw = contents.files.find((f) => f.name === 'meta.json')?.data.toString('utf8');
  let meta: { attempt?: unknown; runner_id?: unknown };
  try {
    meta = raw ? JSON.parse(raw) : {};
  } catch {
    return null; // a meta.json that is not JSON is the runner's business, not a sign of this
  }
  const attempt = typeof meta.attempt === 'number' ? meta.attempt : undefined;
  const runner = typeof meta.runner_id === 'string' ? meta.runner_id : undefined;
  if (
    (attempt === undefined || attempt === task.attempt) &&
    (runner === undefined || runner === task.runner_id)
  )
    return null;
  return {
    from: `attempt ${attempt ?? '?'} of runner ${runner ?? '?'}`,
    last: `attempt ${task.attempt} of runner ${task.runner_id ?? '?'}`,
  };
}

/**
 * `fn` over `source` with up to `ahead` calls in flight, results in source order: the next
 * tarballs download while the current one is appended, which hides S3's per-request latency
 * (10,000 sequential GETs at ~30 ms each would be five minutes of waiting).
 */
async function* ordered<T, R>(
  source: AsyncIterable<T>,
  ahead: number,
  fn: (t: T) => Promise<R>,
): AsyncGenerator<R> {
  const it = source[Symbol.asyncIterator]();
  const queue: Array<Promise<R>> = [];
  let exhausted = false;
  const fill = async (): Promise<void> => {
    while (!exhausted && queue.length < ahead) {
      const next = await it.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      const p = fn(next.value);
      p.catch(() => undefined); // rethrown when its turn comes; never unhandled meanwhile
      queue.push(p);
    }
  };
  try {
    await fill();
    for (let p = queue.shift(); p; p = queue.shift()) {
      yield await p;
      await fill();
    }
  } finally {
    await it.return?.();
  }
}

/** Completed tasks contribute their result; failed ones the error tarball the runner uploaded. */
function sourceOf(task: ListedTask, runId: number): { key: string; role: TarballRole } | undefined {
  if (task.status === 'completed') {
    return { key: task.s3_result_key ?? storageKeys.result(runId, task.id), role: 'result' };
  }
  // No s3_error_key: the runner never uploaded one (heartbeat timeout, no runner, cancelled).
  if (task.status === 'failed' && task.s3_error_key) return { key: task.s3_error_key, role: 'error' };
  return undefined;
}

async function openSource(results: ResultStore, key: string): Promise<Readable | undefined> {
  try {
    return await results.getStream(key);
  } catch (err) {
    throw asStepError(err, `reading ${key} failed`);
  }
}

function problemOf(contents: TarballContents, role: TarballRole): string | null {
  const parts: string[] = [];
  if (contents.unreadable) parts.push(contents.unreadable);
  if (contents.problems.length > 0) {
    const shown = contents.problems.slice(0, 5).join('; ');
    const more = contents.problems.length > 5 ? ` (and ${contents.problems.length - 5} more)` : '';
    parts.push(
      `skipped ${contents.problems.length} entr${contents.problems.length === 1 ? 'y' : 'ies'}: ${shown}${more}`,
    );
  }
  if (
    !contents.unreadable &&
    role === 'result' &&
    !contents.files.some((f) => f.name.startsWith('output.'))
  ) {
    parts.push('no output files in the result tarball');
  }
  return parts.length > 0 ? parts.join('; ').slice(0, 1000) : null;
}

/** Appends one entry and waits until the tar encoder has taken it (backpressure). */
function appendEntry(archive: Archiver, data: Buffer, name: string, date: Date): Promise<void> {
  return new Promise((resolve, reject) => {
    const onEntry = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      archive.off('entry', onEntry);
      archive.off('error', onError);
    };
    // One entry in flight at a time, so the next 'entry' event is this one.
    archive.once('entry', onEntry);
    archive.once('error', onError);
    archive.append(data, { name, date, mode: 0o644 });
  });
}

/** Our own errors keep their names (Retry/Catch match on them); anything else is worth a retry. */
function asStepError(err: unknown, context: string): Error {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TransientError(`${context}: ${message}`, { cause: err });
}
