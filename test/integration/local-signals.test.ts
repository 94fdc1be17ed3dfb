// `benchfleet local` interrupted and stopped as people do it: Ctrl-C twice, SIGTERM, Ctrl-C during
// start-up or at --keep's "stay up until Ctrl-C", a start error, a second server on the same data
// dir. Whatever happens, the runners are stopped, the stand-ins go away, the temp data dir is
// removed and the data dir's lock released.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CliProcess,
  eventually,
  expectInFlightTasksInterrupted,
  processesMentioning,
} from '../helpers/cli-process';
import { cliTmpDir } from '../helpers/temp-dir';

jest.setTimeout(180_000);

/** Synthetic work that takes many seconds a task, so a signal finds one in flight. */
const SLOW = '40';

let dir: string;
let tmp: string; // the CLI's TMPDIR: its temp data dir must be gone at the end
let cli: CliProcess | undefined;
const others: CliProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-signals-'));
  tmp = cliTmpDir(join(dir, 'tmp'));
});
afterEach(() => {
  cli?.kill();
  for (const o of others.splice(0)) o.kill();
  cli = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function config(runs: number, types = ['solo']): string {
  const file = join(dir, 'run.json');
  writeFileSync(file, JSON.stringify({ ruby_version: '3.4.7', runs_per_instance_type: runs, local: types }));
  return file;
}

function local(args: string[], env: Record<string, string> = {}): CliProcess {
  return new CliProcess(['local', '--results-dir', join(dir, 'results'), '--slots', '1', ...args], {
    TMPDIR: tmp,
    ...env,
  });
}

const leftInTmp = (): string[] => readdirSync(tmp).filter((f) => f.startsWith('benchfleet-'));

async function runningTask(p: CliProcess): Promise<string> {
  const [, api] = await p.waitFor(/API: +(http:\/\/\S+)/);
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const run = (await (await fetch(`${api}/run`)).json().catch(() => ({}))) as {
      tasks?: { claimed: number; running: number };
    };
    if ((run.tasks?.running ?? 0) + (run.tasks?.claimed ?? 0) > 0) return api as string;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no task started running; stderr:\n${p.stderr}`);
}

it('SIGTERM mid-run stops the runners (their tasks fail as interrupted), the services, and exits 143', async () => {
  const data = join(dir, 'data');
  cli = local(['-c', config(4), '--data-dir', data, '--synthetic-size', SLOW]);
  await runningTask(cli);
  cli.signal('SIGTERM');
  const exit = await cli.exited;
  expect(cli.stderr).toContain('Terminated: stopping the runners and the local services');
  expect(exit).toEqual({ code: 143, signal: null });
  expect(existsSync(join(data, 'benchfleet.lock'))).toBe(false);
  expect(processesMentioning(data)).toEqual([]);

  // the runner told the API before it went: the task in flight is not left running
  await expectInFlightTasksInterrupted(data);
});

it('a second Ctrl-C quits, but removes the temp data dir and leaves no stand-ins behind', async () => {
  cli = local(['-c', config(4), '--synthetic-size', SLOW]);
  await runningTask(cli);
  cli.signal('SIGINT');
  await cli.waitFor(/Interrupted: ending the run early/);
  cli.signal('SIGINT');
  const exit = await cli.exited;
  expect(cli.stderr).toMatch(/Interrupted( again)?: stopping the runners and the local services/);
  expect(exit).toEqual({ code: 130, signal: null });
  expect(leftInTmp()).toEqual([]);
  await eventually('the stand-ins to exit', () => (processesMentioning(tmp).length ? undefined : true));
});

it('with --keep, Ctrl-C at "stay up until Ctrl-C" shuts down cleanly even after a Ctrl-C ended the run', async () => {
  cli = local(['-c', config(3), '--synthetic-size', SLOW, '--keep']);
  await runningTask(cli);
  cli.signal('SIGINT'); // ends the run early; the archive of what completed is still saved
  await cli.waitFor(/stay up until Ctrl-C/);
  cli.signal('SIGINT');
  const exit = await cli.exited;
  expect(exit).toEqual({ code: 0, signal: null });
  expect(cli.stderr).not.toContain('quitting');
  expect(leftInTmp()).toEqual([]);
});

it('Ctrl-C during start-up removes the temp data dir', async () => {
  cli = local(['-c', config(1), '--synthetic-size', '0']);
  const made = await eventually('the temp data dir', () => leftInTmp()[0], 60_000);
  cli.signal('SIGINT');
  const exit = await cli.exited;
  expect(exit.code).toBe(130);
  expect(cli.stderr).not.toContain('== run ');
  expect(existsSync(join(tmp, made))).toBe(false);
  await eventually('the stand-ins to exit', () => (processesMentioning(tmp).length ? undefined : true));
});

it('a start error (--serve on a busy port) says so and removes the temp data dir', async () => {
  const busy: Server = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as { port: number }).port;
  try {
    cli = local(['--serve', '--port', String(port)]);
    const exit = await cli.exited;
    expect(exit.code).toBe(1);
    expect(cli.stderr).toContain(`port ${port} is in use`);
    expect(cli.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(leftInTmp()).toEqual([]);
  } finally {
    busy.close();
  }
});

it('refuses a second server on a data dir in use, and takes over a stale lock', async () => {
  const data = join(dir, 'data');
  cli = local(['--serve', '--port', '0', '--data-dir', data]);
  await cli.waitFor(/Serving until Ctrl-C/);
  const second = local(['--serve', '--port', '0', '--data-dir', data]);
  others.push(second);
  const refused = await second.exited;
  expect(refused.code).toBe(1);
  expect(second.stderr).toContain(
    `data dir ${data} is in use by benchfleet pid ${cli.pid}; stop it or use another --data-dir`,
  );
  expect(second.stderr).not.toContain('ECONNREFUSED');
  expect(second.stderr).not.toContain('Database is closed');
  // the first server is unharmed
  const [, api] = await cli.waitFor(/API: +(http:\/\/\S+)/);
  expect((await fetch(`${api}/run`)).status).toBe(404);
  cli.signal('SIGINT');
  expect((await cli.exited).code).toBe(0);
  expect(existsSync(join(data, 'benchfleet.lock'))).toBe(false);

  // a lock left by a process that is gone is stale
  const gone = spawnSync(process.execPath, ['-e', '']).pid;
  writeFileSync(join(data, 'benchfleet.lock'), `${gone}\n`);
  const third = local(['--serve', '--port', '0', '--data-dir', data]);
  others.push(third);
  await third.waitFor(/Serving until Ctrl-C/);
  third.signal('SIGTERM');
  expect((await third.exited).code).toBe(143);
  expect(existsSync(join(data, 'benchfleet.lock'))).toBe(false);
});

it('refuses a reaper interval or heartbeat timeout of zero', async () => {
  for (const flag of ['--reaper-interval-s', '--heartbeat-timeout-s']) {
    const p = local(['--serve', '--port', '0', flag, '0']);
    others.push(p);
    expect((await p.exited).code).toBe(1);
    expect(p.stderr).toContain(`${flag} must be a number of seconds above zero, got "0"`);
    expect(p.stderr).not.toContain('Benchfleet local mode');
  }
  expect(leftInTmp()).toEqual([]);
});

it('keeps the runner logs next to results/<run-id>/ when the run ends without an archive', async () => {
  const preload = join(__dirname, 'fixtures', 'fail-archive-upload.cjs');
  cli = local(['-c', config(1, ['small']), '--synthetic-size', '0'], {
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`,
  });
  const exit = await cli.exited;
  expect(exit.code).toBe(1);
  const m = cli.stderr.match(/run (\d+) ended assembly_failed .*; the runner logs are kept in (\S+)/);
  if (!m) throw new Error(`no assembly_failed report; stderr:\n${cli.stderr}`);
  const kept = m[2] as string;
  expect(kept).toBe(join(dir, 'results', `${m[1]}-runner-logs`));
  expect(readdirSync(kept)).toEqual(['small.log']);
  // the results folder the run took before it started is gone again: it delivered nothing
  expect(readdirSync(join(dir, 'results'))).toEqual([`${m[1]}-runner-logs`]);
  expect(leftInTmp()).toEqual([]);
});
