// One runner tarball read on its own: which names are kept, under which name, and the caps.
import { Readable } from 'node:stream';
import { DEFAULT_LIMITS, decideEntry, taskFolder } from '../../lambdas/core/assembly/entries';
import { readTarball } from '../../lambdas/core/assembly/tarball';
import { makeTarball } from './helpers';

const read = async (
  entries: Parameters<typeof makeTarball>[0],
  limits = DEFAULT_LIMITS,
  role: 'result' | 'error' = 'result',
) => readTarball(Readable.from([await makeTarball(entries)]), role, limits);

describe('readTarball', () => {
  it('prefers output.txt to a raw output_NNN.txt whatever their order, and keeps the last duplicate', async () => {
    const got = await read([
      { name: 'output.txt', data: 'renamed' },
      { name: 'output_002.txt', data: 'raw' },
      { name: 'output_002.json', data: '{"raw":true}' },
      { name: 'meta.json', data: '{"v":1}' },
      { name: './meta.json', data: '{"v":2}' },
    ]);
    expect(Object.fromEntries(got.files.map((f) => [f.name, f.data.toString()]))).toEqual({
      'output.txt': 'renamed',
      'output.json': '{"raw":true}',
      'meta.json': '{"v":2}',
    });
    expect(got.problems).toEqual([]);
    const reversed = await read([
      { name: 'output_002.txt', data: 'raw' },
      { name: 'output.txt', data: 'renamed' },
    ]);
    expect(reversed.files.map((f) => [f.name, f.data.toString()])).toEqual([['output.txt', 'renamed']]);
  });

  it('never mixes two ruby-bench runs: the newest output_NNN set wins whatever the tar order', async () => {
    // `tar -C dir .` lists a directory unsorted; a runner that reused its out path left two sets
    const got = await read([
      { name: './output_001.txt', data: 'old txt' },
      { name: './output_002.txt', data: 'new txt' },
      { name: './output_002.json', data: '{"new":true}' },
      { name: './output_001.json', data: '{"old":true}' },
      { name: './output_001.csv', data: 'old csv' },
    ]);
    expect(Object.fromEntries(got.files.map((f) => [f.name, f.data.toString()]))).toEqual({
      'output.txt': 'new txt',
      'output.json': '{"new":true}',
    });
    // the older run's csv, which the newer one lacks, is left out with a word, not passed off as new
    expect(got.problems).toEqual(['output_001.csv left out: an older ruby-bench run than output_002.txt']);
  });

  it('keeps the tail of a log over its cap, read in many chunks, and counts only that', async () => {
    const log = Buffer.alloc(3_000_000, 'a');
    log.write('THE END\n', log.length - 8);
    const limits = { ...DEFAULT_LIMITS, maxLogFileBytes: 100_000, maxTaskBytes: 150_000 };
    const got = await read(
      [
        { name: 'logs/stderr.log', data: log },
        { name: 'output.txt', data: 'ok' },
      ],
      limits,
    );
    const kept = got.files.find((f) => f.name === 'logs/stderr.log')?.data.toString() ?? '';
    expect(kept.split('\n')[0]).toBe(
      '[benchfleet: the first 2900000 bytes of this log were left out; it was over the 100000-byte cap per log]',
    );
    expect(kept.endsWith(`${'a'.repeat(99_992)}THE END\n`)).toBe(true);
    expect(got.files.map((f) => f.name)).toEqual(['logs/stderr.log', 'output.txt']);
    expect(got.problems).toEqual([
      'logs/stderr.log cut to its last 100000 bytes: it is 3000000 bytes, over the cap per log',
    ]);
  });

  it('keeps nested logs, ignores unexpected names and directories silently', async () => {
    const got = await read([
      { name: './', type: 'directory' },
      { name: './logs/', type: 'directory' },
      { name: './logs/bench/fib.log', data: 'fib' },
      { name: './data/output.txt', data: 'nested output is not the output' },
      { name: './random.bin', data: 'x' },
    ]);
    expect(got.files.map((f) => f.name)).toEqual(['logs/bench/fib.log']);
    expect(got.problems).toEqual([]);
  });

  it('keeps only logs/ and meta.json from an error tarball', async () => {
    const got = await read(
      [
        { name: 'output.txt', data: 'o' },
        { name: 'meta.json', data: '{}' },
        { name: 'logs/err.log', data: 'e' },
      ],
      DEFAULT_LIMITS,
      'error',
    );
    expect(got.files.map((f) => f.name).sort()).toEqual(['logs/err.log', 'meta.json']);
  });

  it('stops at the per-task byte cap and refuses a tarball with too many entries', async () => {
    const capped = await read(
      [
        { name: 'output.txt', data: 'a'.repeat(600) },
        { name: 'output.json', data: 'b'.repeat(600) },
      ],
      { ...DEFAULT_LIMITS, maxTaskBytes: 1000 },
    );
    expect(capped.files.map((f) => f.name)).toEqual(['output.txt']);
    expect(capped.problems).toEqual(['over the 1000-byte cap per task: output.json']);

    const many = await read(
      Array.from({ length: 20 }, (_, i) => ({ name: `logs/${i}.log`, data: 'x' })),
      { ...DEFAULT_LIMITS, maxEntries: 10 },
    );
    expect(many).toEqual({ files: [], problems: [], unreadable: 'more than 10 entries' });
  });

  it('gives up on a tarball that inflates past the cap, kept entries or not (a gzip bomb)', async () => {
    const limits = { ...DEFAULT_LIMITS, maxInflatedBytes: 1024 * 1024 };
    // a name nothing keeps: before the cap, inflating it was never stopped
    const bomb = await makeTarball([
      { name: 'output.txt', data: 'fib 1.0\n' },
      { name: 'filler.bin', data: '\0'.repeat(4 * 1024 * 1024) },
    ]);
    const source = Readable.from([bomb]);
    const got = await readTarball(source, 'result', limits);
    expect(got).toEqual({
      files: [],
      problems: [],
      unreadable: 'it inflates to more than 1048576 bytes (the cap per tarball)',
    });
    // under the cap, the same files are read as usual
    const fits = await read(
      [
        { name: 'output.txt', data: 'fib 1.0\n' },
        { name: 'filler.bin', data: 'x' },
      ],
      limits,
    );
    expect(fits.files.map((f) => f.name)).toEqual(['output.txt']);
  });

  it('does not count a dropped or replaced duplicate against the byte cap', async () => {
    const limits = { ...DEFAULT_LIMITS, maxTaskBytes: 1000 };
    // output_001.txt loses to output.txt: its 600 bytes are never kept, so the log still fits.
    const shadowed = await read(
      [
        { name: 'output.txt', data: 'a'.repeat(300) },
        { name: 'output_001.txt', data: 'b'.repeat(600) },
        { name: 'logs/run.log', data: 'c'.repeat(600) },
      ],
      limits,
    );
    expect(shadowed.problems).toEqual([]);
    expect(shadowed.files.map((f) => [f.name, f.data.byteLength])).toEqual([
      ['output.txt', 300],
      ['logs/run.log', 600],
    ]);
    // A later meta.json replaces the earlier one: only the kept copy counts.
    const replaced = await read(
      [
        { name: 'meta.json', data: 'm'.repeat(600) },
        { name: './meta.json', data: 'n'.repeat(700) },
        { name: 'logs/run.log', data: 'c'.repeat(300) },
      ],
      limits,
    );
    expect(replaced.problems).toEqual([]);
    expect(replaced.files.map((f) => [f.name, f.data.toString()[0], f.data.byteLength])).toEqual([
      ['meta.json', 'n', 700],
      ['logs/run.log', 'c', 300],
    ]);
  });
});

