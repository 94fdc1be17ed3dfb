// benchfleet.lock and reused pids (cli/lib/data-dir-lock.ts): a lock whose pid is alive but is not
// the benchfleet that made it (pids come back after a reboot or a container restart) is taken over,
// saying so; a lock of a live owner is refused, naming the lock file; a takeover left half done by a
// server that died does not block the next. Real processes stand in for the reused pids.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE, lockDataDir, processStartTime } from '../../cli/lib/data-dir-lock';
import { CliProcess } from '../helpers/cli-process';

jest.setTimeout(120_000);

let dir: string;
let lockFile: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-lock-reuse-'));
  lockFile = join(dir, LOCK_FILE);
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A live process that is not benchfleet: what a reused pid belongs to. */
async function live(command: string, args: string[]): Promise<number> {
  const child = spawn(command, args, { stdio: 'ignore' });
  children.push(child);
  await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  return child.pid as number;
}

/** A pid that was a process and is no more. */
const gonePid = (): number => spawnSync('true').pid as number;

function lockOf(opts: { proc?: string } = {}): {
  said: string[];
  take: () => ReturnType<typeof lockDataDir>;
} {
  const said: string[] = [];
  return { said, take: () => lockDataDir(dir, { say: (l) => said.push(l), ...opts }) };
}

it("writes its pid and its start time (field 22 of /proc/<pid>/stat), and takes nobody's lock", () => {
  const { said, take } = lockOf();
  const lock = take();
  const field22 = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')[19];
  expect(readFileSync(lock.file, 'utf8')).toBe(`${process.pid}\nstarted ${field22}\n`);
  expect(processStartTime(process.pid)).toBe(field22);
  expect(said).toEqual([]);
  lock.release();
  expect(existsSync(lockFile)).toBe(false);
});

it('leaves a lock that another server took over since: release removes only its own', () => {
  const lock = lockOf().take();
  const theirs = `${gonePid()}\nstarted 1\n`;
  writeFileSync(lockFile, theirs);
  lock.release();
  expect(readFileSync(lockFile, 'utf8')).toBe(theirs);
});

it('takes over a lock whose live pid started at another time than its owner, saying so', async () => {
  const sleeper = await live('sleep', ['300']);
  const started = processStartTime(sleeper) as string;
  writeFileSync(lockFile, `${sleeper}\nstarted ${Number(started) - 1}\n`);
  const { said, take } = lockOf();
  const lock = take();
  expect(readFileSync(lockFile, 'utf8').split('\n')[0]).toBe(String(process.pid));
  expect(said).toEqual([
    `Taking over the lock ${lockFile}: its pid ${sleeper} is alive, but it started at another time than the lock's owner, so the pid was reused; it runs \`sleep 300\`.`,
  ]);
  lock.release();
});

it('takes over an older lock (the pid alone) whose live pid is not a benchfleet process', async () => {
  const sleeper = await live('sleep', ['300']);
  writeFileSync(lockFile, `${sleeper}\n`);
  const { said, take } = lockOf();
  take().release();
  expect(said).toEqual([
    `Taking over the lock ${lockFile}: its pid ${sleeper} is alive, but it is not a benchfleet process; it runs \`sleep 300\`.`,
  ]);
});

it('refuses a lock whose owner is alive, naming the lock file', async () => {
  const sleeper = await live('sleep', ['300']);
  writeFileSync(lockFile, `${sleeper}\nstarted ${processStartTime(sleeper)}\n`);
  const { said, take } = lockOf();
  expect(take).toThrow(
    `data dir ${dir} is in use by benchfleet pid ${sleeper}; stop it or use another --data-dir (the lock is ${lockFile}: delete it if no benchfleet runs on this data dir)`,
  );
  // an older lock of a live Node process may be an older benchfleet: respected too
  const node = await live(process.execPath, ['-e', 'setTimeout(() => {}, 300000)']);
  writeFileSync(lockFile, `${node}\n`);
  expect(take).toThrow(`in use by benchfleet pid ${node}`);
  expect(said).toEqual([]);
  expect(readFileSync(lockFile, 'utf8')).toBe(`${node}\n`);
});

