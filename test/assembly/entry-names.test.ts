// Entry names a runner's tarball may hold, from the assembler's side: a name too long or too deep
// is refused (and quoted short), and of two names no disk could unpack side by side (a file and a
// folder of one name, two names differing only in case) the first is kept and the other reported.
// The CLI's side of the same names: test/cli/unpack-clashes.test.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { unpackArchive } from '../../cli/lib/archive';
import { buildArchive } from '../../lambdas/core/assembly/builder';
import {
  DEFAULT_LIMITS,
  decideEntry,
  MAX_NAME_BYTES,
  MAX_NAME_SEGMENTS,
} from '../../lambdas/core/assembly/entries';
import { readTarball } from '../../lambdas/core/assembly/tarball';
import type { ResultStore } from '../../lambdas/core/ports';
import { Manifest } from '../../lambdas/shared/contract';
import { tempDir } from '../helpers/temp-dir';
import { completeRun, makeTarball, readArchive, taskRecord } from './helpers';

const read = async (entries: Parameters<typeof makeTarball>[0], role: 'result' | 'error' = 'result') =>
  readTarball(Readable.from([await makeTarball(entries)]), role, DEFAULT_LIMITS);

/** Real ruby-bench output (a copy of ../shared/fixtures/ruby-bench). */
const FIXTURES = join(__dirname, '..', 'site', 'fixtures', 'ruby-bench');

describe('name length and depth', () => {
  it("keeps every name of real ruby-bench output and of the runner's tarballs", async () => {
    const names = [
      'output.txt',
      'output.json',
      'output.csv',
      'meta.json',
      'logs/stdout.log',
      'logs/stderr.log',
    ];
    for (const folder of readdirSync(FIXTURES, { withFileTypes: true })) {
      if (!folder.isDirectory()) continue;
      for (const file of readdirSync(join(FIXTURES, folder.name))) {
        names.push(`./${file}`, `./logs/${file}`, `logs/${folder.name}/${file}`);
      }
    }
    expect(names.length).toBeGreaterThan(40);
    for (const name of names) {
      expect(decideEntry('result', name, 'file', 100, DEFAULT_LIMITS)).toMatchObject({
        keep: expect.any(Boolean),
      });
      expect(decideEntry('result', name, 'file', 100, DEFAULT_LIMITS)).not.toHaveProperty('problem');
    }
    // the caps themselves are allowed
    const deepest = `logs/${Array.from({ length: MAX_NAME_SEGMENTS - 1 }, (_, i) => `d${i}`).join('/')}`;
    expect(decideEntry('result', deepest, 'file', 1, DEFAULT_LIMITS)).toMatchObject({
      keep: true,
      name: deepest,
    });
    // segments are at most 128 characters each
    const longest = `logs/${'a'.repeat(100)}/${'b'.repeat(MAX_NAME_BYTES - 'logs/'.length - 101)}`;
    expect(decideEntry('result', longest, 'file', 1, DEFAULT_LIMITS)).toMatchObject({
      keep: true,
      name: longest,
    });
  });

  it('refuses a name one segment too deep or one byte too long, saying why', () => {
    const deeper = `logs/${Array.from({ length: MAX_NAME_SEGMENTS }, (_, i) => `d${i}`).join('/')}`;
    expect(decideEntry('result', deeper, 'file', 1, DEFAULT_LIMITS)).toEqual({
      keep: false,
      problem: `name too deep (9 levels, at most 8): ${deeper}`,
    });
    const longer = `./logs/${'a'.repeat(100)}/${'b'.repeat(MAX_NAME_BYTES - 'logs/'.length - 100)}`;
    expect(decideEntry('result', longer, 'file', 1, DEFAULT_LIMITS)).toEqual({
      keep: false,
      problem: `name too long (201 characters, at most 200): ./logs/${'a'.repeat(100)}/bbbbbbbbb...`,
    });
    // 40 segments of 128 characters: a name the CLI's unpack failed on (ENAMETOOLONG)
    const unpackable = `logs/${Array.from({ length: 40 }, () => 'x'.repeat(128)).join('/')}`;
    expect(decideEntry('result', unpackable, 'file', 1, DEFAULT_LIMITS)).toMatchObject({
      keep: false,
      problem: expect.stringMatching(/^name too long \(5164 characters\): logs\/x{112}\.\.\.$/),
    });
  });

  it('refuses 500 names of 10,000 segments each, each quoted in at most 120 characters', async () => {
    // ~30 KB per name: before the cap all were kept (as empty logs) and named in the manifest. One
    // entry's tar bytes, repeated (tar-stream takes seconds to pack 500 such names).
    const huge = `logs/${'ab/'.repeat(10_000)}x.log`;
    const tar = async (entries: Parameters<typeof makeTarball>[0]) => gunzipSync(await makeTarball(entries));
    const one = (await tar([{ name: huge, data: '' }])).subarray(0, -1024); // without the end blocks
    const rest = await tar([{ name: 'output.txt', data: 'fib 1.0\n' }]);
    const upload = gzipSync(Buffer.concat([...Array.from({ length: 500 }, () => one), rest]));
    expect(upload.length).toBeLessThan(300_000);
    const got = await readTarball(Readable.from([upload]), 'result', DEFAULT_LIMITS);
    expect(got.files.map((f) => f.name)).toEqual(['output.txt']);
    expect(got.problems).toHaveLength(500);
    for (const problem of got.problems) {
      expect(problem).toBe(`name too long (${huge.length} characters): ${huge.slice(0, 117)}...`);
    }
  });

  it('quotes a refused link or an oversized file in at most 120 characters of its name', () => {
    const long = `logs/${'n'.repeat(120)}/${'m'.repeat(60)}`;
    const link = decideEntry('result', long, 'symlink', 0, DEFAULT_LIMITS);
    expect(link).toEqual({ keep: false, problem: `symlink refused: ${long.slice(0, 117)}...` });
    const big = decideEntry('result', 'output.txt', 'file', DEFAULT_LIMITS.maxFileBytes + 1, DEFAULT_LIMITS);
    expect(big).toEqual({
      keep: false,
      problem: `over the ${DEFAULT_LIMITS.maxFileBytes}-byte cap: output.txt (${DEFAULT_LIMITS.maxFileBytes + 1} bytes)`,
    });
  });
});

