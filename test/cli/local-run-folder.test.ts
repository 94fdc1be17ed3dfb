// `benchfleet local` takes results/<run-id>/ before its run starts (cli/lib/local-run-folder.ts), so
// no run ever replaces another run's results: a run without run_id takes the next free id, a
// config's run_id whose folder exists is refused before anything starts, two runs started together
// end in two folders, and a run that delivers nothing leaves no empty folder behind. Real CLI
// processes, real folders; the ids are forced by folders made beforehand, not left to the clock.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { unpackArchive } from '../../cli/lib/archive';
import { runCli } from '../helpers/cli';
import { CliProcess, eventually } from '../helpers/cli-process';
import { cliTmpDir } from '../helpers/temp-dir';

jest.setTimeout(180_000);

let dir: string;
let results: string;
let tmp: string; // the CLI's TMPDIR: its temp data dir must be gone at the end
const running: CliProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-run-folder-'));
  results = join(dir, 'results');
  tmp = cliTmpDir(join(dir, 'tmp'));
});
afterEach(() => {
  for (const p of running.splice(0)) p.kill();
  rmSync(dir, { recursive: true, force: true });
});

function config(extra: Record<string, unknown> = {}, name = 'run.json'): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({ ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['solo'], ...extra }),
  );
  return file;
}

const args = (file: string, more: string[] = []): string[] => [
  'local',
  '-c',
  file,
  '--results-dir',
  results,
  '--synthetic-size',
  '0',
  '--slots',
  '1',
  ...more,
];

const local = (file: string, more: string[] = [], env: Record<string, string> = {}) =>
  runCli(args(file, more), { TMPDIR: tmp, ...env });

function start(file: string, more: string[] = []): CliProcess {
  const p = new CliProcess(args(file, more), { TMPDIR: tmp });
  running.push(p);
  return p;
}

/** Folders for `count` run ids from the current second on, each with a file in it; answers the first. */
function takenFolders(count: number): number {
  const first = Math.floor(Date.now() / 1000);
  for (let id = first; id < first + count; id += 1) {
    mkdirSync(join(results, String(id)), { recursive: true });
    writeFileSync(join(results, String(id), 'marker.txt'), `earlier run ${id}\n`);
  }
  return first;
}

function expectMarkers(first: number, count: number): void {
  for (let id = first; id < first + count; id += 1)
    expect(readFileSync(join(results, String(id), 'marker.txt'), 'utf8')).toBe(`earlier run ${id}\n`);
}