it('takes over a stale lock past the marker of a server that died during its own takeover', () => {
  writeFileSync(lockFile, `${gonePid()}\nstarted 1\n`);
  // the right to replace this lock, made by a server that died before it used it
  const marker = `${lockFile}.takeover-${statSync(lockFile).ino}-1`;
  writeFileSync(marker, `${gonePid()}\nstarted 1\n`);
  const { said, take } = lockOf();
  const lock = take();
  expect(readFileSync(lockFile, 'utf8').split('\n')[0]).toBe(String(process.pid));
  expect(said).toEqual([]);
  expect(readdirSync(dir)).toEqual([LOCK_FILE]); // the dead server's marker is cleared too
  lock.release();
  expect(readdirSync(dir)).toEqual([]);
});

it("without /proc, a dead taker's old marker does not block for good, though its pid is alive again", async () => {
  const sleeper = await live('sleep', ['300']);
  writeFileSync(lockFile, `${gonePid()}\n`);
  const marker = `${lockFile}.takeover-${statSync(lockFile).ino}-1`;
  writeFileSync(marker, `${sleeper}\n`); // its pid now belongs to a live process
  const old = new Date(Date.now() - 60_000);
  utimesSync(marker, old, old); // a takeover lasts milliseconds: this one's taker died long ago
  const lock = lockOf({ proc: join(dir, 'no-proc') }).take();
  expect(readFileSync(lockFile, 'utf8').split('\n')[0]).toBe(String(process.pid));
  lock.release();
  expect(readdirSync(dir)).toEqual([]);
});

it('without /proc, a live pid is taken at its word, as before', async () => {
  const sleeper = await live('sleep', ['300']);
  writeFileSync(lockFile, `${sleeper}\nstarted 1\n`);
  const { take } = lockOf({ proc: join(dir, 'no-proc') });
  const refusal = `in use by benchfleet pid ${sleeper}; stop it or use another --data-dir (the lock is ${lockFile}:`;
  expect(take).toThrow(refusal);
  writeFileSync(lockFile, `${sleeper}\n`);
  expect(take).toThrow(refusal);
});

it('benchfleet local takes over the lock of a reused pid, and a second server is refused with the lock named', async () => {
  const data = join(dir, 'data');
  mkdirSync(data);
  const sleeper = await live('sleep', ['300']);
  writeFileSync(join(data, LOCK_FILE), `${sleeper}\n`);
  const env = { TMPDIR: dir };
  const first = new CliProcess(['local', '--serve', '--port', '0', '--data-dir', data], env);
  let second: CliProcess | undefined;
  try {
    await first.waitFor(/Serving until Ctrl-C/);
    expect(first.stderr).toContain(
      `Taking over the lock ${join(data, LOCK_FILE)}: its pid ${sleeper} is alive, but it is not a benchfleet process`,
    );
    const lines = readFileSync(join(data, LOCK_FILE), 'utf8').split('\n');
    expect(lines.slice(0, 2)).toEqual([String(first.pid), `started ${processStartTime(first.pid)}`]);

    second = new CliProcess(['local', '--serve', '--port', '0', '--data-dir', data], env);
    expect((await second.exited).code).toBe(1);
    expect(second.stderr).toContain(
      `data dir ${data} is in use by benchfleet pid ${first.pid}; stop it or use another --data-dir (the lock is ${join(data, LOCK_FILE)}: delete it if no benchfleet runs on this data dir)`,
    );
    first.signal('SIGINT');
    expect((await first.exited).code).toBe(0);
    expect(existsSync(join(data, LOCK_FILE))).toBe(false);
  } finally {
    first.kill();
    second?.kill();
  }
});
