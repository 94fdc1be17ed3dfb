// Reads one runner tarball (gzip + tar) from a stream and keeps the files the archive wants.
// A task's files are held until its whole tarball has been read and the gzip checksum verified,
// then handed over together: a corrupt tarball contributes nothing, and a half-read file can
// never reach the archive. Memory is bounded by EntryLimits.maxTaskBytes, whatever the run size.
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { TransientError } from '../errors';
import { decideEntry, type EntryLimits, KeptNames, type TarballRole } from './entries';

export interface KeptFile {
  /** relative to the task's folder (`output.txt`, `logs/run.log`) */
  name: string;
  data: Buffer;
}

export interface TarballContents {
  files: KeptFile[];
  /** entries refused or over a cap; the other files are still kept */
  problems: string[];
  /** the tarball could not be read (corrupt, truncated, empty, too many entries): no files kept */
  unreadable?: string;
}

/**
 * Reads `source` to its end. Throws TransientError only when the source itself fails (S3 dropped
 * the connection): that is worth a retry of the step, unlike anything wrong with the bytes.
 */
export async function readTarball(
  source: Readable,
  role: TarballRole,
  limits: EntryLimits,
): Promise<TarballContents> {
  // set: the NNN of a raw `output_NNN.*` kept as `output.*`; Infinity for every other file
  // from: the entry's own name (`output_002.txt` for a file kept as `output.txt`)
  const kept = new Map<string, { data: Buffer; set: number; from: string }>();
  // the names in `kept`, to leave out a later one that no disk could unpack beside them
  const names = new KeptNames();
  const problems: string[] = [];
  let sourceError: Error | undefined;
  let total = 0;
  let entries = 0;

  // Every write to gunzip and every full output chunk is a round trip to the thread pool (a
  // wake-up of a pool thread, then a callback on the main thread): the download's chunks (16 KB
  // TLS records from S3, 64 KB from s3rver) are written in pieces of up to 512 KB, and gunzip's
  // output comes in 256 KB chunks, so a 256 KB result takes about three round trips, not a dozen.
  const coalesce = new Coalesce(COALESCE_BYTES);
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  const inflated = new Cap(limits.maxInflatedBytes);
  const extract = tarExtract();
  source.once('error', (err: Error) => {
    sourceError = err;
    coalesce.destroy();
    gunzip.destroy(err);
  });
  gunzip.once('error', (err: Error) => inflated.destroy(err));
  inflated.once('error', (err: Error) => {
    gunzip.destroy(); // no more inflating: the point of the cap
    extract.destroy(err);
  });
  source.pipe(coalesce).pipe(gunzip).pipe(inflated).pipe(extract);

  try {
    for await (const entry of extract) {
      entries += 1;
      if (entries > limits.maxEntries) throw new Unreadable(`more than ${limits.maxEntries} entries`);
      // tar-stream has already folded pax/GNU long names into `name`.
      const { name, type, size = 0 } = entry.header;
      const decision = decideEntry(role, name, type, size, limits);
      if (!decision.keep) {
        if (decision.problem) problems.push(decision.problem);
        entry.resume();
        continue;
      }
      const clash = names.clash(decision.name);
      if (clash) {
        problems.push(clash);
        entry.resume();
        continue;
      }
      const set = decision.set ?? Number.POSITIVE_INFINITY;
      const prior = kept.get(decision.name);
      // `output.txt` beats a raw `output_001.txt`, and `output_002.txt` beats `output_001.txt`
      // whatever their order in the tarball (`tar -C dir .` lists a directory unsorted); between
      // equals the later entry wins, as tar does. Decided before the cap: a dropped entry, or the
      // one a later entry replaces, costs nothing.
      if (prior && prior.set > set) {
        entry.resume();
        continue;
      }
      const replaced = prior?.data.byteLength ?? 0;
      if (total - replaced + Math.min(size, decision.tail ?? size) > limits.maxTaskBytes) {
        problems.push(`over the ${limits.maxTaskBytes}-byte cap per task: ${decision.name}`);
        entry.resume();
        continue;
      }
      let data: Buffer;
      if (decision.tail === undefined) {
        const chunks: Buffer[] = [];
        for await (const chunk of entry) chunks.push(chunk as Buffer);
        data = Buffer.concat(chunks);
      } else {
        const cut = size - decision.tail;
        problems.push(
          `${decision.name} cut to its last ${decision.tail} bytes: it is ${size} bytes, over the cap per log`,
        );
        const note = `[benchfleet: the first ${cut} bytes of this log were left out; it was over the ${decision.tail}-byte cap per log]\n`;
        data = Buffer.concat([Buffer.from(note), await tailOf(entry, decision.tail)]);
      }
      total += data.byteLength - replaced;
      kept.set(decision.name, { data, set, from: normalized(name) });
      names.add(decision.name);
    }
  } catch (err) {
    if (sourceError) {
      throw new TransientError(`reading the tarball failed: ${sourceError.message}`, { cause: sourceError });
    }
    const reason = err instanceof Unreadable ? err.message : describe(err);
    return { files: [], problems, unreadable: reason };
  } finally {
    source.unpipe(coalesce);
    source.destroy();
    coalesce.destroy();
    gunzip.destroy();
    inflated.destroy();
    extract.destroy();
  }
  if (sourceError) {
    throw new TransientError(`reading the tarball failed: ${sourceError.message}`, { cause: sourceError });
  }
  dropOlderSets(kept, problems);
  const files = [...kept.entries()].map(([name, { data }]) => ({ name, data }));
  return { files, problems };
}