function expectComplete(runId: number): void {
  const folder = join(results, String(runId));
  expect(readdirSync(folder).sort()).toEqual(['manifest.json', 'site', 'solo-1']);
  expect(JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')).run_id).toBe(runId);
  expect(existsSync(join(folder, 'site', 'index.html'))).toBe(true);
}

const runIdOf = (stderr: string): number => Number(/^== run (\d+): /m.exec(stderr)?.[1]);
const leftInTmp = (): string[] => readdirSync(tmp).filter((f) => f.startsWith('benchfleet-'));

it.each([
  ['results folder', '42'],
  ['runner logs folder', '42-runner-logs'],
])(
  'refuses a run_id whose %s is there, before anything starts, and leaves that folder as it was',
  async (_, name) => {
    mkdirSync(join(results, name), { recursive: true });
    writeFileSync(join(results, name, 'marker.txt'), 'earlier run 42\n');
    const file = config({ run_id: 42 });
    const out = await local(file);
    expect(out.code).toBe(1);
    const what =
      name === '42'
        ? `the results folder ${join(results, '42')} already exists`
        : `${join(results, '42-runner-logs')} (the runner logs of an earlier run 42) already exists`;
    expect(out.stderr).toBe(
      `benchfleet local: ${what}, and run_id 42 in ${file} would put this run there; an earlier run's results are never replaced, so the run was not started: move or delete that folder, or set another run_id in ${file} (or none, to take the next free id)\n`,
    );
    expect(readdirSync(results)).toEqual([name]);
    expect(readdirSync(join(results, name))).toEqual(['marker.txt']);
    expect(readFileSync(join(results, name, 'marker.txt'), 'utf8')).toBe('earlier run 42\n');
    expect(leftInTmp()).toEqual([]);
  },
  60_000,
);

it('says so, and starts nothing, when no run id near the current second is free', async () => {
  const first = takenFolders(130);
  const file = config();
  const out = await local(file);
  expect(out.code).toBe(1);
  expect(out.stderr).toMatch(/^benchfleet local: no free run id from (\d+) to (\d+): each already has a/);
  const [, from = '', to = ''] = /no free run id from (\d+) to (\d+)/.exec(out.stderr) ?? [];
  expect(Number(to) - Number(from)).toBe(99);
  expect(out.stderr).toContain(`in ${results}, so the run was not started; move or delete the folders`);
  expect(out.stderr).toContain(`or set a free run_id in ${file}`);
  expect(out.stderr).not.toContain('Benchfleet local mode');
  expect(readdirSync(results)).toHaveLength(130);
  expectMarkers(first, 130);
  expect(leftInTmp()).toEqual([]);
}, 60_000);

it('leaves the folders of the current second alone, and gives two runs started together the next two ids and two complete folders', async () => {
  // both want the first id after these: exactly one gets it, the other takes the next
  const first = takenFolders(30);
  const file = config();
  const [a, b] = [start(file), start(file)] as [CliProcess, CliProcess];
  const [ea, eb] = await Promise.all([a.exited, b.exited]);
  expect(ea.code).toBe(0);
  expect(eb.code).toBe(0);
  const ids = [runIdOf(a.stderr), runIdOf(b.stderr)].sort();
  expect(ids).toEqual([first + 30, first + 31]);
  for (const id of ids) expectComplete(id);
  for (const p of [a, b]) {
    const runId = runIdOf(p.stderr);
    expect(p.stderr).toContain(`\n== run ${runId}: 1 task on 1 local instance type, synthetic workload ==\n`);
    expect(p.stderr).toMatch(
      new RegExp(`\\(${results}/\\d+ to ${runId - 1} are taken, so this run is ${runId}\\)\\n`),
    );
    expect(p.stderr).toContain(`  results:   ${join(results, String(runId))}\n`);
  }
  expectMarkers(first, 30);
  expect(readdirSync(results)).toHaveLength(32);
});

it('a run_id refused by the API leaves no empty results folder behind', async () => {
  const data = join(dir, 'data');
  const firstRun = await local(config({ run_id: 100 }, 'first.json'), ['--data-dir', data]);
  expect(firstRun.code).toBe(0);
  const refused = await local(config({ run_id: 50 }, 'second.json'), ['--data-dir', data]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("run_id: must be greater than every earlier run's id (latest is 100)");
  expect(readdirSync(results)).toEqual(['100']);
});

it('Ctrl-C during start-up removes the results folder it had taken', async () => {
  const p = start(config());
  const taken = await eventually(
    'the results folder taken',
    // not the write check's probe file (.benchfleet-write-check-<pid>), there for an instant before
    () => (existsSync(results) ? readdirSync(results).find((n) => !n.startsWith('.')) : undefined),
    60_000,
  );
  expect(readdirSync(join(results, taken))).toEqual([]);
  p.signal('SIGINT');
  const exit = await p.exited;
  expect(exit.code).toBe(130);
  expect(p.stderr).not.toContain('== run ');
  expect(readdirSync(results)).toEqual([]);
  expect(leftInTmp()).toEqual([]);
});

it('with --data-dir, a quit mid-run keeps the empty folder for its run (the next start delivers into it)', async () => {
  const data = join(dir, 'data');
  const first = start(config(), ['--data-dir', data, '--synthetic-size', '40']);
  const runId = Number((await first.waitFor(/^== run (\d+): /m))[1]);
  first.signal('SIGTERM');
  expect((await first.exited).code).toBe(143);
  // the run lives on in the data dir: its folder stays taken, empty (local-undelivered-run.test.ts
  // shows the next start delivering into such a folder)
  expect(readdirSync(results)).toEqual([String(runId)]);
  expect(readdirSync(join(results, String(runId)))).toEqual([]);
});

describe('unpacking into a folder taken before the run (empty)', () => {
  const archive = (): Readable => {
    const p = pack();
    p.entry({ name: 'manifest.json' }, '{}');
    p.finalize();
    return p.pipe(createGzip());
  };

  it('fills it, and says nothing was written to it when the archive is broken', async () => {
    const folder = join(results, '7');
    mkdirSync(folder, { recursive: true });
    await expect(unpackArchive(Readable.from([Buffer.from('not a gzip')]), folder)).rejects.toThrow(
      `nothing was written to ${folder}`,
    );
    expect(readdirSync(results)).toEqual(['7']);
    expect((await unpackArchive(archive(), folder)).files).toBe(1);
    expect(readdirSync(results)).toEqual(['7']);
    expect(readFileSync(join(folder, 'manifest.json'), 'utf8')).toBe('{}');
  });
});
