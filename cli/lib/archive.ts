// Unpacking results.tar.gz into results/<run-id>/: streamed (gunzip -> tar-stream -> files), and
// an entry that would land outside the folder (absolute, `..`, links) is refused, not written.
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
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
export function resultsDirFor(runId: number, root?: string): string {
  return resolve(root ?? process.env.BENCHFLEET_RESULTS_DIR ?? 'results', String(runId));
}

/** Unpacks a gzipped tar stream into `dir`, which is emptied first so a re-download is exact. */
export async function unpackArchive(source: NodeJS.ReadableStream, dir: string): Promise<UnpackResult> {
  const root = resolve(dir);
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
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
        new CliError(`the archive entry ${JSON.stringify(header.name)} would land outside ${root}; refused`),
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
    throw new CliError(`cannot unpack the archive into ${root}: ${(err as Error).message}`, { cause: err });
  }
  return { dir: root, files };
}

/** Fetches a (presigned) URL and unpacks it. */
export async function downloadAndUnpack(url: string, dir: string): Promise<UnpackResult> {
  const res = await fetch(url);
  if (!res.ok || !res.body) {
    throw new CliError(
      `downloading the archive failed: HTTP ${res.status}; try \`benchfleet download <run-id>\``,
    );
  }
  return unpackArchive(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), dir);
}