/**
 * Raw outputs of several ruby-bench runs (`output_001.*`, `output_002.*`: a runner that reused its
 * out path) are never mixed: only the newest set's files stay, so `output.txt` and `output.json`
 * always describe the same run.
 */
function dropOlderSets(kept: Map<string, { set: number; from: string }>, problems: string[]): void {
  const sets = [...kept.values()].filter((k) => Number.isFinite(k.set));
  if (sets.length === 0) return;
  const newest = sets.reduce((a, b) => (b.set > a.set ? b : a));
  for (const [name, { set, from }] of kept) {
    if (!Number.isFinite(set) || set === newest.set) continue;
    kept.delete(name);
    problems.push(`${from} left out: an older ruby-bench run than ${newest.from}`);
  }
}

/** The last `n` bytes of a stream, holding at most about 3n at a time. */
async function tailOf(stream: AsyncIterable<unknown>, n: number): Promise<Buffer> {
  let chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).byteLength;
    if (length > 2 * n) {
      const joined = Buffer.concat(chunks);
      chunks = [joined.subarray(joined.byteLength - n)];
      length = n;
    }
  }
  const joined = Buffer.concat(chunks);
  return joined.subarray(Math.max(0, joined.byteLength - n));
}

class Unreadable extends Error {}

/** Passes bytes on until more than `max` went through, then fails as Unreadable. */
class Cap extends Transform {
  private seen = 0;

  constructor(private readonly max: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.byteLength;
    if (this.seen > this.max) {
      callback(new Unreadable(`it inflates to more than ${this.max} bytes (the cap per tarball)`));
      return;
    }
    callback(null, chunk);
  }
}

const COALESCE_BYTES = 512 * 1024;

/** Passes bytes on in pieces of at least `size` (the last one excepted): fewer, larger writes. */
class Coalesce extends Transform {
  private chunks: Buffer[] = [];
  private length = 0;

  constructor(private readonly size: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.chunks.push(chunk);
    this.length += chunk.byteLength;
    if (this.length >= this.size) this.release();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.length > 0) this.release();
    callback();
  }

  private release(): void {
    const joined = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.length);
    this.chunks = [];
    this.length = 0;
    if (joined) this.push(joined);
  }
}

function normalized(name: string): string {
  return name
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/unexpected end of file/i.test(message)) return 'empty or truncated tarball';
  return `corrupt tarball: ${message.slice(0, 200)}`;
}
