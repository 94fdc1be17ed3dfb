// The keys of `benchfleet local`: an empty or blank key is refused before anything starts and never
// used or saved; <data-dir>/keys.json is written only when its keys change, atomically, owner-only,
// and a damaged one is refused with its path and what to do.
import {
  chmodSync,
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
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLocalFlags, type LocalFlags } from '../../cli/lib/local-flags';
import { resolveKeys } from '../../lambdas/adapters/local/keys';
import { CliProcess } from '../helpers/cli-process';
import { listenLocal, stopServer } from '../helpers/local-server';
import { cliTmpDir } from '../helpers/temp-dir';

jest.setTimeout(120_000);

let dir: string;
let data: string;
let keysFile: string;
const clis: CliProcess[] = [];
beforeEach(() => {
  dir = cliTmpDir(mkdtempSync(join(tmpdir(), 'bf-local-keys-')));
  data = join(dir, 'data');
  keysFile = join(data, 'keys.json');
});
afterEach(() => {
  for (const cli of clis.splice(0)) cli.kill(); // the stand-ins go with it (a lost IPC channel)
  rmSync(dir, { recursive: true, force: true });
});

const saved = (): { operator: string; runner: string } => JSON.parse(readFileSync(keysFile, 'utf8'));
const mode = (file: string): number => statSync(file).mode & 0o777;
/** Sets the file's times far in the past, so a rewrite shows in its mtime. */
const age = (file: string): void => utimesSync(file, new Date(2000, 0, 1), new Date(2000, 0, 1));

