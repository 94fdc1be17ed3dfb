// `benchfleet local` refuses bad flags and an unwritable results folder before anything starts:
// no stack, no run, nothing left in the data dir for the next call to resume.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp-dir';

function setup(): { dir: string; config: string; dataDir: string; results: string } {
  const dir = tempDir('bf-local-flags-');
  const config = join(dir, 'run.json');
  writeFileSync(config, '{"ruby_version": "3.4.7", "runs_per_instance_type": 1, "local": ["solo"]}\n');
  return { dir, config, dataDir: join(dir, 'data'), results: join(dir, 'results') };
}

const SLOTS = '--slots must be auto, cores or a whole number from 1 to 1024';
const SIZE = '--synthetic-size must be a number of zero or more (0 = instant)';
const PORT = 'must be a whole number from 0 to 65535 (0 = any free port)';
const refusals: [string[], string][] = [
  [['--slots', '0'], `${SLOTS}, got "0"`],
  [['--slots', '-2'], `${SLOTS}, got "-2"`],
  [['--slots', 'many'], `${SLOTS}, got "many"`],
  [['--synthetic-size', '-1'], `${SIZE}, got "-1"`],
  [['--synthetic-size', 'big'], `${SIZE}, got "big"`],
  [['--port', '70000'], `--port ${PORT}, got "70000"`],
  [['--dashboard-port', '1.5'], `--dashboard-port ${PORT}, got "1.5"`],
  [['--heartbeat-timeout-s', '0'], '--heartbeat-timeout-s must be a number of seconds above zero, got "0"'],
  [
    ['--reaper-interval-s', '1e9'],
    '--reaper-interval-s must be at most 2147483 seconds (about 24.8 days, the longest wait of a Node timer), got "1e9"',
  ],
  [['--workload', 'vm'], '--workload must be synthetic or docker, got "vm"'],
  [
    ['--ruby-bench-dir', '/nonexistent/ruby-bench'],
    '--ruby-bench-dir must be an existing folder, got "/nonexistent/ruby-bench"',
  ],
];

it.each(refusals)(
  'refuses %j before starting anything, naming the flag and what it takes',
  async (flag, message) => {
    const s = setup();
    const out = await runCli([
      'local',
      '--config',
      s.config,
      '--data-dir',
      s.dataDir,
      '--results-dir',
      s.results,
      ...flag,
    ]);
    expect(out.code).toBe(1);
    expect(out.stderr).toBe(`benchfleet local: ${message}\n`);
    expect(existsSync(s.dataDir)).toBe(false);
    expect(existsSync(s.results)).toBe(false);
  },
  30_000,
);

it('refuses a --results-dir it cannot write before the run, naming the path and what to do', async () => {
  const s = setup();
  const file = join(s.dir, 'a-file');
  writeFileSync(file, '');
  const results = join(file, 'results');
  const out = await runCli([
    'local',
    '--config',
    s.config,
    '--data-dir',
    s.dataDir,
    '--results-dir',
    results,
  ]);
  expect(out.code).toBe(1);
  expect(out.stderr).not.toContain('Benchfleet local mode');
  expect(out.stderr).toMatch(
    new RegExp(`^benchfleet local: cannot write the results folder ${results} \\(ENOTDIR[^)]*\\); `),
  );
  expect(out.stderr).toContain('--results-dir');
  expect(existsSync(s.dataDir)).toBe(false);
}, 30_000);

it('creates the results folder when it checks it, and leaves no probe file in it', async () => {
  const s = setup();
  // docker is checked after the results folder: an engine that is not there stops the start there
  const out = await runCli(
    ['local', '--config', s.config, '--results-dir', s.results, '--workload', 'docker'],
    { BENCHFLEET_DOCKER_HOST: `unix://${join(s.dir, 'no-docker.sock')}` },
  );
  expect(out.code).toBe(1);
  expect(out.stderr).toContain('--workload docker needs a Docker engine');
  expect(readdirSync(s.results)).toEqual([]);
}, 30_000);
