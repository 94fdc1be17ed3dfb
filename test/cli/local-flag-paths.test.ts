// The folders `benchfleet local` is given: a blank --data-dir (which would quietly mean a temp data
// dir, removed at exit) and one that is, or lies under, a file are refused before anything starts,
// naming the path, what is wrong and what to do, never with a bare EEXIST or ENOTDIR.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { lockDataDir } from '../../cli/lib/data-dir-lock';
import { checkLocalFlags, givenFlags, type LocalFlags, localOptions } from '../../cli/lib/local-flags';
import { runCli } from '../helpers/cli';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-flag-paths-'));
  file = join(dir, 'a-file');
  writeFileSync(file, 'not a folder\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** checkLocalFlags on `benchfleet local ...args`, parsed by the real options. */
function check(args: string[]): void {
  const cmd = localOptions(new Command('local')).exitOverride();
  cmd.parse(args, { from: 'user' });
  checkLocalFlags(cmd.opts<LocalFlags>(), {}, givenFlags(cmd));
}

const BLANK = (got: string): string =>
  `--data-dir must be a non-blank folder (leave the flag out for a temporary data dir, removed at exit), got "${got}"`;
const UNUSABLE = (path: string, why: string): string =>
  `cannot use the data dir ${path} (${why}); pass a folder you can write with --data-dir (a missing one is made), or fix that path`;

describe('checkLocalFlags', () => {
  it.each([[''], [' ']])('refuses --data-dir %j rather than using a temp data dir', (value) => {
    expect(() => check(['--data-dir', value])).toThrow(BLANK(value));
  });

  it('refuses a --data-dir that is a file, or lies under one, naming the file', () => {
    expect(() => check(['--data-dir', file])).toThrow(UNUSABLE(file, 'it is a file, not a folder'));
    const under = join(file, 'sub', 'data');
    expect(() => check(['--data-dir', under])).toThrow(UNUSABLE(under, `${file} is a file, not a folder`));
  });

  it('takes a --data-dir that exists, or can be made, and makes nothing', () => {
    expect(() => check(['--data-dir', dir])).not.toThrow();
    expect(() => check(['--data-dir', join(dir, 'new', 'data')])).not.toThrow();
    expect(existsSync(join(dir, 'new'))).toBe(false);
  });

  it('refuses a blank --ruby-bench-dir rather than mounting the current folder', () => {
    expect(() => check(['--ruby-bench-dir', ''])).toThrow(
      '--ruby-bench-dir must be an existing folder, got ""',
    );
  });
});

it('lockDataDir names the data dir it cannot make, and what to do', () => {
  expect(() => lockDataDir(file)).toThrow(
    new RegExp(
      `^cannot make the data dir ${file} \\(EEXIST[^)]*\\); pass a folder you can write with --data-dir`,
    ),
  );
  expect(() => lockDataDir(join(file, 'sub'))).toThrow(/^cannot make the data dir .*\(ENOTDIR/);
});

describe('benchfleet local', () => {
  it.each([
    ['a file', (): string => file, 'it is a file, not a folder'],
    ['under a file', (): string => join(file, 'sub'), 'FILE is a file, not a folder'],
  ])(
    'refuses a --data-dir %s before anything starts',
    async (_what, path, why) => {
      const out = await runCli(['local', '--serve', '--port', '0', '--data-dir', path()]);
      expect(out.stderr).toBe(`benchfleet local: ${UNUSABLE(path(), why.replace('FILE', file))}\n`);
      expect(out.code).toBe(1);
      expect(readdirSync(dir)).toEqual(['a-file']);
    },
    60_000,
  );

  it('refuses --data-dir "" instead of running on a temp data dir that goes at exit', async () => {
    // without the refusal, the missing engine stops it (the old code went on to serve, forever)
    const out = await runCli(['local', '--serve', '--port', '0', '--workload', 'docker', '--data-dir', ''], {
      BENCHFLEET_DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`,
    });
    expect(out.stderr).toBe(`benchfleet local: ${BLANK('')}\n`);
    expect(out.code).toBe(1);
  }, 60_000);
});