describe('resolveKeys', () => {
  it('takes an empty or blank key as none: new keys are made and saved, never ""', () => {
    const keys = resolveKeys({ dataDir: data, operatorKey: '', runnerKey: '  ' });
    expect(keys.operator).toMatch(/^[\w-]{32}$/);
    expect(keys.runner).toMatch(/^[\w-]{32}$/);
    expect(saved()).toEqual(keys);
    expect(mode(keysFile)).toBe(0o600);
    expect(resolveKeys({ operatorKey: '' }).operator).toMatch(/^[\w-]{32}$/); // no data dir either
  });

  it('ignores an empty key already saved and replaces it with a new one', () => {
    mkdirSync(data);
    writeFileSync(keysFile, JSON.stringify({ operator: '', runner: 'kept-runner-key' }));
    const keys = resolveKeys({ dataDir: data });
    expect(keys.operator).toMatch(/^[\w-]{32}$/);
    expect(keys.runner).toBe('kept-runner-key');
    expect(saved()).toEqual(keys);
  });

  it('leaves keys.json alone when its keys do not change, but makes a wider file owner-only', () => {
    const first = resolveKeys({ dataDir: data });
    age(keysFile);
    const before = statSync(keysFile);
    expect(resolveKeys({ dataDir: data })).toEqual(first);
    expect(resolveKeys({ dataDir: data, operatorKey: first.operator })).toEqual(first);
    expect(statSync(keysFile).mtimeMs).toBe(before.mtimeMs);
    expect(statSync(keysFile).ino).toBe(before.ino);

    writeFileSync(keysFile, JSON.stringify(first), { mode: 0o644 }); // an older version's file
    chmodSync(keysFile, 0o644);
    expect(resolveKeys({ dataDir: data })).toEqual(first);
    expect(mode(keysFile)).toBe(0o600);
  });

  it('writes a changed keys.json through a temp file and a rename, owner-only, leaving no temp file', () => {
    resolveKeys({ dataDir: data });
    chmodSync(keysFile, 0o644);
    const before = statSync(keysFile);
    const keys = resolveKeys({ dataDir: data, operatorKey: 'op-new', runnerKey: 'run-new' });
    expect(keys).toEqual({ operator: 'op-new', runner: 'run-new' });
    expect(saved()).toEqual(keys);
    expect(statSync(keysFile).ino).not.toBe(before.ino); // a new file renamed into place
    expect(mode(keysFile)).toBe(0o600);
    expect(readdirSync(data)).toEqual(['keys.json']);
  });

  it.each([
    ['', 'it is empty'],
    ['{"operator": "ab', 'JSON'],
    ['["a", "b"]', 'it is not a JSON object'],
  ])('refuses a damaged keys.json (%j), naming it and what to do', (content, why) => {
    mkdirSync(data);
    writeFileSync(keysFile, content);
    let message = '';
    try {
      resolveKeys({ dataDir: data, operatorKey: 'only-one-key' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`${keysFile} cannot be used (`);
    expect(message).toContain(why);
    expect(message).toContain('delete it and start again to have new keys made');
    expect(message).toContain('runners you started yourself on this data dir must be restarted');
    expect(message).toContain('both --api-key and --runner-key');
    expect(readFileSync(keysFile, 'utf8')).toBe(content); // not touched
    // both keys given: the saved ones are not needed, the damaged file is replaced
    expect(resolveKeys({ dataDir: data, operatorKey: 'op', runnerKey: 'run' })).toEqual({
      operator: 'op',
      runner: 'run',
    });
    expect(saved()).toEqual({ operator: 'op', runner: 'run' });
  });
});

describe('checkLocalFlags', () => {
  const flags: LocalFlags = {
    config: 'runs/local.json',
    workload: 'synthetic',
    dashboardPort: '0',
    heartbeatTimeoutS: '120',
    reaperIntervalS: '60',
    slots: 'auto',
    syntheticSize: '1',
  };

  it('checks a key variable only when its flag is absent (the flag wins)', () => {
    expect(() => checkLocalFlags({ ...flags, apiKey: 'k' }, { BENCHFLEET_API_KEY: '' })).not.toThrow();
    expect(() =>
      checkLocalFlags(flags, { BENCHFLEET_API_KEY: 'k', BENCHFLEET_RUNNER_KEY: 'r' }),
    ).not.toThrow();
    expect(() => checkLocalFlags(flags, {})).not.toThrow();
    expect(() => checkLocalFlags(flags, { BENCHFLEET_RUNNER_KEY: ' \t' })).toThrow(
      'BENCHFLEET_RUNNER_KEY is set but blank: unset it to have a runner key generated, or set it to the key',
    );
  });
});

describe('benchfleet local', () => {
  function local(args: string[], env: Record<string, string> = {}): CliProcess {
    const cli = new CliProcess(['local', '--serve', '--port', '0', '--data-dir', data, ...args], {
      TMPDIR: dir,
      ...env,
    });
    clis.push(cli);
    return cli;
  }

  it.each([
    [
      ['--api-key', ''],
      {},
      '--api-key must be a non-blank key (leave the flag out to have one generated), got ""',
    ],
    [
      ['--runner-key', '  '],
      {},
      '--runner-key must be a non-blank key (leave the flag out to have one generated), got "  "',
    ],
    [
      [],
      { BENCHFLEET_API_KEY: '' },
      'BENCHFLEET_API_KEY is set but empty: unset it to have an operator key generated, or set it to the key',
    ],
  ])(
    'refuses the key of %j %j before anything starts',
    async (args, env, message) => {
      const cli = local(args, env);
      expect((await cli.exited).code).toBe(1);
      expect(cli.stderr).toBe(`benchfleet local: ${message}\n`);
      expect(existsSync(data)).toBe(false);
    },
    30_000,
  );

  it("shows a key it made, but never one the user gave (a deployment's, exported for the cloud commands)", async () => {
    const cli = local(['--runner-key', 'runner-given-by-flag-1234'], {
      BENCHFLEET_API_KEY: 'operator-from-env-5678',
    });
    await cli.waitFor(/Serving until Ctrl-C/);
    expect(cli.stderr).toContain('operator key: (yours, from BENCHFLEET_API_KEY; not shown)');
    expect(cli.stderr).toContain('runner key:   (yours, from --runner-key; not shown)');
    expect(cli.stderr).not.toContain('operator-from-env-5678');
    expect(cli.stderr).not.toContain('runner-given-by-flag-1234');
    cli.signal('SIGINT');
    expect((await cli.exited).code).toBe(0);
  });

  it('serves the API without the dashboard when its port is taken, naming the port and the flag', async () => {
    const taken = createServer();
    const port = await listenLocal(taken);
    try {
      const cli = local(['--dashboard-port', String(port)]);
      await cli.waitFor(/Serving until Ctrl-C/);
      expect(cli.stderr).toContain(
        `(the dashboard could not be served: port ${port} is in use: pick another with --dashboard-port, or 0 for any free one)`,
      );
      expect(cli.stderr).toContain('dashboard:    (not available: see the message above)');
      cli.signal('SIGINT');
      expect((await cli.exited).code).toBe(0);
    } finally {
      await stopServer(taken);
    }
  });

  it('refuses a damaged keys.json at once, naming it, with no stand-ins started', async () => {
    mkdirSync(data);
    writeFileSync(keysFile, '');
    const cli = local([]);
    expect((await cli.exited).code).toBe(1);
    expect(cli.stderr).toContain(`benchfleet local: ${keysFile} cannot be used (it is empty)`);
    expect(cli.stderr).not.toContain('Benchfleet local mode');
    expect(readdirSync(data).sort()).toEqual(['keys.json']); // no dynamodb/, s3/, lock left
  });

  it('serves with a new operator key when keys.json holds an empty one, and saves it', async () => {
    mkdirSync(data);
    writeFileSync(keysFile, JSON.stringify({ operator: '', runner: 'the-runner-key' }));
    const cli = local([]);
    const [, api, operator, runner] = await cli.waitFor(
      /API: +(\S+)[\s\S]*operator key: +(\S+)\n\s+runner key: +(\S+)\n[\s\S]*Serving until Ctrl-C/,
    );
    expect(operator).toMatch(/^[\w-]{32}$/);
    expect(runner).toBe('the-runner-key');
    expect(saved()).toEqual({ operator, runner });
    // the key works: the operator's POST /run/stop is authorised (no run: 404, not 401)
    const stop = (key: string) =>
      fetch(`${api}/run/stop`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
    expect((await stop('not-the-key')).status).toBe(401);
    expect((await stop(operator as string)).status).not.toBe(401);
    cli.signal('SIGINT');
    expect((await cli.exited).code).toBe(0);
  });
});
