// The command executor: a shell command in the task folder, given the out path and the task's
// settings in the environment; its output files and logs end up in the tarball.
import { execFileSync } from 'node:child_process';
import { MAX_ERROR_MESSAGE, storageKeys } from '../../lambdas/shared/contract';
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
  expect(t?.fail?.error_message).toMatch(/exited with status 3/);
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

it('names what failed, quotes the last stderr line and says where the logs are when no output.txt comes', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  // a crash as ruby-bench shows one: progress, then a backtrace, blank lines and colour codes at the end
  const command = [
    'echo "Running benchmark \\"fib\\" (1/2)"',
    'echo "early noise" >&2',
    `printf '\\033[31m./run_benchmarks.rb:42:in block in run: ${'boom '.repeat(60)}\\033[0m\\n\\n   \\n' >&2`,
    'exit 3',
  ].join('; ');
  const res = await startRunner(testRunner(api.url, { executor: 'command', command, slots: 1 }).input);
  expect(res.tasksFailed).toBe(1);
  const message = api.tasks[0]?.fail?.error_message ?? '';
  expect(message).toMatch(
    /^the --command exited with status 3 without writing output\.txt \(the last benchmark it started: fib\); the last line of its stderr: "\.\/run_benchmarks\.rb:42:in block in run: boom boom [^"]*…"; full logs: logs\/stderr\.log and logs\/stdout\.log in the task's error\.tar\.gz \(its error\/ folder in the run's results\.tar\.gz\)$/,
  );
  // the quoted line is capped (200 characters), the message is one line within the API's cap
  const quoted = /stderr: "([^"]*)"/.exec(message)?.[1] ?? '';
  expect(quoted).toHaveLength(200);
  expect(message).not.toContain('\n');
  expect(message.length).toBeLessThanOrEqual(MAX_ERROR_MESSAGE);
});

it('says the stderr was empty, and where the logs are kept, when an upload-less --debug task writes no output', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  api.putFail = () => 403; // error.tar.gz is refused: the logs stay only on the host (--debug keeps them)
  const r = testRunner(api.url, { executor: 'command', command: 'exit 0', slots: 1, debug: true });
  const res = await startRunner(r.input);
  expect(res.tasksFailed).toBe(1);
  expect(api.tasks[0]?.fail?.error_message).toMatch(
    new RegExp(
      `^the --command exited with status 0 without writing output\\.txt; its stderr was empty; full logs: ${r.workDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/task-[^ ]+/logs on the runner's host \\(kept by --debug\\); error\\.tar\\.gz was not uploaded$`,
    ),
  );
});
