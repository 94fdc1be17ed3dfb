// Unpacking results.tar.gz into results/<run-id>/: streamed (gunzip -> tar-stream -> files), and
// an entry that would land outside the folder (absolute, `..`, links) is refused, not written. A
// transfer that goes quiet is given up after an idle timeout, and a quit (Ctrl-C, SIGTERM) while
// unpacking removes the half-written copy before the process ends (an abort signal, at once).
// An entry this disk cannot hold beside the others (a name that is both a file and a folder, two
// names one case-insensitive disk sees as one, a name too long) is skipped with a warning, and the
// rest is unpacked: archives assembled before the assembler left such names out still exist.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { freeBytes } from '../../lambdas/shared/free-bytes';
import { makeDir } from '../../lambdas/shared/make-dir';
import { DEFAULT_SITE_FOLDER, SITE_FILES } from '../../site/build';
import { CliError } from './errors';
import { exitCodeFor, QUIT_SIGNALS, QUIT_WORDS } from './local-signals';
import { forTerminal } from './terminal';

export interface UnpackResult {
  dir: string;
  files: number;
  /**
   * Entries that could not be written beside the others, each with why, when there were any: the
   * rest of the archive is unpacked.
   */
  skipped?: SkippedEntry[];
  /**
   * Where the folder's previous contents went, and why, when they were not just an older copy of
   * this run: they are kept beside it rather than deleted.
   */
  movedAside?: MovedAside;
}

export interface SkippedEntry {
  /** the entry's name in the archive (clipped when very long) */
  entry: string;
  reason: string;
}

export interface MovedAside {
  to: string;
  why: string;
}

/**
 * Why the results root given (--results-dir wins over BENCHFLEET_RESULTS_DIR) cannot be used:
 * an empty or blank one would resolve to the current folder and scatter the results there.
 */
export function blankResultsRoot(root: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (root !== undefined)
    return root.trim() === ''
      ? `--results-dir must be a non-blank folder (leave the flag out for the default: BENCHFLEET_RESULTS_DIR, else ./results), got "${root}"`
      : undefined;
  const set = env.BENCHFLEET_RESULTS_DIR;
  if (set === undefined || set.trim() !== '') return undefined;
  return `BENCHFLEET_RESULTS_DIR is set but ${set === '' ? 'empty' : 'blank'}: unset it to have the results go to ./results, or set it to a folder`;
}

/** BENCHFLEET_RESULTS_DIR moves the results root (default `results/`); a blank one is refused. */
export function resultsRootFor(root?: string): string {
  const blank = blankResultsRoot(root, process.env);
  if (blank) throw new CliError(blank);
  return resolve(root ?? process.env.BENCHFLEET_RESULTS_DIR ?? 'results');
}

export function resultsDirFor(runId: number, root?: string): string {
  return resolve(resultsRootFor(root), String(runId));
}

/** Anything but an empty folder (what `local` takes before a run, local-run-folder.ts) or nothing. */
export function holdsResults(path: string): boolean {
  try {
    return !statSync(path).isDirectory() || readdirSync(path).length > 0;
  } catch {
    return false;
  }
}

/**
 * How long a transfer may go without a byte before it is given up: BENCHFLEET_IDLE_TIMEOUT_MS
 * (milliseconds), 60 s by default.
 */
export function idleTimeoutMs(): number {
  const raw = process.env.BENCHFLEET_IDLE_TIMEOUT_MS?.trim();
  const ms = raw ? Number(raw) : Number.NaN;
  return Number.isFinite(ms) && ms > 0 ? ms : 60_000;
}

/** A transfer that went quiet (no answer, or no byte for the idle timeout) and was given up. */
export class TransferStalledError extends CliError {
  override name = 'TransferStalledError';
}

export interface UnpackOptions {
  /** Gives up when no byte arrives for this long (default: idleTimeoutMs()). */
  idleMs?: number;
  /** Stops the transfer (the half-written copy is removed, as for a failed one). */
  signal?: AbortSignal;
  /** Takes each warning line, a skipped entry's (default: written to stderr). */
  warn?: (line: string) => void;
}

