// `benchfleet local` without --config runs the project's own runs/local.json whatever the current
// folder; a --config given stays relative to the current folder. A default that cannot be read is
// not blamed on a --config the user never gave.
import { spawn } from 'node:child_process';
import fs, { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { ConfigError, LOCAL_CONFIG, loadRunConfig } from '../../cli/config';
import { givenFlags, type LocalFlags, localOptions } from '../../cli/lib/local-flags';
import { ROOT } from '../helpers/cli';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-default-config-'));
});
afterEach(() => {
  jest.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

function parse(args: string[]): { config: string; given: boolean } {
  const cmd = localOptions(new Command('local')).exitOverride();
  cmd.parse(args, { from: 'user' });
  return { config: cmd.opts<LocalFlags>().config, given: givenFlags(cmd).has('config') };
}

const messageOf = (file: string): string => {
  try {
    loadRunConfig(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`${file} was read`);
};

it("defaults --config to the project's runs/local.json, and leaves a given one as typed", () => {
  expect(LOCAL_CONFIG).toBe(join(ROOT, 'runs', 'local.json'));
  expect(parse([])).toEqual({ config: LOCAL_CONFIG, given: false });
  expect(parse(['-c', 'runs/local.json'])).toEqual({ config: 'runs/local.json', given: true });
  const help = localOptions(new Command('local')).helpInformation().replace(/\s+/g, ' ');
  expect(help).toContain('(default: runs/local.json in the Benchfleet folder)');
});

it('says a missing default is the default, and a missing --config is the flag', () => {
  const { readFileSync } = fs;
  jest.spyOn(fs, 'readFileSync').mockImplementation(((file: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    if (file === LOCAL_CONFIG)
      throw Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), { code: 'ENOENT' });
    return (readFileSync as (...a: unknown[]) => unknown)(file, ...rest);
  }) as typeof fs.readFileSync);
  const missing = messageOf(parse([]).config);
  expect(missing).toContain(
    `${LOCAL_CONFIG}: cannot read the config (no such file); it is the default run config, which comes with Benchfleet: restore it (git restore runs/local.json), or name another with --config`,
  );
  expect(missing).not.toContain('check the --config path');
  const given = join(dir, 'nope.json');
  expect(messageOf(parse(['--config', given]).config)).toContain(
    `${given}: cannot read the config (no such file); check the --config path`,
  );
});

/** `node bin/benchfleet.js ...args` started in `cwd`. */
function benchfleetIn(cwd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'benchfleet.js'), ...args], {
      cwd,
      env: {
        ...process.env,
        POWERTOOLS_LOG_LEVEL: 'WARN',
        BENCHFLEET_RESULTS_DIR: join(dir, 'results'),
        // the config is read before the engine is looked for: no engine stops the start right after
        BENCHFLEET_DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`,
      },
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => done({ code, stderr }));
  });
}

describe('benchfleet local started from another folder', () => {
  it('reads the default config from the project, and a given --config from the current folder', async () => {
    const cwd = join(dir, 'elsewhere');
    mkdirSync(cwd);
    writeFileSync(
      join(cwd, 'run.json'),
      '{"ruby_version": "3.4.7", "runs_per_instance_type": 1, "local": ["solo"]}\n',
    );
    const docker = 'benchfleet local: --workload docker needs a Docker engine, and none answered';
    const [byDefault, relative, missing] = await Promise.all([
      benchfleetIn(cwd, ['local', '--workload', 'docker']),
      benchfleetIn(cwd, ['local', '--workload', 'docker', '--config', 'run.json']),
      benchfleetIn(cwd, ['local', '--workload', 'docker', '--config', 'runs/local.json']),
    ]);
    expect(byDefault.stderr).toMatch(new RegExp(`^${docker}`));
    expect(relative.stderr).toMatch(new RegExp(`^${docker}`));
    expect(missing.stderr).toBe(
      'benchfleet local: invalid run config runs/local.json:\n  runs/local.json: cannot read the config (no such file); ' +
        `check the --config path (read as ${join(cwd, 'runs', 'local.json')}, from the current folder)\n`,
    );
    for (const out of [byDefault, relative, missing]) expect(out.code).toBe(1);
    expect(readdirSync(cwd)).toEqual(['run.json']);
  }, 60_000);
});
