// makeDir is `mkdir -p` without Node's recursive mkdir, which spins for good on a path like
// /proc/x: the folders a person names must fail at once there, saying which folder refused.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeDir } from '../../../lambdas/shared/make-dir';

const ROOT = resolve(__dirname, '..', '..', '..');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-make-dir-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('makes the missing parents, takes an existing folder, and refuses an existing file', () => {
  const deep = join(dir, 'a', 'b', 'c');
  makeDir(deep, 0o700);
  expect(statSync(deep).isDirectory()).toBe(true);
  expect(statSync(join(dir, 'a')).mode & 0o777).toBe(0o700);
  expect(() => makeDir(deep)).not.toThrow();
  writeFileSync(join(dir, 'file'), '');
  expect(() => makeDir(join(dir, 'file'))).toThrow(expect.objectContaining({ code: 'EEXIST' }));
  expect(() => makeDir(join(dir, 'file', 'x'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
});

// In a child with a deadline: a regression is a synchronous spin that no jest timeout can stop.
const onProc = existsSync('/proc/self') ? it : it.skip; // Linux only: elsewhere there is no /proc
onProc(
  'fails at once under /proc, where Node’s recursive mkdir spins, naming the folder that refused',
  () => {
    const script = `try { require('./lambdas/shared/make-dir').makeDir('/proc/bf-no/such'); console.log('made') } catch (e) { console.log(e.code + ' ' + e.message) }`;
    const child = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
      cwd: ROOT,
      timeout: 20_000,
      killSignal: 'SIGKILL', // the spin is deaf to SIGTERM
      encoding: 'utf8',
    });
    expect(child.signal).toBeNull(); // not killed at the deadline
    expect(child.stdout.trim()).toBe('ENOENT /proc refuses new folders (mkdir /proc/bf-no: ENOENT)');
  },
);
