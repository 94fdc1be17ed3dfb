// SIGHUP (the terminal was closed) during `benchfleet local`: handled like SIGTERM, exiting 129,
// and writes to the gone terminal (EIO, EPIPE) do not cut the quit short. The rules on a stand-in
// emitter first, then the real CLI in its own process group, hung up as a terminal does it.
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalSignals } from '../../cli/lib/local-signals';
import { ROOT } from '../helpers/cli';
import { eventually, expectInFlightTasksInterrupted, processesMentioning } from '../helpers/cli-process';
import { cliTmpDir } from '../helpers/temp-dir';

jest.setTimeout(180_000);

describe('LocalSignals', () => {
  function setup(say: (line: string) => void) {
    const target = new EventEmitter();
    const output = new EventEmitter();
    const exits: number[] = [];
    const order: string[] = [];
    let exited: () => void = () => undefined;
    const exitedP = new Promise<void>((r) => {
      exited = r;
    });
    const signals = new LocalSignals({
      say,
      target,
      outputs: [output],
      exit: (code) => {
        exits.push(code);
        exited();
      },
    });
    signals.steps.stopRunners = async () => {
      order.push('runners');
    };
    signals.steps.shutdown = async () => {
      order.push('shutdown');
    };
    signals.steps.cleanup = () => order.push('cleanup');
    return { target, output, exits, order, signals, exitedP };
  }

  it('quits on SIGHUP even with a gentle action, exiting 129; a second SIGHUP does not cut it short', async () => {
    const said: string[] = [];
    const { target, exits, order, signals, exitedP } = setup((l) => said.push(l));
    signals.onFirstInterrupt(() => order.push('gentle'));
    target.emit('SIGHUP');
    target.emit('SIGHUP'); // a closing terminal: the shell's hang-up and the kernel's
    expect(signals.quitting).toBe('SIGHUP');
    await exitedP;
    expect(order).toEqual(['runners', 'shutdown', 'cleanup']);
    expect(exits).toEqual([129]);
    expect(said.join('\n')).toContain('Hung up (the terminal was closed): stopping the runners');
    target.emit('SIGTERM'); // a deliberate signal still quits at once
    expect(exits).toEqual([129, 143]);
  });

  it('goes on with the quit when writing its messages fails (the terminal is gone)', async () => {
    const { target, output, exits, order, exitedP } = setup(() => {
      throw Object.assign(new Error('write EIO'), { code: 'EIO' });
    });
    output.emit('error', Object.assign(new Error('write EIO'), { code: 'EIO' })); // no listener: a throw
    target.emit('SIGHUP');
    await exitedP;
    expect(order).toEqual(['runners', 'shutdown', 'cleanup']);
    expect(exits).toEqual([129]);
  });

  it('removes every listener it added', () => {
    const { target, output, signals } = setup(() => undefined);
    expect(target.listenerCount('SIGHUP')).toBe(1);
    expect(output.listenerCount('error')).toBe(1);
    signals.dispose();
    expect(target.listenerCount('SIGHUP')).toBe(0);
    expect(output.listenerCount('error')).toBe(0);
  });
});

describe('benchfleet local, hung up', () => {
  let dir: string;
  let tmp: string;
  let cli: ChildProcess | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bf-sighup-'));
    tmp = cliTmpDir(join(dir, 'tmp'));
  });
  afterEach(() => {
    if (cli?.pid && cli.exitCode === null && cli.signalCode === null) process.kill(-cli.pid, 'SIGKILL');
    cli = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** The CLI leading its own process group, as a terminal's foreground job; stderr kept as it comes. */
  function start(args: string[]): {
    child: ChildProcess;
    stderr: () => string;
    exited: Promise<number | null>;
  } {
    const config = join(dir, 'run.json');
    writeFileSync(
      config,
      JSON.stringify({ ruby_version: '3.4.7', runs_per_instance_type: 4, local: ['solo'] }),
    );
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'bin', 'benchfleet.js'),
        'local',
        '-c',
        config,
        '--results-dir',
        join(dir, 'results'),
      ].concat(['--slots', '1', '--synthetic-size', '40', ...args]),
      { cwd: ROOT, detached: true, env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN', TMPDIR: tmp } },
    );
    cli = child;
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))),
    );
    return { child, stderr: () => stderr, exited };
  }

  /** Resolves once the run has a task in flight. */
  async function taskRunning(stderr: () => string): Promise<void> {
    const api = await eventually('the API address', () => /API: +(http:\/\/\S+)/.exec(stderr())?.[1], 60_000);
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const run = (await (await fetch(`${api}/run`)).json().catch(() => ({}))) as {
        tasks?: { claimed: number; running: number };
      };
      if ((run.tasks?.running ?? 0) + (run.tasks?.claimed ?? 0) > 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no task started running; stderr:\n${stderr()}`);
  }

  it('reports the tasks in flight, stops the stand-ins and exits 129 (--data-dir)', async () => {
    const data = join(dir, 'data');
    const p = start(['--data-dir', data]);
    await taskRunning(p.stderr);
    process.kill(-(p.child.pid as number), 'SIGHUP'); // the whole group: the stand-ins get it too
    expect(await p.exited).toBe(129);
    expect(p.stderr()).toContain('Hung up (the terminal was closed): stopping the runners');
    expect(existsSync(join(data, 'benchfleet.lock'))).toBe(false);
    await eventually('the stand-ins to exit', () => (processesMentioning(data).length ? undefined : true));

    // the runner reached the API before the stand-ins went: the task in flight is not left running
    await expectInFlightTasksInterrupted(data);
  });

  it('removes the temp data dir even when stdout and stderr are gone (EPIPE), exiting 129', async () => {
    const p = start([]);
    await taskRunning(p.stderr);
    expect(readdirSync(tmp).filter((f) => f.startsWith('benchfleet-local-'))).toHaveLength(1);
    // nobody reads its output any more: every write from now on fails with EPIPE
    p.child.stderr?.destroy();
    p.child.stdout?.destroy();
    await new Promise((r) => setTimeout(r, 1500)); // progress lines meet the closed pipe first
    process.kill(-(p.child.pid as number), 'SIGHUP');
    expect(await p.exited).toBe(129);
    expect(readdirSync(tmp).filter((f) => f.startsWith('benchfleet-'))).toEqual([]);
    await eventually('the stand-ins to exit', () => (processesMentioning(tmp).length ? undefined : true));
  });
});
