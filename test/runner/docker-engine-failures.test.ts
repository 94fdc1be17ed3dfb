// Containers and engines that fail from outside the runner: a container killed (the OOM killer,
// `docker kill`, a Docker engine restart) is the host's trouble, docker_error (retried, counted
// toward the host's back-off), not benchmark_failed; an engine that stops answering fails the task
// as docker_error within a few checks, not at --task-timeout-s as timeout.
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storageKeys } from '../../lambdas/shared/contract';
import { startRunner } from '../../runner/agent';
import { dockerClient } from '../../runner/executors/docker';
import { standIn } from '../helpers/ruby-bench-stand-in';
import { FakeApi, untar } from './fake-api';
import { FakeDocker } from './fake-docker';
import { ENGINE_HOST_ID, testRunner, waitFor } from './helpers';

let api: FakeApi | undefined;
let engine: FakeDocker | undefined;
afterEach(async () => {
  await api?.stop();
  await engine?.stop();
  api = undefined;
  engine = undefined;
});

/** Kills the task's container from outside, as `docker kill` would, once it runs. */
async function killWhenRunning(e: FakeDocker): Promise<void> {
  await waitFor(() => e.calls.some((c) => /^POST \/containers\/[^/]+\/start$/.test(c)), 20_000, 'the start');
  const [c] = e.containers.values();
  await dockerClient(e.host)
    .getContainer(c?.Id ?? '')
    .kill();
}

it('fails a container killed from outside as docker_error, saying so', async () => {
  api = await new FakeApi({ tasks: 1, benchmarks: ['fib'] }).start();
  engine = await new FakeDocker().start();
  engine.hold = true;
  const r = testRunner(api.url, { executor: 'docker', dockerHost: engine.host, image: 'x', slots: 1 });
  const [res] = await Promise.all([startRunner(r.input), killWhenRunning(engine)]);
  expect(res.tasksFailed).toBe(1);
  expect(api.tasks[0]?.fail?.error_type).toBe('docker_error');
  expect(api.tasks[0]?.fail?.error_message).toMatch(/killed by SIGKILL from outside the runner/);
});

it('fails a container ended by the OOM killer as docker_error, naming it', async () => {
  api = await new FakeApi({ tasks: 1, benchmarks: ['fib'] }).start();
  engine = await new FakeDocker().start();
  engine.hold = true;
  engine.oomKilled = true;
  const r = testRunner(api.url, { executor: 'docker', dockerHost: engine.host, image: 'x', slots: 1 });
  const [res] = await Promise.all([startRunner(r.input), killWhenRunning(engine)]);
  expect(res.tasksFailed).toBe(1);
  expect(api.tasks[0]?.fail?.error_type).toBe('docker_error');
  expect(api.tasks[0]?.fail?.error_message).toMatch(/OOM killer/);
});

describe('a benchmark process killed for memory inside a container that exits by itself (Docker flags OOMKilled)', () => {
  it("completes the task with the other benchmarks' results, the reason in stderr.log", async () => {
    api = await new FakeApi({ tasks: 1, benchmarks: ['fib'] }).start();
    engine = await new FakeDocker().start();
    engine.oomKilled = true;
    engine.exitStatus = 1; // ruby-bench: one benchmark failed, the others ran
    const r = testRunner(api.url, {
      executor: 'docker',
      dockerHost: engine.host,
      image: 'x',
      slots: 1,
    });
    const res = await startRunner(r.input);
    expect(res.tasksCompleted).toBe(1);
    const t = api.tasks[0];
    expect(t?.fail).toBeUndefined();
    const files = await untar(
      api.objects.get(storageKeys.result(t?.task.run_id ?? 0, t?.task.id ?? 0)) as Buffer,
    );
    expect(files.get('output.txt')).toContain('fib');
    expect(JSON.parse(files.get('meta.json') ?? '{}')).toMatchObject({ exit_code: 1 });
    expect(files.get('logs/stderr.log')).toContain(
      "benchfleet: a process in the container was killed by the kernel's OOM killer (out of memory), and ruby-bench exited with status 1; the other benchmarks' results are kept",
    );
    expect(r.lines.join('\n')).toMatch(
      /a process in the container was killed by the kernel's OOM killer \(out of memory\), and ruby-bench exited with status 1; the task completes/,
    );
  });

  it('without output: docker_error, saying a process was killed for memory', async () => {
    api = await new FakeApi({ tasks: 1, benchmarks: ['fib'] }).start();
    engine = await new FakeDocker().start();
    engine.oomKilled = true;
    engine.exitStatus = 1;
    engine.writesOutput = false;
    const r = testRunner(api.url, { executor: 'docker', dockerHost: engine.host, image: 'x', slots: 1 });
    const res = await startRunner(r.input);
    expect(res.tasksFailed).toBe(1);
    expect(api.tasks[0]?.fail?.error_type).toBe('docker_error');
    expect(api.tasks[0]?.fail?.error_message).toMatch(
      /a process in the container was killed by the kernel's OOM killer/,
    );
  });
});

