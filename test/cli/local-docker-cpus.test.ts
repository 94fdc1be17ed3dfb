// `benchfleet local --workload docker` runs one in-process runner per instance type on this one
// machine, each pinning its containers to CPUs with cpuset: no two containers may be pinned to the
// same CPU at the same time, or both measure each other with nothing in meta.json to say so. Each
// runner gets CPUs of its own, and types beyond what the CPUs can share out take turns. The engine
// is the fake (test/runner/fake-docker.ts), its containers made to run long enough to overlap.

import { writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { readTopology } from '../../runner/topology';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp-dir';
import { type FakeContainer, FakeDocker } from '../runner/fake-docker';

/** How long each fake container runs: long enough for the slots of two runners to overlap. */
let runMs = 1500;

interface Ran {
  host: string;
  cpuset: string;
  start: number;
  end: number;
}

let engine: FakeDocker;
let ran: Map<string, Ran>;

beforeEach(async () => {
  runMs = 1500;
  engine = await new FakeDocker().start();
  ran = new Map();
  // the fake's handlers are private: wrapped here to see each container's cpuset and run time
  const fake = engine as unknown as {
    handle(method: string, url: string, body: Buffer, res: ServerResponse): void;
    exit(c: FakeContainer, code: number): void;
  };
  const handle = fake.handle.bind(engine);
  const exit = fake.exit.bind(engine);
  fake.handle = (method, url, body, res) => {
    const path = new URL(url, 'http://x').pathname.replace(/^\/v[\d.]+/, '');
    if (path === '/_ping') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('OK');
      return;
    }
    const before = new Set(engine.containers.keys());
    handle(method, url, body, res);
    if (path === '/containers/create') {
      const id = [...engine.containers.keys()].find((k) => !before.has(k)) ?? '';
      const spec = JSON.parse(body.toString('utf8')) as {
        Labels: Record<string, string>;
        HostConfig: { CpusetCpus: string };
      };
      const host = spec.Labels['benchfleet.host'] ?? '';
      ran.set(id, { host, cpuset: spec.HostConfig.CpusetCpus, start: 0, end: 0 });
    }
    const started = /^\/containers\/([^/]+)\/start$/.exec(path)?.[1];
    const r = started ? ran.get(started) : undefined;
    if (r) r.start = Date.now();
  };
  fake.exit = (c, code) => {
    const r = ran.get(c.Id);
    const left = r ? Math.max(0, r.start + runMs - Date.now()) : 0;
    setTimeout(() => {
      if (r && !r.end) r.end = Date.now();
      exit(c, code);
    }, left);
  };
});
afterEach(() => engine.stop());

/** One `benchfleet local --workload docker` on the fake engine, to its end. */
function startLocal(
  types: string[],
  slots: number,
  more: { config?: object; args?: string[] } = {},
): ReturnType<typeof runCli> {
  const dir = tempDir('bf-docker-cpus-');
  const config = join(dir, 'run.json');
  const cfg = { ruby_version: '3.4.7', runs_per_instance_type: 2, local: types, benchmarks: ['fib'] };
  writeFileSync(config, JSON.stringify({ ...cfg, ...more.config }));
  return runCli(
    [
      'local',
      '--config',
      config,
      '--workload',
      'docker',
      '--image',
      'fake:image',
      '--slots',
      String(slots),
      '--results-dir',
      join(dir, 'results'),
      ...(more.args ?? []),
    ],
    { BENCHFLEET_DOCKER_HOST: engine.host },
  );
}

/** startLocal(), which must complete every task; answers the containers that ran. */
async function runLocal(
  types: string[],
  slots: number,
  more: { config?: object; args?: string[] } = {},
): Promise<{ stderr: string; containers: Ran[] }> {
  const out = await startLocal(types, slots, more);
  expectAllCompleted(out, types.length * 2);
  const containers = [...ran.values()];
  expect(containers).toHaveLength(types.length * 2);
  for (const c of containers) expect(c.end).toBeGreaterThan(c.start);
  return { stderr: out.stderr, containers };
}

