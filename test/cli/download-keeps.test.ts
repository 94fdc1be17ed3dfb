// A download (or the end of `start`) unpacks into results/<run-id>/. What was there is deleted only
// when it is an older copy of the same run; anything else (another run that had the same id, files
// a person added, a folder with no manifest) is moved to results/<run-id>.replaced-<time> and named.

import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { unpackArchive } from '../../cli/lib/archive';
import { tarGzOf } from '../helpers/tar-gz';
import { runCli, type Sandbox, sandbox } from './helpers';

const s3 = mockClient(S3Client);
let box: Sandbox;
beforeEach(() => {
  box = sandbox();
  s3.reset();
});
afterEach(() => {
  box.restore();
  jest.useRealTimers();
});

const RUN = 1700000001;
const manifestOf = (createdAt: string): string =>
  JSON.stringify({ run_id: RUN, status: 'complete', config: {}, created_at: createdAt, tasks: [] });
const THIS_RUN = manifestOf('2026-01-01T00:00:00Z');
const OTHER_RUN = manifestOf('2025-06-01T12:00:00Z');

/** results/<RUN>/ as an earlier download would leave it, plus `extra` files. */
function earlierFolder(manifest: string | undefined, extra: Record<string, string> = {}): string {
  const dir = join(box.dir, 'results', String(RUN));
  mkdirSync(join(dir, 'site'), { recursive: true });
  mkdirSync(join(dir, 'm5.large-1'), { recursive: true });
  if (manifest !== undefined) writeFileSync(join(dir, 'manifest.json'), manifest);
  writeFileSync(join(dir, 'm5.large-1', 'output.txt'), 'old\n');
  writeFileSync(join(dir, 'site', 'index.html'), '<html>old</html>');
  for (const [name, body] of Object.entries(extra)) writeFileSync(join(dir, name), body);
  return dir;
}

const newArchive = (): Promise<Buffer> =>
  tarGzOf({ 'manifest.json': THIS_RUN, 'm5.large-1/output.txt': 'new\n' });

it("another run's results under the same id are kept beside the new ones, and the output says where", async () => {
  const dir = earlierFolder(OTHER_RUN);
  s3.on(GetObjectCommand).resolves({ Body: Readable.from([await newArchive()]) as never });
  const r = await runCli(['download', String(RUN), '--bucket', 'my-results', '--json']);
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout) as { previous_results: { moved_to: string; why: string } };
  const aside = report.previous_results.moved_to;
  expect(aside).toMatch(new RegExp(`^${dir}\\.replaced-\\d{8}T\\d{6}Z$`));
  expect(report.previous_results.why).toBe(
    'it held run 1700000001 created at 2025-06-01T12:00:00Z, not this run (created at 2026-01-01T00:00:00Z)',
  );
  expect(r.stderr).toContain(`${dir} held other results (it held run 1700000001 created at`);
  expect(r.stderr).toContain(`they were kept, moved to ${aside}`);
  // the new run in place, the other one whole beside it (its site too)
  expect(readFileSync(join(dir, 'm5.large-1', 'output.txt'), 'utf8')).toBe('new\n');
  expect(readFileSync(join(aside, 'm5.large-1', 'output.txt'), 'utf8')).toBe('old\n');
  expect(readFileSync(join(aside, 'manifest.json'), 'utf8')).toBe(OTHER_RUN);
  expect(readFileSync(join(aside, 'site', 'index.html'), 'utf8')).toBe('<html>old</html>');
});

