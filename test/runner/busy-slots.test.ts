// meta.json says where each run ran and what ran beside it: the host, how many of the runner's
// slots were running a benchmark when its own started and at most while it ran, the OS, kernel and
// the runner's version. A large type's runs share a VM; a small type's may each have one alone.
import { release } from 'node:os';
import { RunnerMeta, storageKeys } from '../../lambdas/shared/contract';
import { version } from '../../package.json';
import { startRunner } from '../../runner/agent';
import { BusySlots } from '../../runner/busy-slots';
import { SyntheticExecutor } from '../../runner/executors/synthetic';
import type { ExecContext, ExecResult, Executor } from '../../runner/executors/types';
import type { CpuTopology } from '../../runner/topology';
import { FakeApi, untar } from './fake-api';
import { testRunner } from './helpers';

let api: FakeApi;
afterEach(async () => {
  await api?.stop();
});

const threeCpus: CpuTopology = {
  cpus: [0, 1, 2],
  siblings: new Map([
    [0, [0]],
    [1, [1]],
    [2, [2]],
  ]),
  physicalCores: 3,
};

/** The synthetic workload, whose benchmarks end only once `n` of them have started on the host. */
function togetherExecutor(n: number): Executor {
  const synthetic = new SyntheticExecutor({ size: 0 });
  let started = 0;
  let release: () => void = () => undefined;
  const allStarted = new Promise<void>((r) => {
    release = r;
  });
  return {
    name: 'together',
    async run(ctx: ExecContext): Promise<ExecResult> {
      const onStatus: ExecContext['onStatus'] = (status, message) => {
        ctx.onStatus(status, message);
        if (status === 'running' && ++started === n) release();
      };
      const result = await synthetic.run({ ...ctx, onStatus });
      await allStarted;
      return result;
    },
  };
}

async function metas(): Promise<RunnerMeta[]> {
  const out: RunnerMeta[] = [];
  for (const t of api.tasks) {
    const files = await untar(api.objects.get(storageKeys.result(t.task.run_id, t.task.id)) as Buffer);
    out.push(RunnerMeta.strict().parse(JSON.parse(files.get('meta.json') ?? '')));
  }
  return out;
}

it('records three benchmarks side by side on one host: each saw 3 busy slots at most', async () => {
  api = await new FakeApi({ tasks: 3 }).start();
  const r = testRunner(api.url, { slots: 3, topology: threeCpus, executorOverride: togetherExecutor(3) });
  expect(await startRunner(r.input)).toMatchObject({ exitCode: 0, tasksCompleted: 3 });
  const all = await metas();
  for (const meta of all) {
    expect(meta).toMatchObject({
      runner_id: expect.stringMatching(/^testhost-[0-2]$/),
      host_id: 'testhost',
      busy_slots_max: 3,
      runner_version: version,
      kernel: release(),
    });
    expect(meta.os === null || typeof meta.os === 'string').toBe(true);
  }
  // they started one after the other: the first alone, the last beside the other two
  expect(all.map((m) => m.busy_slots_at_start).sort()).toEqual([1, 2, 3]);
});

it('records a run that had the host to itself: 1 busy slot at its start and at most', async () => {
  api = await new FakeApi({ tasks: 2 }).start();
  const r = testRunner(api.url, { slots: 1 });
  expect(await startRunner(r.input)).toMatchObject({ exitCode: 0, tasksCompleted: 2 });
  for (const meta of await metas()) {
    expect(meta).toMatchObject({
      runner_id: 'testhost-0',
      host_id: 'testhost',
      busy_slots_at_start: 1,
      busy_slots_max: 1,
      runner_version: version,
    });
  }
});

it('writes null counts for a task whose benchmark never started', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  const noStart: Executor = {
    name: 'no-start',
    run: () => Promise.reject(new Error('the workload could not be prepared')),
  };
  const r = testRunner(api.url, { slots: 1, executorOverride: noStart });
  expect(await startRunner(r.input)).toMatchObject({ tasksFailed: 1 });
  const key = storageKeys.error(api.tasks[0]!.task.run_id, api.tasks[0]!.task.id);
  const files = await untar(api.objects.get(key) as Buffer);
  expect(JSON.parse(files.get('meta.json') ?? '')).toMatchObject({
    host_id: 'testhost',
    busy_slots_at_start: null,
    busy_slots_max: null,
  });
});

describe('BusySlots', () => {
  it('counts a slot from its start to its end, and raises the max of every benchmark running', () => {
    const slots = new BusySlots();
    const a = slots.start(0);
    const b = slots.start(1);
    b.end();
    const c = slots.start(2);
    expect([a.atStart, a.max]).toEqual([1, 2]);
    expect([b.atStart, b.max]).toEqual([2, 2]); // ended before c started
    expect([c.atStart, c.max]).toEqual([2, 2]);
    a.end();
    a.end(); // twice is once
    c.end();
    expect(slots.start(3).atStart).toBe(1);
  });
});

it('parses a meta.json written before these fields (and before image_digest and ruby_bench_commit)', () => {
  const older = {
    runner_id: 'i-0abc-0',
    provider: 'aws',
    instance_type: 'c7a.large',
    task_id: 170000000000001,
    run: 1,
    attempt: 1,
    cpu_model: 'AMD EPYC 9R14',
    vcpus: 2,
    physical_cores: 2,
    memory_mb: 3840,
    kernel: '6.1.0',
    os: 'Amazon Linux 2023',
    arch: 'x86_64',
    docker_version: '25.0.8',
    image: 'ruby:3.4.7',
    ruby_description: 'ruby 3.4.7',
    ruby_bench_ref: 'main',
    slot_cpu: 0,
    sibling_busy: false,
    started_at: '2026-11-20T10:00:00Z',
    finished_at: '2026-11-20T10:20:00Z',
    exit_code: 0,
  };
  expect(RunnerMeta.strict().parse(older)).toEqual(older);
});