describe('decideEntry and taskFolder', () => {
  it('refuses unsafe names before looking at the type', () => {
    expect(decideEntry('result', 'logs/../../x', 'file', 1, DEFAULT_LIMITS)).toEqual({
      keep: false,
      problem: 'path escapes its folder: logs/../../x',
    });
    expect(decideEntry('result', 'a\\b', 'file', 1, DEFAULT_LIMITS)).toMatchObject({ keep: false });
    expect(decideEntry('result', 'logs/a b.log', 'file', 1, DEFAULT_LIMITS)).toMatchObject({ keep: false });
    expect(decideEntry('result', 'logs/x', 'fifo', 0, DEFAULT_LIMITS)).toEqual({
      keep: false,
      problem: 'fifo refused: logs/x',
    });
    expect(decideEntry('result', '././output.csv', 'file', 1, DEFAULT_LIMITS)).toEqual({
      keep: true,
      name: 'output.csv',
      kind: 'output',
    });
  });

  it('keeps only what is under logs/, not a file named logs itself, and counts exactly maxEntries as allowed', async () => {
    expect(decideEntry('result', 'logs', 'file', 1, DEFAULT_LIMITS)).toEqual({ keep: false });
    const entries = Array.from({ length: 3 }, (_, i) => ({ name: `logs/${i}.log`, data: `${i}\n` }));
    const got = await read(entries, { ...DEFAULT_LIMITS, maxEntries: 3 });
    expect(got.unreadable).toBeUndefined();
    expect(got.files.map((f) => f.name)).toEqual(['logs/0.log', 'logs/1.log', 'logs/2.log']);
  });

  it('names folders <instance_type>-<run> and never lets a record add a path separator', () => {
    expect(taskFolder('c7g.large', 3)).toBe('c7g.large-3');
    expect(taskFolder('../etc', 1)).toBe('.._etc-1');
  });
});
