// One `benchfleet local` per data dir (cli/lib/data-dir-lock.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE, lockDataDir } from '../../cli/lib/data-dir-lock';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('writes its pid, refuses a dir a live process holds, and releases only its own lock', () => {
  const lock = lockDataDir(join(dir, 'data'));
  expect(readFileSync(lock.file, 'utf8').split('\n')[0]).toBe(String(process.pid));
  // the parent of this process is alive: its lock is respected
  writeFileSync(lock.file, `${process.ppid}\n`);
  expect(() => lockDataDir(join(dir, 'data'))).toThrow(
    `data dir ${join(dir, 'data')} is in use by benchfleet pid ${process.ppid}; stop it or use another --data-dir`,
  );
  lock.release(); // not ours any more: left alone
  expect(existsSync(lock.file)).toBe(true);
});

it('takes over the lock of a process that is gone', () => {
  const gone = spawnSync(process.execPath, ['-e', '']).pid;
  writeFileSync(join(dir, LOCK_FILE), `${gone}\n`);
  const lock = lockDataDir(dir);
  expect(readFileSync(lock.file, 'utf8').split('\n')[0]).toBe(String(process.pid));
  lock.release();
  lock.release();
  expect(existsSync(lock.file)).toBe(false);
});