function expectAllCompleted(out: { code: number | null; stderr: string }, tasks: number): void {
  expect(out.stderr).toContain('== done ==');
  expect(out.code).toBe(0);
  expect(out.stderr).toContain(`tasks:     ${tasks} completed, 0 failed`);
}

const overlap = (a: Ran, b: Ran): boolean => a.start < b.end && b.start < a.end;

/** Every two containers that ran at the same time were pinned to different CPUs. */
function expectNoSharedCpu(containers: Ran[]): void {
  const clashes = containers.flatMap((a, i) =>
    containers
      .slice(i + 1)
      .filter((b) => b.cpuset === a.cpuset && overlap(a, b))
      .map((b) => `${a.host} and ${b.host} both on CPU ${a.cpuset}`),
  );
  expect(clashes).toEqual([]);
}

const hostCpus = readTopology();

it('gives each local runner CPUs of its own, so no two containers share a CPU at once', async () => {
  const { stderr, containers } = await runLocal(['a', 'b'], 1);
  expectNoSharedCpu(containers);
  const cpusOf = (host: string): Set<string> =>
    new Set(containers.filter((c) => c.host.startsWith(`${host}-`)).map((c) => c.cpuset));
  const [a, b] = [cpusOf('local-a'), cpusOf('local-b')];
  expect([...a].filter((cpu) => b.has(cpu))).toEqual([]);
  if (hostCpus.physicalCores >= 2) {
    // both ran at once, each on its own CPU, and the start says which
    expect(containers.some((x) => containers.some((y) => x.host !== y.host && overlap(x, y)))).toBe(true);
    expect(stderr).toMatch(/^ {2}CPUs: +a on [\d,-]+; b on [\d,-]+$/m);
  }
}, 180_000);

it('has the types take turns when the CPUs cannot hold both runners at once', async () => {
  // every CPU is a slot of one runner: the second type waits for the first to finish, longer than
  // the config's pending_timeout_minutes (3 s), which must not fail it as no_runner meanwhile
  runMs = 4000;
  const { stderr, containers } = await runLocal(['a', 'b'], hostCpus.cpus.length, {
    config: { pending_timeout_minutes: 0.05 },
    args: ['--reaper-interval-s', '1'],
  });
  expectNoSharedCpu(containers);
  // host ids are local-<type>-<data dir hash>
  const a = containers.filter((c) => c.host.startsWith('local-a-'));
  const b = containers.filter((c) => c.host.startsWith('local-b-'));
  expect(a.some((x) => b.some((y) => overlap(x, y)))).toBe(false);
  expect(stderr).toMatch(/^ {2}CPUs: +2 types take turns, 1 at a time /m);
}, 180_000);

it('leaves the running containers of another `benchfleet local` on the same engine alone', async () => {
  // A docker runner's start-up force-removes the containers labelled with its host id: those a
  // killed `benchfleet local` left. Two at once, with the same instance type, must not take each
  // other's for those: the second starts while the first's containers run.
  runMs = 4000;
  const first = startLocal(['a'], 1);
  for (const deadline = Date.now() + 60_000; ![...ran.values()].some((c) => c.start > 0); ) {
    if (Date.now() > deadline) throw new Error('the first run started no container');
    await new Promise((r) => setTimeout(r, 50));
  }
  const second = startLocal(['a'], 1);
  const [a, b] = await Promise.all([first, second]);
  expectAllCompleted(a, 2);
  expectAllCompleted(b, 2);
  const hosts = new Set([...ran.values()].map((c) => c.host));
  expect(hosts.size).toBe(2);
  for (const host of hosts) expect(host).toMatch(/^local-a-[0-9a-f]{8}$/);
  expect([...ran.values()].every((c) => c.end > c.start)).toBe(true);
}, 180_000);
