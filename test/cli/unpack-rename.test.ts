// The last step of an unpack swaps the complete copy in: the previous results are moved aside, the
// new copy renamed into place. A failure of that rename (a full or read-only disk, a folder another
// program holds open) cannot be made on demand, so fs/promises' rename fails here by plan.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { unpackArchive } from '../../cli/lib/archive';
import { tarGzOf } from '../helpers/tar-gz';
import { tempDir } from '../helpers/temp-dir';

/** Renames whose source path contains this fail with EACCES, as a real rename can. */
let failRenameFrom: string | undefined;
jest.mock('node:fs/promises', () => {
  const real = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
  return {
    ...real,
    rename: async (from: string, to: string): Promise<void> => {
      if (failRenameFrom !== undefined && from.includes(failRenameFrom)) {
        throw Object.assign(new Error(`EACCES: permission denied, rename '${from}' -> '${to}'`), {
          code: 'EACCES',
        });
      }
      return real.rename(from, to);
    },
  };
});
afterEach(() => {
  failRenameFrom = undefined;
});

const archiveOf = async (files: Record<string, string>): Promise<Readable> =>
  Readable.from([await tarGzOf(files)]);

it('a failed swap puts the previous results back where they were and says where the new copy is', async () => {
  const results = tempDir('bf-swap-');
  const dir = join(results, '1700000001');
  mkdirSync(join(dir, 'old.type-1'), { recursive: true });
  writeFileSync(join(dir, 'old.type-1', 'output.txt'), 'old\n');
  failRenameFrom = '.partial-';
  await expect(unpackArchive(await archiveOf({ 'new.type-1/output.txt': 'new' }), dir)).rejects.toThrow(
    new RegExp(
      `cannot move the unpacked archive from .*\\.partial-${process.pid} to ${dir}: EACCES.*` +
        `the complete copy is in 1700000001\\.partial-${process.pid} beside it`,
    ),
  );
  expect(readFileSync(join(dir, 'old.type-1', 'output.txt'), 'utf8')).toBe('old\n');
  expect(existsSync(join(dir, 'new.type-1'))).toBe(false);
  // nothing moved aside is left behind; the complete copy is, as the error says
  expect(readdirSync(results).sort()).toEqual(['1700000001', `1700000001.partial-${process.pid}`]);
  expect(readFileSync(join(`${dir}.partial-${process.pid}`, 'new.type-1', 'output.txt'), 'utf8')).toBe('new');
});

it("a failed swap over another run's results puts them back, and keeps no second copy of them", async () => {
  const results = tempDir('bf-swap-');
  const dir = join(results, '1700000001');
  mkdirSync(join(dir, 'old.type-1'), { recursive: true });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ run_id: 1700000001, created_at: 'earlier' }));
  writeFileSync(join(dir, 'old.type-1', 'output.txt'), 'old\n');
  failRenameFrom = '.partial-';
  const fresh = await archiveOf({
    'manifest.json': JSON.stringify({ run_id: 1700000001, created_at: 'later' }),
    'new.type-1/output.txt': 'new',
  });
  await expect(unpackArchive(fresh, dir)).rejects.toThrow(/the complete copy is in 1700000001\.partial-/);
  expect(readFileSync(join(dir, 'old.type-1', 'output.txt'), 'utf8')).toBe('old\n');
  expect(readdirSync(results).sort()).toEqual(['1700000001', `1700000001.partial-${process.pid}`]);
});
