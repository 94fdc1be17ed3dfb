// One `benchfleet local` per data dir: a second server on the same LevelDB and S3 folder would get
// its stand-ins to report ready and then crash ("Database is closed"). The lock is a file holding
// the owner's pid and, where /proc exists, when that process started (field 22 of
// /proc/<pid>/stat), made atomically (written aside, then hard-linked into place). A lock is stale,
// and taken over, when its pid is no longer alive, or when the pid is alive but is another process:
// pids come back after a reboot or a container restart, so a live pid alone proves nothing. The
// start time tells; for a lock of an older benchfleet (the pid alone), the command line does (a
// process that is neither Node nor mentions benchfleet is not one). Without /proc a live pid is
// taken at its word. Servers starting together on one stale lock each see it stale; the takeover
// (takeOver below) lets exactly one of them replace it, and the others then find a live owner.
import {
  closeSync,
  fstatSync,
  linkSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../../lambdas/adapters/local/atomic-write';
import { makeDir } from '../../lambdas/shared/make-dir';
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
  /** Which file was read, and what it said: a taker replaces only the very lock it judged. */
  ino: number;
  text: string;
  mtimeMs: number;
}

/** The lock's owner; undefined when there is no lock; a NaN pid when it is garbage or half made. */
function readLock(file: string): Lock | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let text: string;
  let stat: ReturnType<typeof fstatSync>;
  try {
    stat = fstatSync(fd);
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const [first = '', ...rest] = text.split('\n');
  const started = rest.map((l) => /^started (\d+)$/.exec(l.trim())?.[1]).find(Boolean);
  return {
    pid: Number.parseInt(first.trim(), 10),
    ...(started ? { started } : {}),
    ino: stat.ino,
    text,
    mtimeMs: stat.mtimeMs,
  };
}

/** Why the live process with the lock's pid is not the benchfleet that made the lock; undefined when it may be. */
function notTheOwner(lock: Pick<Lock, 'pid' | 'started'>, proc: string): string | undefined {
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

/** Blocks this thread for `ms` (the lock is taken before anything else runs). */
const pause = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

export function lockDataDir(dir: string, opts: LockOptions = {}): DataDirLock {
  const proc = opts.proc ?? '/proc';
  const say = opts.say ?? ((line: string) => void process.stderr.write(`${line}\n`));
  try {
    makeDir(dir);
  } catch (err) {
    // checkLocalFlags refuses such a path first; this covers one that changed since
    throw new CliError(
      `cannot make the data dir ${dir} (${(err as Error).message}); pass a folder you can write with --data-dir (a missing one is made), or fix that path`,
    );
  }
  const file = join(dir, LOCK_FILE);
  const started = processStartTime(process.pid, proc);
  const mine = `${process.pid}\n${started ? `started ${started}\n` : ''}`;
  const held = (): DataDirLock => {
    let released = false;
    return {
      file,
      release() {
        if (released) return;
        released = true;
        try {
          if (readLock(file)?.text === mine) unlinkSync(file);
        } catch {
          // gone already, or the dir with it
        }
      },
    };
  };
  // a takeover by another server takes milliseconds; this bounds a lock that never settles
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      createExclusive(file, mine);
      return held();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const lock = readLock(file);
    if (lock === undefined) continue; // released meanwhile: try again
    if (Number.isNaN(lock.pid)) {
      // being written by a starting server without hard links, or garbage: look again shortly
      pause(100);
      const again = readLock(file);
      if (again && Number.isNaN(again.pid) && takeOver(file, again, mine, proc)) return held();
      continue;
    }
    let why: string | undefined;
    if (lock.pid !== process.pid && pidAlive(lock.pid)) {
      why = notTheOwner(lock, proc);
      if (why === undefined)
        throw new CliError(
          `data dir ${dir} is in use by benchfleet pid ${lock.pid}; stop it or use another --data-dir (the lock is ${file}: delete it if no benchfleet runs on this data dir)`,
        );
    }
    if (takeOver(file, lock, mine, proc)) {
      if (why) say(`Taking over the lock ${file}: its pid ${lock.pid} is alive, but ${why}.`);
      return held();
    }
  }
  throw new CliError(
    `could not lock the data dir ${dir} (${file} keeps changing); try again, and if no benchfleet runs on this data dir, delete ${file} and any ${basename(file)}.takeover-* beside it`,
  );
}

/**
 * Replaces the stale lock `seen` with `mine`; false when another server is taking it over or got
 * there first (the caller reads the lock again and finds its owner). Two servers that judged the
 * same lock stale must not both win, nor the slower remove the faster's fresh lock: the right to
 * replace `seen` is a marker named after its file, made exclusively; its holder checks that the
 * lock is still `seen` and only then renames its own over it (atomic: never a moment without a
 * lock). A marker whose maker died during its takeover passes the right to the next number.
 */
function takeOver(file: string, seen: Lock, mine: string, proc: string): boolean {
  const marker = (n: number): string => `${file}.takeover-${seen.ino}-${n}`;
  for (let n = 1; ; n++) {
    try {
      createExclusive(marker(n), mine);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const taker = readLock(marker(n));
      if (taker === undefined) return false; // that takeover just ended
      if (!takerGone(taker, proc)) {
        pause(20); // another server at it: its lock shows up shortly
        return false;
      }
      continue;
    }
    try {
      const now = readLock(file);
      if (now?.ino !== seen.ino || now.text !== seen.text) return false;
      writeFileAtomic(file, mine);
      // the markers of takers that died guard a lock that is gone now
      for (let k = 1; k < n; k++) rmSync(marker(k), { force: true });
      return readLock(file)?.text === mine;
    } finally {
      rmSync(marker(n), { force: true });
    }
  }
}

/** A takeover marker this old is left by a taker that died (a takeover takes milliseconds). */
const MARKER_DEAD_MS = 5000;

/** A takeover marker's maker is gone (or it is a half-made marker older than a takeover lasts). */
function takerGone(taker: Lock, proc: string): boolean {
  const age = Date.now() - taker.mtimeMs;
  if (Number.isNaN(taker.pid)) return age > 1000;
  // a takeover lasts milliseconds: an old marker is a dead taker's even when its pid is alive
  // again (without /proc a live pid cannot be told from a reused one)
  if (age > MARKER_DEAD_MS) return true;
  return taker.pid === process.pid || !pidAlive(taker.pid) || notTheOwner(taker, proc) !== undefined;
}
