// The Docker executor against a real engine (scripts/ci/20-docker.sh starts one on a private socket
// and imports an offline Debian image). A shell stand-in for ruby-bench is mounted in place of the
// clone: it prints progress and its CPU set, writes ruby-bench's files, and sleeps MIN_BENCH_TIME s.
import { RunnerMeta, storageKeys } from '../../lambdas/shared/contract';
import { startRunner } from '../../runner/agent';
import { dockerClient } from '../../runner/executors/docker';
import { standIn } from '../helpers/ruby-bench-stand-in';
import { FakeApi, untar } from './fake-api';
import { ENGINE_HOST_ID, testRunner } from './helpers';

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

it('fails a task as docker_error when no engine answers, naming the socket tried and what to do', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  const r = testRunner(api.url, {
    executor: 'docker',
    slots: 1,
    dockerHost: 'unix:///nonexistent/docker.sock',
  });
  const res = await startRunner(r.input);
  expect(res.tasksFailed).toBe(1);
  expect(api.tasks[0]?.fail?.error_type).toBe('docker_error');
  const message = api.tasks[0]?.fail?.error_message ?? '';
  expect(message).toMatch(
    /^the Docker engine does not answer at unix:\/\/\/nonexistent\/docker\.sock \(given by --docker-host\): connect ENOENT \/nonexistent\/docker\.sock; /,
  );
  expect(message).toContain('start dockerd');
  expect(message).toContain('point --docker-host (or BENCHFLEET_DOCKER_HOST) at its socket');
  // the start-up sweep, the first thing to fail, says the same
  expect(r.lines.join('\n')).toMatch(
    /cannot look for containers left by an earlier runner: the Docker engine does not answer at unix:\/\/\/nonexistent\/docker\.sock .*start dockerd/,
  );
});

const host = process.env.BENCHFLEET_DOCKER_HOST;
const image = process.env.BENCHFLEET_TEST_IMAGE ?? 'benchfleet-test-base:bookworm';
// In CI the engine is required: the suite fails rather than skips. Elsewhere it needs the engine's address.
const describeEngine = host || process.env.CI ? describe : describe.skip;