it('files a person added to an earlier copy of the same run are not deleted by a download again', async () => {
  const dir = earlierFolder(THIS_RUN, { 'notes.md': 'my analysis' });
  mkdirSync(join(dir, 'my-plots')); // an empty folder counts too
  s3.on(GetObjectCommand).resolves({ Body: Readable.from([await newArchive()]) as never });
  const r = await runCli(['download', String(RUN), '--bucket', 'my-results']);
  expect(r.code).toBe(0);
  const aside = readdirSync(join(box.dir, 'results')).find((n) => n.includes('.replaced-'));
  expect(aside).toBeDefined();
  expect(r.stdout).toContain(`kept:    ${join(box.dir, 'results', aside as string)} (what was there before)`);
  expect(r.stderr).toContain('it held 2 file(s) or folder(s) the new copy does not have: my-plots, notes.md');
  expect(readFileSync(join(box.dir, 'results', aside as string, 'notes.md'), 'utf8')).toBe('my analysis');
  expect(readFileSync(join(dir, 'm5.large-1', 'output.txt'), 'utf8')).toBe('new\n');
});

it('a folder with no manifest is kept too; two in one second get names of their own', async () => {
  jest.useFakeTimers({
    now: new Date('2026-12-01T10:20:30.456Z'),
    doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'queueMicrotask'],
  });
  const dir = earlierFolder(undefined);
  const first = await unpackArchive(Readable.from([await newArchive()]), dir);
  expect(first.movedAside).toEqual({
    to: `${dir}.replaced-20261201T102030Z`,
    why: 'it had no readable manifest.json',
  });
  // another run's archive over it, in the same second
  const other = await unpackArchive(
    Readable.from([await tarGzOf({ 'manifest.json': OTHER_RUN, 'm5.large-1/output.txt': 'other\n' })]),
    dir,
  );
  expect(other.movedAside?.to).toBe(`${dir}.replaced-20261201T102030Z.2`);
  expect(readdirSync(join(box.dir, 'results')).sort()).toEqual([
    `${RUN}`,
    `${RUN}.replaced-20261201T102030Z`,
    `${RUN}.replaced-20261201T102030Z.2`,
  ]);
  expect(readFileSync(join(`${dir}.replaced-20261201T102030Z.2`, 'manifest.json'), 'utf8')).toBe(THIS_RUN);
  expect(readFileSync(join(dir, 'm5.large-1', 'output.txt'), 'utf8')).toBe('other\n');
});

it('a file where the folder goes is kept, and manifests that name no run are never the same run', async () => {
  const results = join(box.dir, 'results');
  mkdirSync(results, { recursive: true });
  const dir = join(results, String(RUN));
  writeFileSync(dir, 'a file, not a folder');
  const overFile = await unpackArchive(Readable.from([await newArchive()]), dir);
  expect(overFile.movedAside?.why).toBe('it was a file, not a folder');
  expect(readFileSync(overFile.movedAside?.to as string, 'utf8')).toBe('a file, not a folder');

  // neither manifest says which run it is: the old folder is not taken for this run's older copy
  const blank = await tarGzOf({ 'manifest.json': '{}', 'm5.large-1/output.txt': 'new\n' });
  const again = await unpackArchive(Readable.from([blank]), dir);
  const once = await unpackArchive(Readable.from([blank]), dir);
  expect(again.movedAside?.why).toBe(
    'it held run 1700000001 created at 2026-01-01T00:00:00Z, not this run (created at an unknown time)',
  );
  expect(once.movedAside?.why).toBe(
    'its manifest.json does not say which run it holds (no run_id and created_at)',
  );
});

it('a quit while the old results are aside puts them back where they were, and leaves no copy', async () => {
  const dir = earlierFolder(OTHER_RUN);
  const archiveFile = join(box.dir, 'new.tar.gz');
  writeFileSync(archiveFile, await newArchive());
  const child = spawn(process.execPath, [
    join(__dirname, 'fakes', 'quit-while-keeping.cjs'),
    archiveFile,
    dir,
  ]);
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(stderr).toContain('quit-while-keeping: the old results are aside; quitting');
  expect(stderr).toContain(`the previous results in ${dir} were kept`);
  expect(code).toBe(143);
  expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toBe(OTHER_RUN);
  expect(readFileSync(join(dir, 'm5.large-1', 'output.txt'), 'utf8')).toBe('old\n');
  expect(readdirSync(join(box.dir, 'results'))).toEqual([String(RUN)]);
});
