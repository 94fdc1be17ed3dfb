// Archives assembled before the assembler left clashing names out still exist: an entry the disk
// cannot hold beside the others (a file where a folder must go, a name already written, a name too
// long) is skipped with a warning naming it, and the rest of the archive is unpacked. A disk too
// full for the next entry stops the unpack before writing it, saying how much room there is.
// The assembler's side of the same names: test/assembly/entry-names.test.ts.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { unpackArchive } from '../../cli/lib/archive';
import { saveResults } from '../../cli/lib/results';
import { type TarEntry, tarGzEntries } from '../helpers/tar-gz';
import { tempDir } from '../helpers/temp-dir';

type Entry = TarEntry;

/** A results archive with exactly these entries, in this order (duplicates and all). */
const archiveOf = async (entries: Entry[]): Promise<Readable> => Readable.from([await tarGzEntries(entries)]);

/** Unpacks into a fresh results/<run-id>/, with the warning lines collected. */
async function unpack(entries: Entry[]) {
  const dir = join(tempDir('bf-clash-'), '1700000001');
  const warnings: string[] = [];
  const result = await unpackArchive(await archiveOf(entries), dir, { warn: (line) => warnings.push(line) });
  const read = (...path: string[]): string => readFileSync(join(dir, ...path), 'utf8');
  return { dir, result, warnings, read };
}

const MANIFEST = { name: 'manifest.json', body: '{"run_id":1700000001}' };

it('skips entries under a file of the same name, says which and why, and unpacks the rest', async () => {
  const { result, warnings, read } = await unpack([
    MANIFEST,
    { name: 't-1/output.txt', body: 'one' },
    { name: 't-1/logs/a', body: 'file a' },
    { name: 't-1/logs/a/b', body: 'under a' },
    { name: 't-1/logs/a/b/c.log', body: 'deeper under a' },
    { name: 't-2/output.txt', body: 'two' },
  ]);
  expect(result.files).toBe(4);
  expect(result.skipped).toEqual([
    {
      entry: 't-1/logs/a/b',
      reason: 'it needs a folder where an earlier entry wrote the file "t-1/logs/a"; the first is kept',
    },
    {
      entry: 't-1/logs/a/b/c.log',
      reason: 'it needs a folder where an earlier entry wrote the file "t-1/logs/a"; the first is kept',
    },
  ]);
  expect(warnings).toEqual([
    '  skipped the archive entry "t-1/logs/a/b": it needs a folder where an earlier entry wrote the file "t-1/logs/a"; the first is kept',
    '  skipped the archive entry "t-1/logs/a/b/c.log": it needs a folder where an earlier entry wrote the file "t-1/logs/a"; the first is kept',
    "  skipped 2 entries of the archive (named above) that could not be written on this disk; the other 4 file(s) are unpacked. The skipped names came from those tasks' runners; where two differ only in case, a --results-dir on a case-sensitive disk holds both",
  ]);
  expect(read('t-1', 'logs', 'a')).toBe('file a');
  expect(read('t-1', 'output.txt')).toBe('one');
  expect(read('t-2', 'output.txt')).toBe('two');
});

it('skips a file, or a folder entry, where earlier entries made a folder or a file of that name', async () => {
  const { result, read } = await unpack([
    { name: 't-1/logs/a/b', body: 'under a' },
    { name: 't-1/logs/a', body: 'file a' },
    { name: 't-1/logs/c', body: 'file c' },
    { name: 't-1/logs/c/', type: 'directory' },
    { name: 't-1/output.txt', body: 'kept' },
  ]);
  expect(result.files).toBe(3);
  expect(result.skipped).toEqual([
    {
      entry: 't-1/logs/a',
      reason: 'earlier entries made a folder of that name, and a name cannot be both; the first is kept',
    },
    {
      entry: 't-1/logs/c/',
      reason: 'it needs a folder where an earlier entry wrote the file "t-1/logs/c"; the first is kept',
    },
  ]);
  expect(read('t-1', 'logs', 'a', 'b')).toBe('under a');
  expect(read('t-1', 'logs', 'c')).toBe('file c');
  expect(read('t-1', 'output.txt')).toBe('kept');
});

it('never writes over an earlier entry: the same name again, or one only the case tells apart', async () => {
  const probe = tempDir('bf-case-');
  writeFileSync(join(probe, 'A'), '');
  const ignoresCase = existsSync(join(probe, 'a')); // macOS's and Windows' disks by default
  const { result, read } = await unpack([
    { name: 't-1/logs/run.log', body: 'first' },
    { name: 't-1/logs/run.log', body: 'again' },
    { name: 't-1/logs/Run.log', body: 'other case' },
  ]);
  expect(read('t-1', 'logs', 'run.log')).toBe('first');
  const again = {
    entry: 't-1/logs/run.log',
    reason: 'an earlier entry of the same name was written; the first is kept',
  };
  if (ignoresCase) {
    expect(result.skipped).toEqual([
      again,
      {
        entry: 't-1/logs/Run.log',
        reason:
          'an earlier entry wrote "t-1/logs/run.log", which this disk holds as the same file (it ignores case); the first is kept',
      },
    ]);
  } else {
    expect(result.skipped).toEqual([again]);
    expect(read('t-1', 'logs', 'Run.log')).toBe('other case');
  }
});

