// The runner key (the one runners get) may not be the operator key, or it could start and stop
// runs: `benchfleet local` refuses two equal keys (flags or variables), and a given key that is the
// one saved for the other role in the data dir's keys.json, before anything starts.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { checkLocalFlags, givenFlags, type LocalFlags, localOptions } from '../../cli/lib/local-flags';
import { resolveKeys } from '../../lambdas/adapters/local/keys';
import { runCli } from '../helpers/cli';

let dir: string;
let data: string;
let keysFile: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-key-clash-'));
  data = join(dir, 'data');
  keysFile = join(data, 'keys.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const save = (keys: Record<string, string>): void => {
  mkdirSync(data, { recursive: true });
  writeFileSync(keysFile, JSON.stringify(keys));
};

/** checkLocalFlags on `benchfleet local ...args`, parsed by the real options. */
function check(args: string[], env: NodeJS.ProcessEnv = {}): void {
  const cmd = localOptions(new Command('local')).exitOverride();
  cmd.parse(args, { from: 'user' });
  checkLocalFlags(cmd.opts<LocalFlags>(), env, givenFlags(cmd));
}

const MUST =
  'the two keys must differ (the runners get the runner key, which must not be able to start or stop runs)';

describe('checkLocalFlags', () => {
  it.each([
    [['--api-key', 'k', '--runner-key', 'k'], {}, '--api-key', '--runner-key'],
    [
      [],
      { BENCHFLEET_API_KEY: 'k', BENCHFLEET_RUNNER_KEY: 'k' },
      'BENCHFLEET_API_KEY',
      'BENCHFLEET_RUNNER_KEY',
    ],
    [['--api-key', 'k'], { BENCHFLEET_RUNNER_KEY: 'k' }, '--api-key', 'BENCHFLEET_RUNNER_KEY'],
    [['--runner-key', 'k', '--serve'], { BENCHFLEET_API_KEY: 'k' }, 'BENCHFLEET_API_KEY', '--runner-key'],
  ])('refuses %j %j: the same key for both roles, naming where each came from', (args, env, op, run) => {
    expect(() => check(args, env)).toThrow(
      `the operator key from ${op} is the same as the runner key from ${run}; ${MUST}: give two different keys`,
    );
  });

  it('takes a flag over its variable, and keys that differ only in case as different', () => {
    expect(() =>
      check(['--api-key', 'a'], { BENCHFLEET_API_KEY: 'k', BENCHFLEET_RUNNER_KEY: 'k' }),
    ).not.toThrow();
    expect(() => check(['--api-key', 'k', '--runner-key', 'K'])).not.toThrow();
    expect(() => check(['--api-key', 'k'])).not.toThrow(); // the runner key is generated
  });

  it('refuses a given key that keys.json saves for the other role', () => {
    save({ operator: 'saved-op', runner: 'saved-run' });
    expect(() => check(['--data-dir', data, '--api-key', 'saved-run'])).toThrow(
      `the operator key from --api-key is the same as the runner key saved in ${keysFile}; ${MUST}: use another key for --api-key`,
    );
    expect(() => check(['--data-dir', data], { BENCHFLEET_RUNNER_KEY: 'saved-op' })).toThrow(
      `the operator key saved in ${keysFile} is the same as the runner key from BENCHFLEET_RUNNER_KEY; ${MUST}: use another key for BENCHFLEET_RUNNER_KEY`,
    );
    // with the other key given too: the old runner key, which runners hold, would become the operator key
    expect(() => check(['--data-dir', data, '--api-key', 'saved-run', '--runner-key', 'new-run'])).toThrow(
      'the operator key from --api-key is the same as the runner key saved in',
    );
    expect(() => check(['--data-dir', data, '--api-key', 'saved-op'])).not.toThrow();
    expect(() => check(['--data-dir', data, '--api-key', 'new-op', '--runner-key', 'new-run'])).not.toThrow();
    expect(readFileSync(keysFile, 'utf8')).toBe('{"operator":"saved-op","runner":"saved-run"}'); // read only
  });

  it('refuses a keys.json that saves one key for both roles, unless both keys are given', () => {
    save({ operator: 'k', runner: 'k' });
    expect(() => check(['--data-dir', data])).toThrow(
      `the operator key saved in ${keysFile} is the same as the runner key saved in ${keysFile}; ${MUST}: delete ${keysFile} to have new keys made, or give two different keys with --api-key and --runner-key`,
    );
    expect(() => check(['--data-dir', data, '--api-key', 'op', '--runner-key', 'run'])).not.toThrow();
  });

  it('leaves a damaged keys.json to the start, which names it', () => {
    save({});
    writeFileSync(keysFile, '{');
    expect(() => check(['--data-dir', data, '--api-key', 'k'])).not.toThrow();
  });
});

describe('resolveKeys', () => {
  it('refuses keys that clash, whoever calls it, and saves nothing', () => {
    expect(() => resolveKeys({ operatorKey: 'k', runnerKey: 'k' })).toThrow(
      'the operator key (given) and the runner key (given) are the same: the two keys must differ',
    );
    save({ operator: 'op', runner: 'run' });
    expect(() => resolveKeys({ dataDir: data, operatorKey: 'run' })).toThrow(
      `the operator key (given) and the runner key (saved in ${keysFile}) are the same`,
    );
    expect(() => resolveKeys({ dataDir: data, runnerKey: 'op', operatorKey: 'new' })).toThrow(
      `the operator key (saved in ${keysFile}) and the runner key (given) are the same`,
    );
    expect(readFileSync(keysFile, 'utf8')).toBe('{"operator":"op","runner":"run"}');
  });
});

describe('benchfleet local', () => {
  // --workload docker with no engine: past the flags, the old code stopped there instead of serving
  const NO_DOCKER = (): Record<string, string> => ({
    BENCHFLEET_DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`,
  });
  const serve = ['local', '--serve', '--port', '0', '--workload', 'docker', '--data-dir'];
  it.each([
    [['--api-key', 'same', '--runner-key', 'same'], {}, 'from --api-key', 'from --runner-key'],
    [
      [],
      { BENCHFLEET_API_KEY: 'same', BENCHFLEET_RUNNER_KEY: 'same' },
      'from BENCHFLEET_API_KEY',
      'from BENCHFLEET_RUNNER_KEY',
    ],
  ])(
    'refuses %j %j before anything starts',
    async (args, env, op, run) => {
      const out = await runCli([...serve, data, ...args], { ...NO_DOCKER(), ...env });
      expect(out.stderr).toBe(
        `benchfleet local: the operator key ${op} is the same as the runner key ${run}; ${MUST}: give two different keys\n`,
      );
      expect(out.code).toBe(1);
      expect(existsSync(data)).toBe(false);
    },
    60_000,
  );

  it('refuses a given operator key that is the runner key saved in the data dir, before anything starts', async () => {
    save({ operator: 'saved-op', runner: 'saved-run' });
    const out = await runCli([...serve, data, '--api-key', 'saved-run'], NO_DOCKER());
    expect(out.stderr).toBe(
      `benchfleet local: the operator key from --api-key is the same as the runner key saved in ${keysFile}; ${MUST}: use another key for --api-key\n`,
    );
    expect(out.code).toBe(1);
    expect(readdirSync(data)).toEqual(['keys.json']); // no lock, no stand-ins' files
  }, 60_000);
});
