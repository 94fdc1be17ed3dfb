// Two or more `benchfleet local` starting at the same moment on one data dir whose benchfleet.lock
// is stale (cli/lib/data-dir-lock.ts): exactly one takes it over, the others are refused with the
// winner's pid. Real processes, released together at one instant, race on a fresh stale lock each
// round (its pid gone, or alive but reused); every round must end with one owner, the lock file
// naming it, and only the winner saying it took a reused pid's lock over.
import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LOCK_FILE, processStartTime } from '../../cli/lib/data-dir-lock';
import { ROOT } from '../helpers/cli';

jest.setTimeout(180_000);

const RACERS = 6;
const ROUNDS = 60;

type Reply = { ready: true } | { won: string[] } | { refused: string; said: string[] } | { released: true };

/** A child that takes the lock of the dir it is given at the instant it is given, and reports. */
const CHILD = `
const { lockDataDir } = require(${JSON.stringify(join(ROOT, 'cli', 'lib', 'data-dir-lock.ts'))});
const out = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
let held;
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line);
  if (m.release) {
    held?.release();
    held = undefined;
    return out({ released: true });
  }
  const early = m.at - Date.now() - 10;
  if (early > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, early);
  while (Date.now() < m.at) {} // all racers leave together
  const said = [];
  try {
    held = lockDataDir(m.dir, { say: (line) => said.push(line) });
    out({ won: said });
  } catch (err) {
    out({ refused: err.message, said });
  }
});
out({ ready: true });
`;

class Racer {
  readonly child: ChildProcessWithoutNullStreams;
  private readonly replies: Reply[] = [];
  private waiting?: (r: Reply) => void;
  stderr = '';

  constructor() {
    this.child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', CHILD], { cwd: ROOT });
    this.child.stderr.on('data', (d) => {
      this.stderr += d;
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const reply = JSON.parse(line) as Reply;
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(reply);
      } else this.replies.push(reply);
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  send(m: object): void {
    this.child.stdin.write(`${JSON.stringify(m)}\n`);
  }

  next(): Promise<Reply> {
    const r = this.replies.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`racer ${this.pid} said nothing; stderr:\n${this.stderr}`)),
        60_000,
      );
      this.waiting = (reply) => {
        clearTimeout(timer);
        resolve(reply);
      };
    });
  }
}

let dir: string;
let racers: Racer[] = [];
let sleeper: ChildProcess | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-lock-race-'));
});
afterAll(() => {
  for (const r of racers) r.child.kill('SIGKILL');
  sleeper?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A pid that was a process and no longer is: the owner of a stale lock. */
async function deadPid(): Promise<number> {
  const gone = spawn('true');
  await new Promise((resolve) => gone.once('exit', resolve));
  return gone.pid as number;
}

it(`${RACERS} servers starting together on one stale lock: exactly one takes it over, ${ROUNDS} rounds out of ${ROUNDS}`, async () => {
  racers = Array.from({ length: RACERS }, () => new Racer());
  for (const r of racers) expect(await r.next()).toEqual({ ready: true });
  const dead = await deadPid();
  sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
  await new Promise((resolve) => sleeper?.once('spawn', resolve));
  const reused = sleeper.pid as number;
  const stale = [`${dead}\nstarted 1\n`, `${reused}\nstarted ${Number(processStartTime(reused)) - 1}\n`];
  // each round as seen, and as it must be: one owner, named by the lock, the others refused
  const seen: object[] = [];
  const wanted: object[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const data = join(dir, `data-${round}`);
    mkdirSync(data);
    const lockFile = join(data, LOCK_FILE);
    writeFileSync(lockFile, stale[round % 2] as string);
    const at = Date.now() + 80;
    for (const r of racers) r.send({ dir: data, at });
    const replies = await Promise.all(racers.map((r) => r.next()));
    const winners = racers.filter((_, i) => 'won' in (replies[i] as Reply));
    const lockOwner = readFileSync(lockFile, 'utf8').split('\n')[0];
    for (const r of racers) r.send({ release: true });
    for (const r of racers) expect(await r.next()).toEqual({ released: true });
    const first = winners[0]?.pid;
    seen.push({
      round,
      owners: winners.map((w) => w.pid),
      lockOwner,
      winnerSaid: replies.filter((r) => 'won' in r),
      refusals: replies.filter((r) => !('won' in r)),
      left: readdirSync(data), // the winner's release removed the lock; no temp file, no marker
    });
    wanted.push({
      round,
      owners: [first],
      lockOwner: String(first),
      winnerSaid: [
        {
          won:
            round % 2
              ? [
                  `Taking over the lock ${lockFile}: its pid ${reused} is alive, but it started at another time than the lock's owner, so the pid was reused; it runs \`sleep 300\`.`,
                ]
              : [],
        },
      ],
      refusals: Array(RACERS - 1).fill({
        refused: `data dir ${data} is in use by benchfleet pid ${first}; stop it or use another --data-dir (the lock is ${lockFile}: delete it if no benchfleet runs on this data dir)`,
        said: [],
      }),
      left: [],
    });
  }
  expect(seen).toEqual(wanted);
});