it('fails as docker_error when the engine takes the connection but never answers', async () => {
  const sock = join(tmpdir(), `bf-hung-docker-${process.pid}.sock`);
  const conns: Socket[] = [];
  const srv = createServer((c) => {
    conns.push(c);
    c.resume();
  });
  await new Promise<void>((r) => srv.listen(sock, r));
  try {
    api = await new FakeApi({ tasks: 1 }).start();
    const r = testRunner(api.url, {
      executor: 'docker',
      slots: 1,
      dockerHost: `unix://${sock}`,
      dockerCallTimeoutS: 0.5,
      taskTimeoutS: 60,
    });
    const t0 = Date.now();
    const res = await startRunner(r.input);
    expect(res.tasksFailed).toBe(1);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(api.tasks[0]?.fail?.error_type).toBe('docker_error');
    expect(api.tasks[0]?.fail?.error_message).toMatch(/did not answer within 0.5 s/);
    // each call given up is cut off too: no request, and no socket, left waiting on the engine
    expect(conns.length).toBeGreaterThan(0);
    for (let i = 0; i < 100 && conns.some((c) => !c.destroyed); i++)
      await new Promise((w) => setTimeout(w, 20));
    expect(conns.filter((c) => !c.destroyed).length).toBe(0);
  } finally {
    for (const c of conns) c.destroy();
    await new Promise((r) => srv.close(r));
  }
});

it('fails as docker_error when the engine stops answering while the container runs', async () => {
  api = await new FakeApi({ tasks: 1, benchmarks: ['fib'] }).start();
  engine = await new FakeDocker().start();
  engine.hold = true;
  const e = engine;
  e.onCall = (call) => {
    // the engine hangs (dockerd killed, or stuck) once the container runs
    if (/^POST \/containers\/[^/]+\/start$/.test(call)) setTimeout(() => (e.hang = true), 100);
  };
  const r = testRunner(api.url, {
    executor: 'docker',
    dockerHost: e.host,
    image: 'x',
    slots: 1,
    taskTimeoutS: 60,
    dockerPingS: 0.2,
    dockerCallTimeoutS: 0.3,
    executorGraceS: 2,
  });
  const t0 = Date.now();
  const res = await startRunner(r.input);
  expect(res.tasksFailed).toBe(1);
  expect(Date.now() - t0).toBeLessThan(15_000);
  expect(api.tasks[0]?.fail?.error_type).toBe('docker_error');
  expect(api.tasks[0]?.fail?.error_message).toMatch(/the Docker engine stopped answering/);
});

const host = process.env.BENCHFLEET_DOCKER_HOST;
const image = process.env.BENCHFLEET_TEST_IMAGE ?? 'benchfleet-test-base:bookworm';
const onEngine = host || process.env.CI ? it : it.skip;

onEngine(
  'fails a container `docker kill`ed on a real engine as docker_error',
  async () => {
    if (!host) throw new Error('CI is set but BENCHFLEET_DOCKER_HOST is not: source scripts/ci/20-docker.sh');
    api = await new FakeApi({
      tasks: 1,
      benchmarks: ['fib'],
      taskOver: { ruby_bench_env: { MIN_BENCH_TIME: 60 } },
    }).start();
    const r = testRunner(api.url, {
      executor: 'docker',
      dockerHost: host,
      image,
      rubyBenchDir: standIn(),
      slots: 1,
      hostId: ENGINE_HOST_ID,
    });
    const done = startRunner(r.input);
    const task = api.tasks[0];
    await waitFor(() => task?.heartbeats.some((b) => b.status === 'running') ?? false, 30_000, 'running');
    const docker = dockerClient(host);
    const [c] = await docker.listContainers({ filters: { label: [`benchfleet.task=${task?.task.id}`] } });
    await docker.getContainer(c?.Id ?? '').kill();
    const res = await done;
    expect(res.tasksFailed).toBe(1);
    expect(task?.fail?.error_type).toBe('docker_error');
    expect(task?.fail?.error_message).toMatch(/killed by SIGKILL/);
  },
  60_000,
);

it.each([
  [404, 'the engine has no bridge network: the container runs without one'],
  [500, 'the bridge cannot be inspected: docker_error, not a container with no network'],
] as const)('bridge inspect %p (%s)', async (status, _why) => {
  api = await new FakeApi({ tasks: 1, benchmarks: ['fib'] }).start();
  engine = await new FakeDocker().start();
  engine.bridge = status;
  const r = testRunner(api.url, { executor: 'docker', dockerHost: engine.host, image: 'x', slots: 1 });
  await startRunner(r.input);
  if (status === 404) {
    expect(engine.networkModes).toEqual(['none']);
    expect(api.tasks[0]?.fail).toBeUndefined();
  } else {
    expect(engine.networkModes).toEqual([]);
    expect(api.tasks[0]?.fail?.error_type).toBe('docker_error');
    expect(api.tasks[0]?.fail?.error_message).toMatch(/cannot create the container: .*engine trouble/);
  }
});