describe('names no disk can unpack side by side', () => {
  it('keeps a file and leaves out a later name under it as a folder, and the reverse', async () => {
    const got = await read([
      { name: 'output.txt', data: 'ok' },
      { name: 'logs/a', data: 'file a' },
      { name: 'logs/a/b', data: 'under a' },
      { name: './logs/a/b/c.log', data: 'deeper under a' },
      { name: 'logs/d/e.log', data: 'under d' },
      { name: 'logs/d', data: 'file d' },
    ]);
    expect(got.files.map((f) => [f.name, f.data.toString()])).toEqual([
      ['output.txt', 'ok'],
      ['logs/a', 'file a'],
      ['logs/d/e.log', 'under d'],
    ]);
    expect(got.problems).toEqual([
      'logs/a/b left out: logs/a is a file, and a name cannot be both a file and a folder',
      'logs/a/b/c.log left out: logs/a is a file, and a name cannot be both a file and a folder',
      'logs/d left out: logs/d/e.log needs a folder of that name, and a name cannot be both a file and a folder',
    ]);
  });

  it('leaves out a name equal to a kept one but for case, as a file or as a folder', async () => {
    const got = await read(
      [
        { name: 'logs/run.log', data: 'first' },
        { name: 'logs/Run.log', data: 'second' },
        { name: 'logs/A', data: 'file A' },
        { name: 'logs/a/b.log', data: 'under a' },
        { name: 'logs/X/y.log', data: 'under X' },
        { name: 'logs/x', data: 'file x' },
        // one folder on any disk: both kept
        { name: 'logs/X/z.log', data: 'also under X' },
        { name: 'meta.json', data: '{}' },
      ],
      'error',
    );
    expect(got.files.map((f) => f.name)).toEqual([
      'logs/run.log',
      'logs/A',
      'logs/X/y.log',
      'logs/X/z.log',
      'meta.json',
    ]);
    expect(got.files[0]?.data.toString()).toBe('first');
    expect(got.problems).toEqual([
      'logs/Run.log left out: it differs from logs/run.log only in case, and a disk that ignores case (macOS, Windows) holds both as one file',
      'logs/a/b.log left out: logs/A is a file (once case is ignored, as macOS and Windows disks do), and a name cannot be both a file and a folder',
      'logs/x left out: logs/X/y.log needs a folder of that name (once case is ignored, as macOS and Windows disks do), and a name cannot be both a file and a folder',
    ]);
  });

  it('still lets a later entry of the very same name replace the earlier, as tar does', async () => {
    const got = await read([
      { name: 'logs/run.log', data: 'first' },
      { name: './logs/run.log', data: 'second' },
      { name: 'logs/run.log/x', data: 'under the file' },
    ]);
    expect(got.files.map((f) => [f.name, f.data.toString()])).toEqual([['logs/run.log', 'second']]);
    expect(got.problems).toEqual([
      'logs/run.log/x left out: logs/run.log is a file, and a name cannot be both a file and a folder',
    ]);
  });

  it('does not let a name left out for a clash count against the per-task byte cap', async () => {
    const got = await readTarball(
      Readable.from([
        await makeTarball([
          { name: 'logs/a', data: 'a'.repeat(300) },
          { name: 'logs/A', data: 'b'.repeat(600) },
          { name: 'output.txt', data: 'c'.repeat(500) },
        ]),
      ]),
      'result',
      { ...DEFAULT_LIMITS, maxTaskBytes: 1000 },
    );
    expect(got.files.map((f) => f.name)).toEqual(['logs/a', 'output.txt']);
    expect(got.problems).toEqual([
      expect.stringMatching(/^logs\/A left out: it differs from logs\/a only in case/),
    ]);
  });
});

