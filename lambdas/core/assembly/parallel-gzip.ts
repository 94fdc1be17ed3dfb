// gzip of results.tar.gz on several threads, as pigz does it: the tar stream is cut into blocks of a
// fixed size, each block is deflated on its own thread-pool job with the previous block's last
// 32 KB as its dictionary (so matches still reach back across the cut and the ratio is that of one
// stream), ending on a byte boundary (sync flush) except the last (finish), and the raw deflate
// outputs are written in order between one gzip header and one trailer. The result is ONE ordinary
// gzip member: any gunzip reads it (GNU tar, Node's createGunzip, browsers), nothing multi-member.
//
// Why: a single zlib stream deflates on one thread-pool thread at a time, and gzip level 1 of the
// archive is most of the assembly's CPU (~20 s of the ~40 s for 2,000 results of 256 KB), so on a
// machine with two cores the archive waited for that one thread. The blocks are cut at fixed
// offsets of the tar stream, not where its chunks happen to end, so the same input gives the same
// bytes whatever the timing. Memory: at most `concurrency` blocks (and their outputs) in flight, and
// their block buffers are reused.
import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { constants, crc32, createDeflateRaw } from 'node:zlib';

/** deflate's window: a block's dictionary is the last WINDOW bytes before it */
const WINDOW = 32 * 1024;

export interface ParallelGzipOptions {
  level: number;
  /** uncompressed bytes per block (default 1 MiB) */
  blockSize?: number;
  /** blocks in flight (default: one more than the CPUs Node sees, at least 3) */
  concurrency?: number;
}

interface Job {
  /** the block being deflated; reused once its output is out */
  block: Buffer;
  /** the raw deflate output, in zlib's output chunks (no copy into one buffer) */
  done: Promise<Buffer[]>;
}

export class ParallelGzip extends Transform {
  private readonly level: number;
  private readonly blockSize: number;
  private readonly concurrency: number;
  private block: Buffer;
  private filled = 0;
  /** the last WINDOW bytes before the current block (empty before the first) */
  private dictionary: Buffer = Buffer.alloc(0);
  private crc = 0;
  private size = 0;
  private readonly jobs: Job[] = [];
  /** block buffers whose job is done: at most `concurrency` + 1 blocks are ever allocated */
  private readonly free: Buffer[] = [];
  private headerSent = false;
  /** compressed bytes pushed so far */
  bytesOut = 0;

  constructor(opts: ParallelGzipOptions) {
    super();
    this.level = opts.level;
    this.blockSize = Math.max(WINDOW, opts.blockSize ?? 1024 * 1024);
    this.concurrency = Math.max(1, opts.concurrency ?? Math.max(2, availableParallelism()) + 1);
    this.block = Buffer.allocUnsafe(this.blockSize);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.addBytes(chunk).then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    this.finish().then(() => callback(), callback);
  }

  private async addBytes(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const n = chunk.copy(this.block, this.filled, offset);
      this.filled += n;
      offset += n;
      if (this.filled === this.blockSize) await this.dispatch(false);
    }
  }

  /** Starts deflating the current block; waits while `concurrency` blocks are in flight. */
  private async dispatch(last: boolean): Promise<void> {
    const data = this.block.subarray(0, this.filled);
    this.crc = crc32(data, this.crc);
    this.size += data.byteLength;
    const dictionary = this.dictionary;
    const done = new Promise<Buffer[]>((resolve, reject) => {
      const deflate = createDeflateRaw({
        level: this.level,
        // memLevel 9 (zlib's default is 8): the same output size, level 1 ~5-14% faster here
        memLevel: 9,
        // one thread-pool pass per block: the output buffer holds the whole block's output
        chunkSize: this.blockSize + (this.blockSize >> 3),
        finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
        ...(dictionary.byteLength > 0 ? { dictionary } : {}),
      });
      const out: Buffer[] = [];
      deflate.on('data', (c: Buffer) => out.push(c));
      deflate.once('end', () => resolve(out));
      deflate.once('error', reject);
      deflate.end(data);
    });
    done.catch(() => undefined); // awaited in order below; never unhandled meanwhile
    this.jobs.push({ block: this.block, done });
    // The next block's dictionary is copied out: the block buffer itself goes with its job.
    this.dictionary =
      data.byteLength >= WINDOW
        ? Buffer.from(data.subarray(data.byteLength - WINDOW))
        : Buffer.concat([this.dictionary, data]).subarray(-WINDOW);
    this.block = this.free.pop() ?? Buffer.allocUnsafe(this.blockSize);
    this.filled = 0;
    while (this.jobs.length >= (last ? 1 : this.concurrency)) await this.emitOldest();
  }

  private async emitOldest(): Promise<void> {
    const job = this.jobs.shift();
    if (!job) return;
    const out = await job.done;
    this.free.push(job.block);
    if (!this.headerSent) {
      this.headerSent = true;
      // gzip header: deflate, no flags, no mtime (the same input gives the same bytes), XFL 4
      // (fastest) or 2 (best) or 0, OS 3 (Unix), as zlib writes it
      const xfl = this.level === 1 ? 4 : this.level === 9 ? 2 : 0;
      this.pushCounted(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]));
    }
    for (const c of out) this.pushCounted(c);
  }

  private async finish(): Promise<void> {
    await this.dispatch(true);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.size % 2 ** 32, 4);
    this.pushCounted(trailer);
  }

  private pushCounted(b: Buffer): void {
    this.bytesOut += b.byteLength;
    this.push(b);
  }
}
