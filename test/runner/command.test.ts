// The command executor: a shell command in the task folder, given the out path and the task's
// settings in the environment; its output files and logs end up in the tarball.
import { execFileSync } from 'node:child_process';
import { storageKeys } from '../../lambdas/shared/contract';
import { startRunner } from '../../runner/agent';
import { FakeApi, untar } from './fake-api';
import { testRunner } from './helpers';

let api: FakeApi;
afterEach(() => api.stop());

it('runs the command with the out path and benchmarks in its environment', async () => {
  api = await new FakeApi({
    tasks: 1,
    benchmarks: ['fib'],
    taskOver: { ruby_bench_env: { WARMUP_ITRS: 2 } },
  }).start();
  const command = [
    'echo "Running benchmark \\"$BENCHFLEET_BENCHMARKS\\" (1/1) warmup=$WARMUP_ITRS cpu=$BENCHFLEET_CPU"',
    'echo oops >&2',
    'printf "table\\n" > "$BENCHFLEET_OUT_PATH/output_001.txt"',
  ].join('; ');
  const res = await startRunner(testRunner(api.url, { executor: 'command', command, slots: 1 }).input);
  expect(res.tasksCompleted).toBe(1);
  const t = api.tasks[0];
  const files = await untar(
    api.objects.get(storageKeys.result(t?.task.run_id ?? 0, t?.task.id ?? 0)) as Buffer,
  );
  expect(files.get('output.txt')).toBe('table\n');
  expect(files.get('logs/stdout.log')).toBe('Running benchmark "fib" (1/1) warmup=2 cpu=0\n');
  expect(files.get('logs/stderr.log')).toBe('oops\n');
});

it('fails as benchmark_failed when the command writes no output.txt, keeping its logs', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  const res = await startRunner(
    testRunner(api.url, { executor: 'command', command: 'echo broken >&2; exit 3', slots: 1 }).input,
  );
  expect(res.tasksFailed).toBe(1);
  const t = api.tasks[0];
  expect(t?.fail).toMatchObject({ error_type: 'benchmark_failed' });
  expect(t?.fail?.error_message).toMatch(/exit status 3/);
  const files = await untar(
    api.objects.get(storageKeys.error(t?.task.run_id ?? 0, t?.task.id ?? 0)) as Buffer,
  );
  expect(files.get('logs/stderr.log')).toBe('broken\n');
  expect(JSON.parse(files.get('meta.json') ?? '')).toMatchObject({ exit_code: 3 });
});

it('kills the whole process tree on timeout', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  const t0 = Date.now();
  const res = await startRunner(
    testRunner(api.url, {
      executor: 'command',
      command: 'sleep 30 & sleep 30; wait',
      slots: 1,
      taskTimeoutS: 0.5,
    }).input,
  );
  expect(res.tasksFailed).toBe(1);
  expect(api.tasks[0]?.fail?.error_type).toBe('timeout');
  expect(Date.now() - t0).toBeLessThan(10_000);
});

it('completes a command that exits but leaves a process holding its output, and stops that process', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  const marker = `bf-leftover-${process.pid}-${Date.now()}`;
  const res = await startRunner(
    testRunner(api.url, {
      executor: 'command',
      // the leftover is named by its argument, so the test can look for it afterwards
      command: `sh -c 'sleep 30; echo ${marker}' & echo "fib 1.0" > "$BENCHFLEET_OUT_PATH/output_001.txt"; exit 0`,
      slots: 1,
      taskTimeoutS: 20,
    }).input,
  );
  expect(res.tasksCompleted).toBe(1);
  expect(api.tasks[0]?.status).toBe('completed');
  const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(marker) && !l.includes('ps -eo'));
  expect(left).toEqual([]);
});
