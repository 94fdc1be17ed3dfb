// An empty or blank results folder (--results-dir "", BENCHFLEET_RESULTS_DIR=) is refused, naming
// the flag or the variable and what to do: resolve('') is the current folder, and the results of a
// `benchfleet local` or `download` would land in it (the project root, for `npm start`).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { resultsRootFor } from '../../cli/lib/archive';
import { checkLocalFlags, givenFlags, type LocalFlags, localOptions } from '../../cli/lib/local-flags';
import { ROOT } from '../helpers/cli';
import { runCli, sandbox } from './helpers';

const FLAG = (got: string): string =>
  `--results-dir must be a non-blank folder (leave the flag out for the default: BENCHFLEET_RESULTS_DIR, else ./results), got "${got}"`;
const VARIABLE = (how: 'empty' | 'blank'): string =>
  `BENCHFLEET_RESULTS_DIR is set but ${how}: unset it to have the results go to ./results, or set it to a folder`;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-results-blank-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** checkLocalFlags on `benchfleet local ...args`, parsed by the real options. */
function check(args: string[], env: NodeJS.ProcessEnv = {}): void {
  const cmd = localOptions(new Command('local')).exitOverride();
  cmd.parse(args, { from: 'user' });
  checkLocalFlags(cmd.opts<LocalFlags>(), env, givenFlags(cmd));
}

describe('checkLocalFlags', () => {
  it.each([[''], ['  ']])('refuses --results-dir %j, naming the flag and the default', (value) => {
    expect(() => check(['--results-dir', value])).toThrow(FLAG(value));
    expect(() => check(['--results-dir', value, '--serve'])).toThrow(FLAG(value));
  });

  it('refuses an empty or blank BENCHFLEET_RESULTS_DIR only when --results-dir is absent (the flag wins)', () => {
    expect(() => check([], { BENCHFLEET_RESULTS_DIR: '' })).toThrow(VARIABLE('empty'));
    expect(() => check([], { BENCHFLEET_RESULTS_DIR: ' \t' })).toThrow(VARIABLE('blank'));
    expect(() => check(['--results-dir', join(dir, 'r')], { BENCHFLEET_RESULTS_DIR: '' })).not.toThrow();
    expect(() => check([], { BENCHFLEET_RESULTS_DIR: join(dir, 'r') })).not.toThrow();
    expect(() => check([], {})).not.toThrow();
  });
});

it('resultsRootFor refuses a blank root rather than answering the current folder', () => {
  const saved = process.env.BENCHFLEET_RESULTS_DIR;
  try {
    delete process.env.BENCHFLEET_RESULTS_DIR;
    expect(() => resultsRootFor('')).toThrow(FLAG(''));
    expect(resultsRootFor(dir)).toBe(dir);
    process.env.BENCHFLEET_RESULTS_DIR = '';
    expect(() => resultsRootFor()).toThrow(VARIABLE('empty'));
    expect(resultsRootFor(dir)).toBe(dir);
  } finally {
    if (saved === undefined) delete process.env.BENCHFLEET_RESULTS_DIR;
    else process.env.BENCHFLEET_RESULTS_DIR = saved;
  }
});

/** `node bin/benchfleet.js ...args` started in `cwd`. */
function benchfleetIn(
  cwd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'benchfleet.js'), ...args], {
      cwd,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN', ...env },
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => done({ code, stderr }));
  });
}

describe('benchfleet local', () => {
  // A real run (one instant task): on the old code it completes and writes <run-id>/ into the cwd.
  it.each([
    [[], { BENCHFLEET_RESULTS_DIR: '' }, VARIABLE('empty')],
    [['--results-dir', ' '], {}, FLAG(' ')],
  ])(
    'started with %j %j, refuses at once and writes nothing into the current folder',
    async (args, env, message) => {
      const cwd = join(dir, 'cwd');
      const config = join(dir, 'run.json');
      writeFileSync(config, '{"ruby_version": "3.4.7", "runs_per_instance_type": 1, "local": ["solo"]}\n');
      mkdirSync(cwd);
      const out = await benchfleetIn(
        cwd,
        ['local', '--config', config, '--synthetic-size', '0', '--slots', '1', ...args],
        env,
      );
      expect(out.stderr).toBe(`benchfleet local: ${message}\n`);
      expect(out.code).toBe(1);
      expect(readdirSync(cwd)).toEqual([]);
    },
    60_000,
  );
});

describe('benchfleet download', () => {
  it.each([
    [['--results-dir', ''], {}, FLAG('')],
    [[], { BENCHFLEET_RESULTS_DIR: ' ' }, VARIABLE('blank')],
  ])('with %j %j is refused before the bucket is asked', async (args, env, message) => {
    // no outputs.json and no --bucket: reaching the bucket would fail with another message
    const box = sandbox(env as Record<string, string>);
    try {
      const out = await runCli(['download', '1700000001', ...args]);
      expect(out.stderr).toBe(`benchfleet download: ${message}\n`);
      expect(out.code).toBe(1);
    } finally {
      box.restore();
    }
  });
});
