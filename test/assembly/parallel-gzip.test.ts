// results.tar.gz is compressed on several threads (ParallelGzip): the output must still be ONE
// ordinary gzip member that every reader takes: Node's gunzip, GNU gzip and tar, the CLI's
// download/unpack (createGunzip + tar-stream) and, after it, the site loader.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32, gunzipSync } from 'node:zlib';
import { unpackArchive } from '../../cli/lib/archive';
import { buildArchive } from '../../lambdas/core/assembly/builder';
import { readListing, writeListing } from '../../lambdas/core/assembly/listing';
import { ParallelGzip } from '../../lambdas/core/assembly/parallel-gzip';
import { storageKeys } from '../../lambdas/shared/contract';
import { loadResults } from '../../site/load';
import { makeTarball, putBytes, readArchive, startS3, type TestS3, taskRecord } from './helpers';

/** Text that compresses like ruby-bench output (repeated names, varying digits). */
function benchText(bytes: number, seed: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i += 1) {
    const line = `bench_${(i * 7 + seed) % 97}  ${((i * 2654435761 + seed) % 100_000) / 100} ms  ${randomBytes(4).toString('hex')}\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('').slice(0, bytes));
}

async function compress(input: Buffer, opts: ConstructorParameters<typeof ParallelGzip>[0], piece: number) {
  const gz = new ParallelGzip(opts);
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    gz.on('end', resolve);
    gz.on('error', reject);
  });
  for (let o = 0; o < input.length; o += piece) gz.write(input.subarray(o, o + piece));
  gz.end();
  await ended;
  return { bytes: Buffer.concat(out), counted: gz.bytesOut };
}

/** One member: the trailer's CRC and size are the whole input's (a later member would end with its own). */
function expectOneMember(gz: Buffer, input: Buffer): void {
  expect([...gz.subarray(0, 4)]).toEqual([0x1f, 0x8b, 8, 0]);
  expect(gz.readUInt32LE(gz.length - 8)).toBe(crc32(input) >>> 0);
  expect(gz.readUInt32LE(gz.length - 4)).toBe(input.length % 2 ** 32);
}

describe('ParallelGzip', () => {
  const input = Buffer.concat([benchText(700_000, 1), randomBytes(200_000), benchText(300_000, 2)]);

  it.each([
    [32 * 1024, 1],
    [100_000, 3],
    [256 * 1024, 2],
    [4 * 1024 * 1024, 4],
  ])(
    'makes one gzip member of the input (blocks of %d bytes, %d in flight)',
    async (blockSize, concurrency) => {
      const { bytes, counted } = await compress(input, { level: 1, blockSize, concurrency }, 65_536);
      expect(gunzipSync(bytes).equals(input)).toBe(true);
      expectOneMember(bytes, input);
      expect(counted).toBe(bytes.length);
    },
  );

  it('gives the same bytes however its input is cut into writes', async () => {
    const opts = { level: 1, blockSize: 100_000, concurrency: 3 };
    const a = await compress(input, opts, 1);
    const b = await compress(input, opts, 77_777);
    const c = await compress(input, opts, input.length);
    expect(a.bytes.equals(b.bytes)).toBe(true);
    expect(a.bytes.equals(c.bytes)).toBe(true);
  }, 30_000);

  it('compresses an empty input to a valid empty gzip', async () => {
    const { bytes } = await compress(Buffer.alloc(0), { level: 1 }, 1);
    expect(gunzipSync(bytes).length).toBe(0);
    expectOneMember(bytes, Buffer.alloc(0));
  });

  it('is read by GNU gzip', () => {
    return compress(input, { level: 1, blockSize: 64 * 1024, concurrency: 2 }, 65_536).then(({ bytes }) => {
      const dir = mkdtempSync(join(tmpdir(), 'pgzip-'));
      try {
        writeFileSync(join(dir, 'x.gz'), bytes);
        expect(
          execFileSync('gzip', ['-dc', join(dir, 'x.gz')], { maxBuffer: 64 * 1024 * 1024 }).equals(input),
        ).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('an archive compressed in several blocks', () => {
  const RUN_ID = 1_763_950_000;
  const fixture = join(__dirname, '..', 'site', 'fixtures', 'ruby-bench', 'pvalue');
  let s3: TestS3;
  let dir: string;
  let archive: Buffer;
  beforeAll(async () => {
    s3 = await startS3();
    dir = mkdtempSync(join(tmpdir(), 'pgzip-archive-'));
    // Three tasks of ~600 KB each: the tar is about 1.8 MB, so several 1 MiB blocks.
    const tasks = [0, 1, 2].map((i) =>
      taskRecord(RUN_ID, i, {
        instance_type: 'c7g.large',
        run: i + 1,
        s3_result_key: storageKeys.result(RUN_ID, RUN_ID * 100_000 + i + 1),
      }),
    );
    for (const [i, t] of tasks.entries()) {
      const tarball = await makeTarball([
        { name: './output.txt', data: readFileSync(join(fixture, 'output_001.txt')) },
        { name: './output.json', data: readFileSync(join(fixture, 'output_001.json')) },
        { name: './meta.json', data: JSON.stringify({ attempt: 1, runner_id: 'runner-a' }) },
        { name: './logs/run.log', data: Buffer.concat([benchText(300_000, i), randomBytes(300_000)]) },
      ]);
      await putBytes(s3, t.s3_result_key as string, tarball);
    }
    const listingKey = storageKeys.assemblyScratch(RUN_ID, 'listing.jsonl');
    await writeListing(
      s3.store,
      listingKey,
      (async function* () {
        yield tasks;
      })(),
    );
    const run = {
      run_id: RUN_ID,
      ruby_version: '3.4.7',
      status: 'complete' as const,
      config: {},
      created_at: '2026-11-24T00:00:00.000Z',
      finished_at: '2026-11-24T01:30:00.000Z',
    };
    const key = storageKeys.archive(RUN_ID);
    const summary = await buildArchive(s3.store, run, readListing(s3.store, listingKey), {
      archiveKey: key,
      now: new Date('2026-11-24T02:00:00.000Z'),
    });
    const body = await s3.store.getStream(key);
    const chunks: Buffer[] = [];
    for await (const c of body as Readable) chunks.push(c as Buffer);
    archive = Buffer.concat(chunks);
    expect(summary.bytes).toBe(archive.length);
  }, 60_000);
  afterAll(async () => {
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('spans several blocks and is one gzip member', () => {
    const tar = gunzipSync(archive);
    expect(tar.length).toBeGreaterThan(1.5 * 1024 * 1024);
    expectOneMember(archive, tar);
  });

  it('is read by GNU tar', () => {
    const out = join(dir, 'gnu');
    mkdirSync(out);
    writeFileSync(join(dir, 'results.tar.gz'), archive);
    execFileSync('tar', ['xzf', join(dir, 'results.tar.gz'), '-C', out]);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.tasks.map((t: { files: string[] }) => t.files.length)).toEqual([4, 4, 4]);
    expect(readFileSync(join(out, 'c7g.large-3', 'output.txt')).length).toBeGreaterThan(0);
  });

  it('is read entry by entry by tar-stream after createGunzip', async () => {
    const entries = await readArchive(archive);
    expect(entries.map((e) => e.name).sort()).toEqual(
      [
        ...[1, 2, 3].flatMap((r) =>
          ['output.txt', 'output.json', 'meta.json', 'logs/run.log'].map((f) => `c7g.large-${r}/${f}`),
        ),
        'manifest.json',
      ].sort(),
    );
  });

  it("is unpacked by the CLI's download code and loaded by the site", async () => {
    const results = join(dir, 'cli');
    // The download's chunks, cut where they fall (not on block boundaries).
    const pieces = [];
    for (let o = 0; o < archive.length; o += 40_000) pieces.push(archive.subarray(o, o + 40_000));
    const res = await unpackArchive(Readable.from(pieces), results);
    expect(res.files).toBe(13);
    const loaded = await loadResults(results);
    expect(loaded.runId).toBe(RUN_ID);
    expect(loaded.tasks.map((t) => [t.folder, t.outcome])).toEqual([
      ['c7g.large-1', 'completed'],
      ['c7g.large-2', 'completed'],
      ['c7g.large-3', 'completed'],
    ]);
    expect(loaded.tasks.every((t) => t.output !== null)).toBe(true);
  });
});