it('skips names too long for the disk, quoting them short', async () => {
  const longSegment = `t-1/logs/${'s'.repeat(300)}.log`;
  const longPath = `t-1/logs/${Array.from({ length: 40 }, () => 'x'.repeat(128)).join('/')}`;
  const { result, warnings, read } = await unpack([
    { name: longSegment, body: 'x' },
    { name: longPath, body: 'x' },
    { name: 't-1/output.txt', body: 'kept' },
  ]);
  expect(result.files).toBe(1);
  expect(result.skipped).toEqual([
    {
      entry: `${longSegment.slice(0, 160)}... (${longSegment.length} characters)`,
      reason: 'its name is too long for this disk',
    },
    {
      entry: `${longPath.slice(0, 160)}... (${longPath.length} characters)`,
      reason: 'its name is too long for this disk',
    },
  ]);
  expect(warnings.every((line) => line.length < 400)).toBe(true);
  expect(read('t-1', 'output.txt')).toBe('kept');
});

it('names the first 20 skipped entries, and counts them all', async () => {
  const { result, warnings } = await unpack([
    { name: 't-1/logs/a', body: 'file a' },
    ...Array.from({ length: 25 }, (_, i) => ({ name: `t-1/logs/a/${i}.log`, body: 'x' })),
  ]);
  expect(result).toMatchObject({ files: 1, skipped: expect.any(Array) });
  expect(result.skipped).toHaveLength(25);
  expect(warnings).toHaveLength(21);
  expect(warnings[20]).toMatch(
    /^ {2}skipped 25 entries of the archive \(the first 20 named above\) that could not be written on this disk; the other 1 file\(s\) are unpacked\./,
  );
});

it('writes its warnings to stderr unless told otherwise, with no control characters', async () => {
  const dir = join(tempDir('bf-clash-'), '1700000001');
  const written: string[] = [];
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    await unpackArchive(
      await archiveOf([
        { name: 't-1/logs/a', body: 'file a' },
        { name: 't-1/logs/a/\u001b[31mred', body: 'x' },
      ]),
      dir,
    );
  } finally {
    spy.mockRestore();
  }
  expect(written.join('')).toContain(
    '  skipped the archive entry "t-1/logs/a/\\u001b[31mred": it needs a folder',
  );
  expect(written.join('')).toContain('  skipped 1 entry of the archive (named above)');
  expect(written.join('')).not.toContain('\u001b');
});

it('still refuses the whole archive for an entry outside the folder or a link, after a skipped one', async () => {
  for (const bad of [
    { name: '../evil.txt', body: 'x' },
    { name: 't-1/link', type: 'symlink' as const, linkname: '/etc/passwd' },
  ]) {
    const dir = join(tempDir('bf-clash-'), '1700000001');
    const entries = [{ name: 't-1/a', body: 'a' }, { name: 't-1/a/b', body: 'b' }, bad];
    await expect(unpackArchive(await archiveOf(entries), dir, { warn: () => undefined })).rejects.toThrow(
      /refused; nothing was written to /,
    );
    expect(existsSync(dir)).toBe(false);
  }
});

it('stops before an entry the disk has no room for, naming the free space and the folder', async () => {
  const results = tempDir('bf-full-');
  const dir = join(results, '1700000001');
  const fs = require('node:fs') as typeof import('node:fs'); // not a copy: the unpacker's own
  const real = fs.statfsSync;
  const spy = jest.spyOn(fs, 'statfsSync').mockImplementation(((path: string) => ({
    ...real(path),
    bsize: 4096,
    bavail: 5 * 256, // 5 MB
  })) as typeof fs.statfsSync);
  try {
    await expect(
      unpackArchive(await archiveOf([{ name: 't-1/output.txt', body: 'x'.repeat(2048) }]), dir),
    ).rejects.toThrow(
      `the disk of ${dir} has 5.0 MB free, too little for the archive entry "t-1/output.txt" (2.0 KB) and 16.0 MB to spare: ` +
        'free some space there, or give --results-dir (or BENCHFLEET_RESULTS_DIR) a folder on a disk with more room, ' +
        `then download again; nothing was written to ${dir}`,
    );
  } finally {
    spy.mockRestore();
  }
  expect(readdirSync(results)).toEqual([]);
  // with room, the same archive unpacks
  const ok = await unpackArchive(await archiveOf([{ name: 't-1/output.txt', body: 'x'.repeat(2048) }]), dir);
  expect(ok.files).toBe(1);
});

it('the end of a run (download, start, local) counts the skipped entries and lists them in its report', async () => {
  const root = tempDir('bf-clash-report-');
  const written: string[] = [];
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  try {
    const report = await saveResults(
      1700000002,
      {
        stream: await archiveOf([
          { name: 'manifest.json', body: '{"run_id":1700000002}' },
          { name: 't-1/logs/a', body: 'file a' },
          { name: 't-1/logs/a/b', body: 'under a' },
        ]),
      },
      root,
    );
    expect(report.files).toBe(2);
    expect(report.skipped_entries).toEqual([
      {
        entry: 't-1/logs/a/b',
        reason: 'it needs a folder where an earlier entry wrote the file "t-1/logs/a"; the first is kept',
      },
    ]);
  } finally {
    spy.mockRestore();
  }
  const text = written.join('');
  expect(text).toContain('skipped the archive entry "t-1/logs/a/b"');
  expect(text).toContain('unpacked 2 file(s); skipped 1 entry (see above)');
});
