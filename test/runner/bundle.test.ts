// The shipped artifact: dist/runner.js built by scripts/build-runner.mjs, run with plain `node`,
// configured through BENCHFLEET_* variables as cloud-init does, and stopped with SIGTERM.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { storageKeys } from '../../lambdas/shared/contract';
import { version } from '../../package.json';
import { sourceCommit } from '../helpers/source-commit';
import { tempDir } from '../helpers/temp-dir';
import { FakeApi, untar } from './fake-api';
import { ENGINE_HOST_ID, waitFor } from './helpers';

const ROOT = join(__dirname, '..', '..');
const bundle = join(tempDir('bf-bundle-'), 'runner.js');
let api: FakeApi | undefined;

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-runner.mjs'), '--outfile', bundle], {
    stdio: 'pipe',
  });
});
afterEach(async () => {
  await api?.stop();
});

function runBundle(
  env: Record<string, string>,
  args: string[] = [],
): { child: ChildProcess; exit: Promise<number>; out: () => string } {
  let out = '';
  const child = spawn(process.execPath, [bundle, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const exit = new Promise<number>((resolve) =>
    child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : 1))),
  );
  return { child, exit, out: () => out };
}

const baseEnv = (url: string): Record<string, string> => ({
  BENCHFLEET_API_URL: url,
  BENCHFLEET_API_KEY: 'k',
  BENCHFLEET_PROVIDER: 'local',
  BENCHFLEET_INSTANCE_TYPE: 'fake.small',
  BENCHFLEET_EXECUTOR: 'synthetic',
  BENCHFLEET_SYNTHETIC_SIZE: '0',
  BENCHFLEET_HOST_ID: 'bundle',
  BENCHFLEET_HEARTBEAT_S: '0.2',
  BENCHFLEET_WORK_DIR: tempDir('bf-bundle-work-'),
});

describe('dist/runner.js', () => {
  it('documents every flag in --help', () => {
    const help = execFileSync(process.execPath, [bundle, '--help'], { encoding: 'utf8' });
    for (const flag of [
      '--api ',
      '--api-key',
      '--slots',
      '--executor',
      '--ruby-bench-dir',
      '--shutdown-command',
      '--max-retry-s',
    ]) {
      expect(help).toContain(flag);
    }
    expect(help).toContain('BENCHFLEET_API_URL');
  });

  it('drains tasks configured only by BENCHFLEET_* variables, logging JSON lines', async () => {
    api = await new FakeApi({ tasks: 3 }).start();
    const r = runBundle({ ...baseEnv(api.url), BENCHFLEET_SLOTS: '2', BENCHFLEET_JSON: 'true' });
    expect(await r.exit).toBe(0);
    expect(api.tasks.every((t) => t.status === 'completed')).toBe(true);
    const lines = r
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; level: string });
    expect(lines.some((l) => /all slots exited: 3 completed/.test(l.msg))).toBe(true);
    expect(new Set(api.tasks.map((t) => t.runnerId))).toEqual(new Set(['bundle-0', 'bundle-1']));
    // the bundle carries the package version and the commit it was built from (this checkout's),
    // and each meta.json says which host ran it
    const first = api.tasks[0]!;
    const files = await untar(
      api.objects.get(storageKeys.result(first.task.run_id, first.task.id)) as Buffer,
    );
    expect(JSON.parse(files.get('meta.json') ?? '')).toMatchObject({
      host_id: 'bundle',
      runner_version: `${version}+${sourceCommit()}`,
      busy_slots_max: expect.any(Number),
    });
  });

  it('on SIGTERM fails the in-flight task as interrupted and exits 143', async () => {
    api = await new FakeApi({ tasks: 2 }).start();
    const fake = api;
    const r = runBundle({ ...baseEnv(api.url), BENCHFLEET_SYNTHETIC_SIZE: '1000' }, ['--slots', '1']);
    await waitFor(
      () => fake.tasks[0]?.heartbeats.some((h) => h.status === 'running') ?? false,
      20_000,
      'running',
    );
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(143);
    expect(api.tasks[0]?.fail).toMatchObject({ error_type: 'interrupted', attempt: 1 });
    expect(api.tasks[1]?.status).toBe('pending');
  });

  it('exits 2 with a clear message on a bad flag combination', async () => {
    const r = runBundle({ ...baseEnv('http://127.0.0.1:9'), BENCHFLEET_EXECUTOR: 'command' });
    expect(await r.exit).toBe(2);
    expect(r.out()).toMatch(/--executor command needs --command CMD/);
  });
});

const dockerHost = process.env.BENCHFLEET_DOCKER_HOST;
// dockerode's SSH, gRPC and protobuf parts are stubbed out of the bundle: prove the rest still runs containers.
(dockerHost || process.env.CI ? it : it.skip)(
  'runs a task through the Docker engine from the bundle',
  async () => {
    if (!dockerHost)
      throw new Error('CI is set but BENCHFLEET_DOCKER_HOST is not: source scripts/ci/20-docker.sh');
    api = await new FakeApi({ tasks: 1, benchmarks: ['fib'] }).start();
    const rb = tempDir('bf-rb-');
    chmodSync(rb, 0o755);
    const script =
      '#!/bin/sh\nfor a in "$@"; do case "$a" in --out_path=*) o="$(printf %s "$a" | cut -d= -f2-)";; esac; done\n' +
      'echo \'Running benchmark "fib" (1/1)\'\nprintf "ruby: x\\n\\n-  -\\nbench  ruby (ms)\\nfib  1.0 ± 0.0%%\\n-  -\\n" > "$o/output_001.txt"\n';
    writeFileSync(join(rb, 'run_benchmarks.rb'), script, { mode: 0o755 });
    const r = runBundle({
      ...baseEnv(api.url),
      BENCHFLEET_EXECUTOR: 'docker',
      BENCHFLEET_DOCKER_HOST: dockerHost ?? '',
      BENCHFLEET_IMAGE: process.env.BENCHFLEET_TEST_IMAGE ?? 'benchfleet-test-base:bookworm',
      BENCHFLEET_RUBY_BENCH_DIR: rb,
      BENCHFLEET_SLOTS: '1',
      BENCHFLEET_HOST_ID: ENGINE_HOST_ID,
    });
    expect(await r.exit).toBe(0);
    expect(api.tasks[0]?.status).toBe('completed');
  },
);