describe('an archive built from a tarball with such names', () => {
  /** Results in memory: the tarballs put in, and the archive the builder uploads. */
  function memoryStore(objects: Map<string, Buffer>): ResultStore {
    const never = async (): Promise<never> => {
      throw new Error('not used here');
    };
    return {
      presignPut: never,
      presignGet: never,
      putText: never,
      getText: never,
      exists: async (key) => objects.has(key),
      getStream: async (key) => {
        const bytes = objects.get(key);
        return bytes && Readable.from([bytes]);
      },
      putStream: async (key, body) => {
        const chunks: Buffer[] = [];
        for await (const c of body) chunks.push(c as Buffer);
        objects.set(key, Buffer.concat(chunks));
      },
    };
  }

  it("reports them in that task's assembly_error only, and unpacks in full with the CLI", async () => {
    const runId = 1_763_950_000;
    const objects = new Map<string, Buffer>();
    const clean = taskRecord(runId, 0, { instance_type: 'c7g.large', s3_result_key: 'r/0' });
    const hostile = taskRecord(runId, 1, { instance_type: 'm7i.large', s3_result_key: 'r/1' });
    objects.set('r/0', await makeTarball([{ name: 'output.txt', data: 'clean\n' }]));
    objects.set(
      'r/1',
      await makeTarball([
        { name: 'output.txt', data: 'hostile\n' },
        { name: 'logs/a', data: 'a file' },
        { name: 'logs/a/b', data: 'under the file' },
        { name: 'logs/run.log', data: 'first' },
        { name: 'logs/Run.log', data: 'second' },
        { name: `logs/${Array.from({ length: 40 }, () => 'x'.repeat(128)).join('/')}`, data: 'deep' },
      ]),
    );
    await buildArchive(
      memoryStore(objects),
      completeRun(runId),
      (async function* () {
        yield clean;
        yield hostile;
      })(),
      { archiveKey: 'archive', now: new Date('2026-11-24T02:00:00.000Z') },
    );
    const archive = objects.get('archive') ?? Buffer.alloc(0);
    const entries = await readArchive(archive);
    const manifest = Manifest.parse(
      JSON.parse(entries.find((e) => e.name === 'manifest.json')?.data.toString() ?? ''),
    );
    expect(manifest.tasks.map((t) => [t.instance_type, t.files])).toEqual([
      ['c7g.large', ['c7g.large-1/output.txt']],
      ['m7i.large', ['m7i.large-1/output.txt', 'm7i.large-1/logs/a', 'm7i.large-1/logs/run.log']],
    ]);
    expect(manifest.tasks[0]?.assembly_error).toBeNull();
    expect(manifest.tasks[1]?.assembly_error).toBe(
      'skipped 3 entries: logs/a/b left out: logs/a is a file, and a name cannot be both a file and a folder; ' +
        'logs/Run.log left out: it differs from logs/run.log only in case, and a disk that ignores case (macOS, Windows) holds both as one file; ' +
        `name too long (5164 characters): logs/${'x'.repeat(112)}...`,
    );
    // every file of the archive lands on disk, none skipped
    const dir = join(tempDir('bf-names-'), String(runId));
    const warnings: string[] = [];
    const unpacked = await unpackArchive(Readable.from([archive]), dir, { warn: (l) => warnings.push(l) });
    expect(unpacked).toEqual({ dir, files: 5 }); // with manifest.json
    expect(warnings).toEqual([]);
    expect(readFileSync(join(dir, 'm7i.large-1', 'logs', 'run.log'), 'utf8')).toBe('first');
  });
});
