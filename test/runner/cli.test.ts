import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main, parseArgs } from '../../runner/cli';
import { resolveOptions } from '../../runner/options';
import { tempDir } from '../helpers/temp-dir';

const required = [
  '--api',
  'http://api',
  '--api-key',
  'k',
  '--provider',
  'aws',
  '--instance-type',
  'c7a.large',
];

describe('runner command line', () => {
  it('fills the documented defaults', () => {
    const o = resolveOptions(parseArgs(required, {}));
    expect(o).toMatchObject({
      apiUrl: 'http://api',
      provider: 'aws',
      instanceType: 'c7a.large',
      slots: 'auto',
      executor: 'docker',
      heartbeatS: 30,
      taskTimeoutS: 7200,
      maxRetryS: 600,
      shutdownOnDone: false,
      shutdownCommand: 'shutdown -h now',
      debug: false,
      json: false,
    });
    expect(o.runId).toBeUndefined();
  });

  it('reads every flag from BENCHFLEET_* variables, and BENCHFLEET_API_URL for --api', () => {
    const o = parseArgs([], {
      BENCHFLEET_API_URL: 'https://x.example',
      BENCHFLEET_API_KEY: 'key',
      BENCHFLEET_PROVIDER: 'azure',
      BENCHFLEET_INSTANCE_TYPE: 'Standard_D2as_v5',
      BENCHFLEET_RUN_ID: '1800000000',
      BENCHFLEET_SLOTS: 'cores',
      BENCHFLEET_EXECUTOR: 'synthetic',
      BENCHFLEET_HEARTBEAT_S: '5',
      BENCHFLEET_SHUTDOWN_ON_DONE: 'true',
      BENCHFLEET_SHUTDOWN_COMMAND: '/opt/benchfleet/deallocate.sh',
      BENCHFLEET_DEBUG: 'false',
      BENCHFLEET_JSON: '1',
      BENCHFLEET_SYNTHETIC_SIZE: '0',
    });
    expect(o).toMatchObject({
      apiUrl: 'https://x.example',
      provider: 'azure',
      runId: 1800000000,
      slots: 'cores',
      heartbeatS: 5,
      shutdownOnDone: true,
      shutdownCommand: '/opt/benchfleet/deallocate.sh',
      debug: false,
      json: true,
      syntheticSize: 0,
    });
  });

  it('lets a flag win over its variable', () => {
    expect(parseArgs([...required, '--slots', '3'], { BENCHFLEET_SLOTS: 'auto' }).slots).toBe(3);
  });

  it('refuses bad values with a message naming the flag', () => {
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(() => parseArgs([...required, '--slots', 'many'], {})).toThrow(/--slots/);
      expect(() => parseArgs(['--api', 'http://a'], {})).toThrow(/api-key/);
      expect(() => parseArgs([...required, '--provider', 'gcp'], {})).toThrow(/provider/);
    } finally {
      err.mockRestore();
    }
    expect(() => resolveOptions({ ...parseArgs(required, {}), executor: 'command' })).toThrow(/--command/);
    // a whole number past the limit: the limit is named
    expect(() => resolveOptions(parseArgs([...required, '--slots', '2000'], {}))).toThrow(
      '--slots must be auto, cores or a whole number from 1 to 1024, got 2000',
    );
  });

  it('names the variable of a missing required flag', () => {
    const lines: string[] = [];
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((s) => lines.push(String(s)) > 0);
    try {
      expect(() => parseArgs(['--api', 'http://a'], {})).toThrow(/api-key/);
      expect(() => parseArgs(required.slice(2), {})).toThrow(/--api </);
    } finally {
      err.mockRestore();
    }
    expect(lines.join('')).toContain('(give --api-key, or set BENCHFLEET_API_KEY;');
    expect(lines.join('')).toContain('(give --api, or set BENCHFLEET_API_URL;');
  });

  it('refuses a --host-id that would make runner ids the API refuses, before any claim', () => {
    const withHost = (id: string) => resolveOptions(parseArgs([...required, '--host-id', id], {}));
    // `<host-id>-<slot>` must fit the API's 128 characters, for slots up to 1023
    expect(withHost('h'.repeat(123)).hostId).toHaveLength(123);
    expect(() => withHost('h'.repeat(124))).toThrow('--host-id must be 1 to 123 characters, got 124');
    expect(() => withHost('vm\t7')).toThrow('--host-id "vm\\t7" holds control characters');
    expect(withHost('vm-7 é').hostId).toBe('vm-7 é');
  });
});

describe('runner start-up', () => {
  it('says in one line, without a stack, that it cannot create --work-dir and what to pass instead', async () => {
    const dir = tempDir('bf-runner-cli-');
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const workDir = join(file, 'work');
    const lines: string[] = [];
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((s) => lines.push(String(s)) > 0);
    const signals = { SIGTERM: process.listeners('SIGTERM'), SIGINT: process.listeners('SIGINT') };
    let code: number;
    try {
      code = await main([
        ...required.slice(0, 4),
        '--provider',
        'local',
        '--instance-type',
        'x.small',
        '--host-id',
        'cli-test',
        '--executor',
        'synthetic',
        '--work-dir',
        workDir,
      ]);
    } finally {
      err.mockRestore();
      // main() listens for signals for the whole process; a test must not leave its listeners
      for (const s of ['SIGTERM', 'SIGINT'] as const)
        for (const l of process.listeners(s)) if (!signals[s].includes(l)) process.off(s, l);
    }
    expect(code).toBe(1);
    expect(lines.join('')).toBe(
      `runner: cannot create --work-dir ${workDir} (ENOTDIR: a part of its path is a file, not a folder); pass a writable folder as --work-dir or BENCHFLEET_WORK_DIR\n`,
    );
  });
});
