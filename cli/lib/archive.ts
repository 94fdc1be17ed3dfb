// Unpacking results.tar.gz into results/<run-id>/: streamed (gunzip -> tar-stream -> files), and
// an entry that would land outside the folder (absolute, `..`, links) is refused, not written.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { CliError } from './errors';

export interface UnpackResult {
  dir: string;
  files: number;
}

/** BENCHFLEET_RESULTS_DIR moves the results root (default `results/`). */
export function resultsRootFor(root?: string): string {
  return resolve(root ?? process.env.BENCHFLEET_RESULTS_DIR ?? 'results');
}

export function resultsDirFor(runId: number, root?: string): string {
  return resolve(resultsRootFor(root), String(runId));
}

/**
 * Unpacks a gzipped tar stream into `dir`. The bytes go to a sibling `<dir>.partial-<pid>` first;
 * only a complete archive replaces `dir` (so a re-download is exact), and a failed or interrupted
 * one is deleted and leaves the previous results of `dir` as they were.
 */
export async function unpackArchive(source: NodeJS.ReadableStream, dir: string): Promise<UnpackResult> {
  const target = resolve(dir);
  const partial = `${target}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  let files: number;
  try {
    files = await unpackInto(source, partial, target);
  } catch (err) {
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    const kept = (await exists(target))
      ? `the previous results in ${target} were kept`
      : `nothing was written to ${target}`;
    const message = `${(err as Error).message}; ${kept}`;
    throw new CliError(message, { cause: err });
  }
  await replaceDir(partial, target);
  return { dir: target, files };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Puts the complete `fresh` folder at `target`: the old one is moved aside, then deleted. */
async function replaceDir(fresh: string, target: string): Promise<void> {
  const old = `${target}.old-${process.pid}`;
  await rm(old, { recursive: true, force: true });
  const hadOld = await exists(target);
  if (hadOld) await rename(target, old);
  try {
    await rename(fresh, target);
  } catch (err) {
    if (hadOld) await rename(old, target).catch(() => undefined);
    throw new CliError(
      `cannot move the unpacked archive from ${fresh} to ${target}: ${(err as Error).message}; ` +
        `the complete copy is in ${basename(fresh)} beside it`,
      { cause: err },
    );
  }
  if (hadOld) await rm(old, { recursive: true, force: true });
}

/** Streams the archive into `root`; `shownAs` is the folder named in errors. */
async function unpackInto(source: NodeJS.ReadableStream, root: string, shownAs: string): Promise<number> {
  let files = 0;
  const ex = extract();
  ex.on('entry', (header, stream, next) => {
    const fail = (err: Error): void => {
      // The entry stream is torn down with the extractor; its error is the one reported below.
      stream.on('error', () => undefined);
      ex.destroy(err);
    };
    const name = header.name.replace(/^\.\/+/, '');
    const target = resolve(root, name);
    const rel = relative(root, target);
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
      mkdir(target, { recursive: true }).then(() => {
        stream.resume();
        stream.on('end', next);
      }, fail);
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
    mkdir(dirname(target), { recursive: true })
      .then(() => pipeline(stream, createWriteStream(target, { mode: 0o644 })))
      .then(() => {
        files += 1;
        next();
      }, fail);
  });
  const input = source instanceof Readable ? source : Readable.from(source as AsyncIterable<Buffer>);
  try {
    await pipeline(input, createGunzip(), ex);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot unpack the archive into ${shownAs}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return files;
}

/** Fetches a (presigned) URL and unpacks it. */
export async function downloadAndUnpack(url: string, dir: string): Promise<UnpackResult> {
  const res = await fetch(url);
  if (!res.ok || !res.body) {
    throw new CliError(
      `downloading the archive failed: HTTP ${res.status} from its link. Links expire after an hour: ` +
        '`benchfleet status --api-key <operator key>` prints a fresh one (its "archive:" line), and with ' +
        'an AWS deployment `benchfleet download <run-id>` reads the archive from the bucket directly',
    );
  }
  return unpackArchive(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), dir);
}
