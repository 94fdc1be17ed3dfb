// One `benchfleet local` per data dir: a second server on the same LevelDB and S3 folder would get
// its stand-ins to report ready and then crash ("Database is closed"). The lock is a file holding
// the owner's pid, made atomically (written aside, then hard-linked into place); a lock whose pid
// is no longer alive is stale and taken over.
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './errors';

export const LOCK_FILE = 'benchfleet.lock';

export interface DataDirLock {
  readonly file: string;
  /** Removes the lock if it is still this process's; safe to call twice. */
  release(): void;
}

/** True when a process with this pid exists (EPERM: it exists, under another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const readPid = (file: string): number | undefined => {
  try {
    return Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
};

/** Creates `file` with `content`, failing with EEXIST when it is there already. */
function createExclusive(file: string, content: string): void {
  const aside = `${file}.${process.pid}`;
  writeFileSync(aside, content);
  try {
    linkSync(aside, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw err;
    // a file system without hard links: exclusive create (a reader may briefly see it empty)
    writeFileSync(file, content, { flag: 'wx' });
  } finally {
    try {
      unlinkSync(aside);
    } catch {
      // already gone
    }
  }
}

export function lockDataDir(dir: string): DataDirLock {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  const mine = String(process.pid);
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      createExclusive(file, `${mine}\n`);
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          try {
            if (readPid(file) === process.pid) unlinkSync(file);
          } catch {
            // gone already, or the dir with it
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = readPid(file);
    if (pid === undefined) continue; // released meanwhile: try again
    if (Number.isNaN(pid)) {
      // being written by a starting server without hard links, or garbage: look again shortly
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      if (Number.isNaN(readPid(file) ?? 0)) takeOverStale(file);
      continue;
    }
    if (pid !== process.pid && pidAlive(pid)) {
      throw new CliError(
        `data dir ${dir} is in use by benchfleet pid ${pid}; stop it or use another --data-dir`,
      );
    }
    takeOverStale(file);
  }
  throw new CliError(`could not lock the data dir ${dir} (${file} keeps changing); try again`);
}

/** Moves a stale lock out of the way (rename is atomic, so two takers cannot both remove it). */
function takeOverStale(file: string): void {
  const aside = `${file}.stale.${process.pid}`;
  try {
    renameSync(file, aside);
    unlinkSync(aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