describeEngine('docker executor on a real engine', () => {
  beforeAll(async () => {
    if (!host) throw new Error('CI is set but BENCHFLEET_DOCKER_HOST is not: source scripts/ci/20-docker.sh');
    await dockerClient(host).ping();
    await dockerClient(host).getImage(image).inspect();
  });

  const run = (over: Parameters<typeof testRunner>[1]) =>
    testRunner(api?.url ?? '', {
      executor: 'docker',
      dockerHost: host,
      image,
      rubyBenchDir: standIn(),
      hostId: ENGINE_HOST_ID,
      ...over,
    });

  it('runs each task in a container pinned to its slot CPU, with logs and outputs in the tarball', async () => {
    // 1 s per benchmark: the runner sends a changed status within 1 s (heartbeats 0.2 s apart), so
    // the 'running' heartbeat lands while the container still runs, however busy the machine.
    api = await new FakeApi({
      tasks: 2,
      benchmarks: ['fib', 'nbody'],
      taskOver: { ruby_bench_env: { MIN_BENCH_TIME: 1 } },
    }).start();
    const res = await startRunner(run({ slots: 2 }).input);
    expect(res).toMatchObject({ tasksCompleted: 2, tasksFailed: 0 });
    for (const t of api.tasks) {
      const files = await untar(api.objects.get(storageKeys.result(t.task.run_id, t.task.id)) as Buffer);
      const meta = RunnerMeta.parse(JSON.parse(files.get('meta.json') ?? ''));
      expect(meta).toMatchObject({ image, exit_code: 0, ruby_description: 'stand-in ruby 0.0' });
      expect(meta.docker_version).toMatch(/^\d+\./);
      const stdout = files.get('logs/stdout.log') ?? '';
      expect(stdout).toContain('--no-sudo --no-pinning --out_path=/results fib nbody');
      expect(stdout).toMatch(new RegExp(`Cpus_allowed_list:\\s+${meta.slot_cpu}\\n`));
      expect(files.get('logs/stderr.log')).toBe('a line on stderr\n');
      expect(files.get('output.txt')).toMatch(/nbody {2}1\.0 ± 0\.0%/);
      expect(t.heartbeats.map((h) => h.status)).toContain('running');
    }
    expect(new Set(api.tasks.map((t) => t.runnerId))).toEqual(
      new Set([`${ENGINE_HOST_ID}-0`, `${ENGINE_HOST_ID}-1`]),
    );
  });

  it('kills a container that passes the task timeout and fails the task as timeout', async () => {
    api = await new FakeApi({
      tasks: 1,
      benchmarks: ['fib'],
      taskOver: { ruby_bench_env: { MIN_BENCH_TIME: 60 } },
    }).start();
    const t0 = Date.now();
    const res = await startRunner(run({ slots: 1, taskTimeoutS: 2 }).input);
    expect(res.tasksFailed).toBe(1);
    expect(api.tasks[0]?.fail?.error_type).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(30_000);
    const left = await dockerClient(host).listContainers({
      all: true,
      filters: { label: ['benchfleet.task'] },
    });
    expect(left).toEqual([]);
  });

  it('stops the container within one heartbeat of an abort and fails the task as cancelled', async () => {
    api = await new FakeApi({
      tasks: 1,
      benchmarks: ['fib'],
      taskOver: { ruby_bench_env: { MIN_BENCH_TIME: 60 } },
    }).start();
    const fake = api;
    fake.onHeartbeat = (t, hb) => {
      if (hb.status === 'running') fake.cancel(t.task.id);
    };
    const t0 = Date.now();
    const r = run({ slots: 1, heartbeatS: 1 });
    const res = await startRunner(r.input);
    expect(res).toMatchObject({ tasksFailed: 0, tasksCancelled: 1 });
    expect(api.tasks[0]?.status).toBe('cancelled');
    expect(r.lines.join('\n')).toMatch(/heartbeat with abort/);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('completes with the partial results when ruby-bench exits 1 after writing its files', async () => {
    api = await new FakeApi({
      tasks: 1,
      benchmarks: ['fib'],
      taskOver: { ruby_bench_env: { WARMUP_ITRS: 1 } },
    }).start();
    const res = await startRunner(run({ slots: 1 }).input);
    expect(res.tasksCompleted).toBe(1);
    const t = api.tasks[0];
    const files = await untar(
      api.objects.get(storageKeys.result(t?.task.run_id ?? 0, t?.task.id ?? 0)) as Buffer,
    );
    expect(JSON.parse(files.get('meta.json') ?? '')).toMatchObject({ exit_code: 1 });
  });

  it('fails as provision_failed, which is retried, when ruby-bench cannot be fetched in the container', async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    const res = await startRunner(
      run({ slots: 1, rubyBenchDir: undefined, rubyBenchRepo: 'file:///nonexistent/ruby-bench.git' }).input,
    );
    expect(res.tasksFailed).toBe(1);
    expect(api.tasks[0]?.fail).toMatchObject({ error_type: 'provision_failed' });
    // with what the container said (this image has no git: "sh: 4: git: not found"; see
    // git-said.test.ts for git's own words)
    expect(api.tasks[0]?.fail?.error_message).toMatch(
      /^cannot fetch ruby-bench .* from file:\/\/\/nonexistent\/ruby-bench\.git in the container \(git clone or checkout failed: ".*git.*"; see logs\/stderr\.log\)$/,
    );
  });

  it('fails as provision_failed when an absent image cannot be pulled', async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    const res = await startRunner(run({ slots: 1, image: 'benchfleet-absent/nothing:none' }).input);
    expect(res.tasksFailed).toBe(1);
    expect(api.tasks[0]?.fail?.error_type).toBe('provision_failed');
  });
});