/** Skipped entries named one by one; past that, only counted (a hostile archive can hold many). */
const SHOWN_SKIPS = 20;

/** Free space kept on the disk beyond the entry being written: the site is built there next. */
const DISK_MARGIN = 16 * 1024 * 1024;

const stderrLine = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/**
 * Unpacks a gzipped tar stream into `dir`. The bytes go to a sibling `<dir>.partial-<pid>` first;
 * only a complete archive replaces `dir` (so a re-download is exact), and a failed, stalled or
 * interrupted one is deleted and leaves the previous results of `dir` as they were. Previous
 * contents that are not an older copy of the same run (another run's, with the same id, or files
 * added to it) are moved to `<dir>.replaced-<time>`, never deleted. Copies left by processes that
 * are gone (killed with SIGKILL, a power cut) are removed first.
 */
export async function unpackArchive(
  source: NodeJS.ReadableStream,
  dir: string,
  opts: UnpackOptions = {},
): Promise<UnpackResult> {
  const target = resolve(dir);
  const partial = `${target}.partial-${process.pid}`;
  await removeStalePartials(target);
  const guard = guardPartial(target, partial);
  try {
    await rm(partial, { recursive: true, force: true });
    makeDir(partial);
    let files: number;
    const skipped: SkippedEntry[] = [];
    const warn = opts.warn ?? stderrLine;
    const skip = (entry: SkippedEntry): void => {
      skipped.push(entry);
      if (skipped.length <= SHOWN_SKIPS) {
        warn(forTerminal(`  skipped the archive entry ${JSON.stringify(entry.entry)}: ${entry.reason}`));
      }
    };
    try {
      files = await unpackInto(source, partial, target, opts.idleMs ?? idleTimeoutMs(), skip, opts.signal);
    } catch (err) {
      await rm(partial, { recursive: true, force: true }).catch(() => undefined);
      const message = `${(err as Error).message}; ${await keptNote(target)}`;
      if (err instanceof TransferStalledError) throw new TransferStalledError(message, { cause: err });
      throw new CliError(message, { cause: err });
    }
    if (skipped.length > 0) warn(skipSummary(skipped.length, files));
    const movedAside = await replaceDir(partial, target, guard);
    return {
      dir: target,
      files,
      ...(skipped.length > 0 && { skipped }),
      ...(movedAside && { movedAside }),
    };
  } finally {
    guard.dispose();
  }
}

function skipSummary(count: number, files: number): string {
  const entries = count === 1 ? '1 entry' : `${count} entries`;
  const named = count > SHOWN_SKIPS ? `the first ${SHOWN_SKIPS} named above` : 'named above';
  return (
    `  skipped ${entries} of the archive (${named}) that could not be written on this disk; the ` +
    `other ${files} file(s) are unpacked. The skipped names came from those tasks' runners; where ` +
    'two differ only in case, a --results-dir on a case-sensitive disk holds both'
  );
}

async function keptNote(target: string): Promise<string> {
  return holdsResults(target)
    ? `the previous results in ${target} were kept`
    : `nothing was written to ${target}`;
}

