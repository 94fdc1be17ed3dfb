// One `benchfleet local` per data dir: a second server on the same LevelDB and S3 folder would get
// its stand-ins to report ready and then crash ("Database is closed"). The lock is a file holding
// the owner's pid and, where /proc exists, when that process started (field 22 of
// /proc/<pid>/stat), made atomically (written aside, then hard-linked into place). A lock is stale,
// and taken over, when its pid is no longer alive, or when the pid is alive but is another process:
// pids come back after a reboot or a container restart, so a live pid alone proves nothing. The
// start time tells; for a lock of an older benchfleet (the pid alone), the command line does (a
// process that is neither Node nor mentions benchfleet is not one). Without /proc a live pid is
// taken at its word.
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CliError } from './errors';

export const LOCK_FILE = 'benchfleet.lock';

export interface DataDirLock {
  readonly file: string;
  /** Removes the lock if it is still this process's; safe to call twice. */
  release(): void;
}

export interface LockOptions {
  /** Where taking over a lock of a reused pid is told; default stderr. */
  say?: (line: string) => void;
  /** Where /proc is; tests point it at a folder without it. */
  proc?: string;
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

/** When the process started (clock ticks since boot, field 22 of /proc/<pid>/stat); undefined without /proc. */
export function processStartTime(pid: number, proc = '/proc'): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(join(proc, String(pid), 'stat'), 'utf8');
  } catch {
    return undefined;
  }
  // field 2, the command name, is in parentheses and may itself hold spaces and parentheses
  const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  return started && /^\d+$/.test(started) ? started : undefined;
}

function commandLine(pid: number, proc: string): string[] | undefined {
  try {
    return readFileSync(join(proc, String(pid), 'cmdline'), 'utf8')
      .split('\0')
      .filter(Boolean);
  } catch {
    return undefined;
  }
}

interface Lock {
  pid: number;
  started?: string;
}

/** The lock's owner; undefined when there is no lock; a NaN pid when it is garbage or half made. */
function readLock(file: string): Lock | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const [first = '', ...rest] = text.split('\n');
  const started = rest.map((l) => /^started (\d+)$/.exec(l.trim())?.[1]).find(Boolean);
  return { pid: Number.parseInt(first.trim(), 10), ...(started ? { started } : {}) };
}

/** Why the live process with the lock's pid is not the benchfleet that made the lock; undefined when it may be. */
function notTheOwner(lock: Lock, proc: string): string | undefined {
  const argv = commandLine(lock.pid, proc);
  const runs = argv?.length ? `; it runs \`${argv.join(' ').slice(0, 100)}\`` : '';
  if (lock.started !== undefined) {
    const started = processStartTime(lock.pid, proc);
    if (started === undefined || started === lock.started) return undefined;
    return `it started at another time than the lock's owner, so the pid was reused${runs}`;
  }
  // a lock of an older benchfleet: only the command line tells
  if (argv === undefined) return undefined;
  const node = /^node(js)?[\d.]*(\.exe)?$/i.test(basename(argv[0] ?? ''));
  if (node || argv.some((a) => /benchfleet/i.test(a))) return undefined;
  return `it is not a benchfleet process${runs || '; it has no command line'}`;
}

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

export function lockDataDir(dir: string, opts: LockOptions = {}): DataDirLock {
  const proc = opts.proc ?? '/proc';
  const say = opts.say ?? ((line: string) => void process.stderr.write(`${line}\n`));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  const started = processStartTime(process.pid, proc);
  const mine = `${process.pid}\n${started ? `started ${started}\n` : ''}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      createExclusive(file, mine);
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          try {
            if (readLock(file)?.pid === process.pid) unlinkSync(file);
          } catch {
            // gone already, or the dir with it
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const lock = readLock(file);
    if (lock === undefined) continue; // released meanwhile: try again
    if (Number.isNaN(lock.pid)) {
      // being written by a starting server without hard links, or garbage: look again shortly
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      if (Number.isNaN(readLock(file)?.pid ?? 0)) takeOverStale(file);
      continue;
    }
    if (lock.pid !== process.pid && pidAlive(lock.pid)) {
      const why = notTheOwner(lock, proc);
      if (why === undefined)
        throw new CliError(
          `data dir ${dir} is in use by benchfleet pid ${lock.pid}; stop it or use another --data-dir (the lock is ${file}: delete it if no benchfleet runs on this data dir)`,
        );
      say(`Taking over the lock ${file}: its pid ${lock.pid} is alive, but ${why}.`);
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