/** `<dir>.partial-<pid>` folders whose process is no longer alive: nothing will finish them. */
async function removeStalePartials(target: string): Promise<void> {
  const prefix = `${basename(target)}.partial-`;
  const names = await readdir(dirname(target)).catch(() => [] as string[]);
  for (const name of names) {
    const pid = name.startsWith(prefix) ? name.slice(prefix.length) : '';
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid || isAlive(Number(pid))) continue;
    await rm(join(dirname(target), name), { recursive: true, force: true }).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/**
 * While unpacking, a quit must not leave the half-written copy behind. A process 'exit' listener
 * removes it whoever ends the process (`local`'s own quit calls process.exit). A signal nobody else
 * answers (`download`, `start`) is answered here: the copy is removed and the process exits 130
 * (SIGINT), 143 (SIGTERM) or 129 (SIGHUP). A signal that others answer is left to them.
 */
interface PartialGuard {
  /** Where replaceDir is moving previous contents it keeps: a quit puts them back, never deletes them. */
  aside?: string;
  dispose(): void;
}

function guardPartial(target: string, partial: string): PartialGuard {
  const old = `${target}.old-${process.pid}`;
  const guard: PartialGuard = { dispose: () => undefined };
  const clean = (): void => {
    try {
      rmSync(partial, { recursive: true, force: true });
      // cut off between replaceDir's two renames: put the previous results back
      if (guard.aside !== undefined && existsSync(guard.aside) && !existsSync(target)) {
        renameSync(guard.aside, target);
      }
      if (existsSync(old)) {
        if (existsSync(target)) rmSync(old, { recursive: true, force: true });
        else renameSync(old, target);
      }
    } catch {
      // the process is ending; nothing better to do
    }
  };
  const handlers = QUIT_SIGNALS.map((signal) => {
    const handler = (): void => {
      if (process.listenerCount(signal) > 1) return; // its owner quits; the 'exit' listener cleans up
      clean();
      const kept = holdsResults(target)
        ? `the previous results in ${target} were kept`
        : `nothing was written to ${target}`;
      try {
        process.stderr.write(
          `\n${QUIT_WORDS[signal]}: unpacking stopped and its half-written copy removed; ${kept}\n`,
        );
      } catch {
        // a closed terminal (SIGHUP) cannot be written to
      }
      process.exit(exitCodeFor(signal));
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  process.on('exit', clean);
  return Object.assign(guard, {
    dispose(): void {
      for (const [signal, handler] of handlers) process.removeListener(signal, handler);
      process.removeListener('exit', clean);
    },
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Puts the complete `fresh` folder at `target`. An older copy of the same run is moved aside, then
 * deleted; anything else that was there is kept, moved to `<target>.replaced-<time>`.
 */
async function replaceDir(
  fresh: string,
  target: string,
  guard: PartialGuard,
): Promise<MovedAside | undefined> {
  // An empty target (a `local` run's, taken before the run) goes in one rename: never missing for a
  // moment in which another run could take its name. If that fails, the way below says why.
  if (!holdsResults(target)) {
    const moved = await rename(fresh, target).then(
      () => true,
      () => false,
    );
    if (moved) return undefined;
  }
  const hadOld = await exists(target);
  const why = hadOld ? await notAnOlderCopy(fresh, target) : undefined;
  const kept = `the complete copy is in ${basename(fresh)} beside it`;
  let old = `${target}.old-${process.pid}`;
  if (why === undefined) await rm(old, { recursive: true, force: true });
  try {
    if (hadOld) {
      if (why === undefined) await rename(target, old);
      else old = await moveAside(target, guard);
    }
  } catch (err) {
    throw new CliError(
      `cannot move the previous results in ${target} aside: ${(err as Error).message}; they are as they were, and ${kept}`,
      { cause: err },
    );
  }
  try {
    await rename(fresh, target);
  } catch (err) {
    if (hadOld) await rename(old, target).catch(() => undefined);
    throw new CliError(
      `cannot move the unpacked archive from ${fresh} to ${target}: ${(err as Error).message}; ${kept}`,
      { cause: err },
    );
  } finally {
    guard.aside = undefined;
  }
  if (hadOld && why !== undefined) return { to: old, why };
  if (hadOld) await rm(old, { recursive: true, force: true });
  return undefined;
}

/**
 * Renames `target` to a free `<target>.replaced-<UTC time>[.<n>]` and answers that name. Another
 * download may take the same name at the same moment: the rename then fails and the next is tried.
 */
async function moveAside(target: string, guard: PartialGuard): Promise<string> {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  for (let n = 1; ; n++) {
    // `.2`, not `-2`: a folder name ending in -<number> reads as a task folder (`benchfleet site`)
    const name = `${target}.replaced-${stamp}${n > 1 ? `.${n}` : ''}`;
    if (await exists(name)) continue;
    guard.aside = name;
    try {
      await rename(target, name);
      return name;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'EEXIST' && code !== 'ENOTEMPTY') || n >= 100) throw err;
    }
  }
}

/** A run's identity in its manifest.json: the id and the creation time together. */
async function runIn(dir: string): Promise<{ run_id?: unknown; created_at?: unknown } | undefined> {
  try {
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as unknown;
    return typeof m === 'object' && m !== null ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why the contents of `target` are not just an older copy of the run unpacked in `fresh` (and so
 * must not be deleted), or undefined when they are: the same run (id and creation time), with no
 * file the new copy lacks but the site's own, which every build writes again.
 */
async function notAnOlderCopy(fresh: string, target: string): Promise<string | undefined> {
  if (!(await stat(target)).isDirectory()) return 'it was a file, not a folder';
  const [was, now] = await Promise.all([runIn(target), runIn(fresh)]);
  if (!was) return 'it had no readable manifest.json';
  if (!now) return 'the new archive has no manifest.json to compare it with';
  if (typeof was.run_id !== 'number' || typeof was.created_at !== 'string') {
    return 'its manifest.json does not say which run it holds (no run_id and created_at)';
  }
  if (was.run_id !== now.run_id || was.created_at !== now.created_at) {
    return `it held run ${was.run_id} created at ${was.created_at}, not this run (created at ${String(now.created_at ?? 'an unknown time')})`;
  }
  const siteFiles = new Set(Object.values(SITE_FILES).map((f) => join(DEFAULT_SITE_FOLDER, f)));
  const extra: string[] = [];
  let entries: string[];
  try {
    entries = await entriesUnder(target);
  } catch (err) {
    return `a folder in it could not be read (${(err as Error).message})`;
  }
  for (const rel of entries) {
    if (!siteFiles.has(rel) && !(await exists(join(fresh, rel)))) extra.push(rel);
  }
  if (extra.length === 0) return undefined;
  const shown = extra.slice(0, 3).join(', ') + (extra.length > 3 ? `, and ${extra.length - 3} more` : '');
  return `it held ${extra.length} file(s) or folder(s) the new copy does not have: ${shown}`;
}

/** Every file, and every empty folder, under `dir`, as paths relative to it. */
async function entriesUnder(dir: string, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  const names = await readdir(join(dir, prefix), { withFileTypes: true });
  if (names.length === 0 && prefix !== '') return [prefix];
  for (const e of names) {
    const rel = join(prefix, e.name);
    if (e.isDirectory()) found.push(...(await entriesUnder(dir, rel)));
    else found.push(rel);
  }
  return found;
}

/** What stops an entry from being written beside the others, rather than failing the unpack. */
const CLASHES = new Set(['EEXIST', 'ENOTDIR', 'EISDIR', 'ENAMETOOLONG']);

/** Names shown in messages: a hostile archive's can be megabytes long. */
function clipped(name: string): string {
  return name.length > 200 ? `${name.slice(0, 160)}... (${name.length} characters)` : name;
}

/**
 * Why the entry at `target` (under `root`) could not be written, for a person: `code` is the
 * failure's; `folder` the folder that could not be made (the file's, or a folder entry itself), or
 * undefined when the file itself could not be created.
 */
async function clashReason(
  root: string,
  target: string,
  code: string,
  folder: string | undefined,
): Promise<string> {
  if (code === 'ENAMETOOLONG') return 'its name is too long for this disk';
  const shown = (path: string): string => JSON.stringify(clipped(relative(root, path).split(sep).join('/')));
  if (folder !== undefined) {
    // the first thing on the way that is not a folder: a file an earlier entry wrote
    for (let at = folder; at !== root && at.startsWith(root); at = dirname(at)) {
      const found = await lstat(at).catch(() => undefined);
      if (found && !found.isDirectory()) {
        return `it needs a folder where an earlier entry wrote the file ${shown(at)}; the first is kept`;
      }
    }
    return 'it needs a folder where an earlier entry wrote a file; the first is kept';
  }
  const found = await lstat(target).catch(() => undefined);
  if (found?.isDirectory()) {
    return 'earlier entries made a folder of that name, and a name cannot be both; the first is kept';
  }
  // The same name twice, or (on a disk that ignores case: macOS, Windows) one differing in case.
  const names = await readdir(dirname(target)).catch(() => [] as string[]);
  const base = basename(target);
  const other = names.find((n) => n !== base && n.toLowerCase() === base.toLowerCase());
  return other === undefined
    ? 'an earlier entry of the same name was written; the first is kept'
    : `an earlier entry wrote ${shown(join(dirname(target), other))}, which this disk holds as the same file (it ignores case); the first is kept`;
}

/**
 * Stops the unpack before a write that would fill the disk: a full disk fails mid-file, after a
 * long download, with words (ENOSPC) that do not say how much room was needed.
 */
function checkRoom(root: string, shownAs: string, name: string, size: number): void {
  const free = freeBytes(root);
  if (free === undefined || free >= size + DISK_MARGIN) return;
  throw new CliError(
    `the disk of ${shownAs} has ${amount(free)} free, too little for the archive entry ` +
      `${JSON.stringify(clipped(name))} (${amount(size)}) and ${amount(DISK_MARGIN)} to spare: ` +
      'free some space there, or give --results-dir (or BENCHFLEET_RESULTS_DIR) a folder on a disk with more room, then download again',
  );
}

/** Streams the archive into `root`; `shownAs` is the folder named in errors. */
async function unpackInto(
  source: NodeJS.ReadableStream,
  root: string,
  shownAs: string,
  idleMs: number,
  skip: (entry: SkippedEntry) => void,
  signal?: AbortSignal,
): Promise<number> {
  let files = 0;
  const ex = extract();
  ex.on('entry', (header, stream, next) => {
    // The entry stream is torn down with the extractor (a refused entry, a failed write, a quit's
    // abort at any moment, even before the file's pipeline listens); the extractor's error is the
    // one reported below, so the entry's own copy of it must not go unhandled.
    stream.on('error', () => undefined);
    const fail = (err: Error): void => {
      ex.destroy(err);
    };
    const name = header.name.replace(/^\.\/+/, '');
    const target = resolve(root, name);
    const rel = relative(root, target);
    // An entry this disk cannot hold beside the others is passed over (read to its end, unwritten);
    // any other failure (a full disk, no permission) fails the unpack.
    const passOver =
      (folder?: string) =>
      async (err: NodeJS.ErrnoException): Promise<false> => {
        if (!CLASHES.has(err.code ?? '')) throw err;
        const reason = await clashReason(root, target, err.code ?? '', folder);
        skip({ entry: clipped(header.name), reason });
        await new Promise<void>((done, failed) => {
          stream.on('end', done);
          stream.on('error', failed);
          stream.resume();
        });
        return false;
      };
    if (name === '' || name === '.') {
      stream.resume();
      stream.on('end', next);
      return;
    }
    if (
      isAbsolute(header.name) ||
      rel === '' ||
      rel.startsWith(`..${sep}`) ||
      rel === '..' ||
      isAbsolute(rel)
    ) {
      fail(
        new CliError(
          `the archive entry ${JSON.stringify(header.name)} would land outside ${shownAs}; refused`,
        ),
      );
      return;
    }
    if (header.type === 'directory') {
      mkdir(target, { recursive: true })
        .then(
          () => {
            stream.resume();
            stream.on('end', next);
          },
          async (err: NodeJS.ErrnoException) => {
            await passOver(target)(err);
            next();
          },
        )
        .catch(fail);
      return;
    }
    if (header.type !== 'file' && header.type !== 'contiguous-file') {
      fail(
        new CliError(
          `the archive entry ${JSON.stringify(header.name)} is a ${header.type}, not a file; refused`,
        ),
      );
      return;
    }
    const write = async (): Promise<void> => {
      checkRoom(root, shownAs, header.name, header.size ?? 0);
      const made = await mkdir(dirname(target), { recursive: true }).then(
        () => true,
        passOver(dirname(target)),
      );
      if (!made) return;
      // `wx`: never over an earlier entry's file (the same name, or on a disk that ignores case,
      // one differing in case), which would lose it without a word. The folder starts empty.
      const file = await open(target, 'wx', 0o644).catch(passOver());
      if (file === false) return;
      await pipeline(stream, file.createWriteStream());
      files += 1;
    };
    write().then(() => next(), fail);
  });
  const input = source instanceof Readable ? source : Readable.from(source as AsyncIterable<Buffer>);
  try {
    await pipeline(input, stallWatch(idleMs), createGunzip(), ex, { signal });
  } catch (err) {
    if (signal?.aborted) throw new CliError(`the download into ${shownAs} was stopped`, { cause: err });
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot unpack the archive into ${shownAs}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return files;
}

const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(1))} s`;

function amount(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * Passes the bytes through, and fails with a TransferStalledError when none arrives for `idleMs`
 * (counted from its creation, then from each chunk).
 */
export function stallWatch(idleMs: number): Transform {
  let bytes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watch = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      arm();
      done(null, chunk);
    },
    flush(done) {
      clearTimeout(timer);
      done();
    },
    destroy(err, done) {
      clearTimeout(timer);
      done(err);
    },
  });
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      watch.destroy(
        new TransferStalledError(
          `the download stalled: no data arrived for ${seconds(idleMs)} (${amount(bytes)} received), so it was given up`,
        ),
      );
    }, idleMs);
  };
  arm();
  return watch;
}

/**
 * GETs `url`, giving up (TransferStalledError) when the answer's headers do not come within
 * `idleMs`. `abort` closes the connection, for a caller that stops reading the body; so does `stop`.
 */
export async function fetchWithin(
  url: string,
  idleMs: number,
  stop?: AbortSignal,
): Promise<{ res: Response; abort(): void }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), idleMs);
  try {
    const res = await fetch(url, {
      signal: stop ? AbortSignal.any([controller.signal, stop]) : controller.signal,
    });
    return { res, abort: () => controller.abort() };
  } catch (err) {
    if (!controller.signal.aborted) throw err;
    throw new TransferStalledError(
      `the archive link did not answer within ${seconds(idleMs)}, so the download was given up`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Fetches a (presigned) URL and unpacks it; a stalled transfer is given up after `idleMs`. */
export async function downloadAndUnpack(
  url: string,
  dir: string,
  opts: UnpackOptions = {},
): Promise<UnpackResult> {
  const idleMs = opts.idleMs ?? idleTimeoutMs();
  const { res, abort } = await fetchWithin(url, idleMs, opts.signal).catch(async (err: unknown) => {
    if (!(err instanceof TransferStalledError)) throw err;
    throw new TransferStalledError(`${err.message}; ${await keptNote(resolve(dir))}`, { cause: err });
  });
  if (!res.ok || !res.body) {
    abort();
    throw new CliError(
      `downloading the archive failed: HTTP ${res.status} from its link. Links expire after an hour: ` +
        '`benchfleet status --api-key <operator key>` prints a fresh one (its "archive:" line), and with ' +
        'an AWS deployment `benchfleet download <run-id>` reads the archive from the bucket directly',
    );
  }
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  return unpackArchive(body, dir, { ...opts, idleMs }).catch((err: unknown) => {
    // a stalled or refused archive, or an unpack that failed before reading (a full disk): close
    // the connection; the body, perhaps never read, must not turn the abort into an unhandled error
    body.on('error', () => undefined);
    body.destroy();
    abort();
    throw err;
  });
}
