// What a `command` may not keep: the runner's key (the command's output goes into the uploaded
// logs, which operators and the site read) and processes left behind after it exits (they would
// share the slot's CPU with the next task).
import { execFileSync } from 'node:child_process';
import { storageKeys } from '../../lambdas/shared/contract';
import { startRunner } from '../../runner/agent';
import { FakeApi, untar } from './fake-api';
import { testRunner } from './helpers';

let api: FakeApi;
afterEach(() => api.stop());

const writeOutput = 'echo "fib 1.0" > "$BENCHFLEET_OUT_PATH/output_001.txt"';

it('hides the runner key and the runner settings from the command', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  const saved = { ...process.env };
  // as the AWS user data and the Azure cloud-init pass it: in the environment
  process.env.BENCHFLEET_API_KEY = 'bf-env-secret-4711';
  process.env.BENCHFLEET_RUNNER_KEY = 'bf-env-secret-4712';
  process.env.MY_TOKEN = 'bf-flag-secret-4713';
  try {
    const res = await startRunner(
      testRunner(api.url, {
        executor: 'command',
        command: `env; ${writeOutput}`,
        slots: 1,
        apiKey: 'bf-flag-secret-4713',
      }).input,
    );
    expect(res.tasksCompleted).toBe(1);
  } finally {
    process.env = saved;
  }
  const t = api.tasks[0];
  const files = await untar(
    api.objects.get(storageKeys.result(t?.task.run_id ?? 0, t?.task.id ?? 0)) as Buffer,
  );
  const stdout = files.get('logs/stdout.log') ?? '';
  expect(stdout).toMatch(/^BENCHFLEET_OUT_PATH=/m);
  expect(stdout).toMatch(/^BENCHFLEET_CPU=0$/m);
  expect(stdout).not.toMatch(/bf-env-secret|bf-flag-secret|BENCHFLEET_API_KEY|BENCHFLEET_RUNNER_KEY/);
});

it('stops what the command left running in the background once it exits', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  // a unique duration names the leftover, so the test can look for it afterwards
  const marker = `9${String(process.pid).slice(-4)}.${Date.now() % 100000}`;
  const res = await startRunner(
    testRunner(api.url, {
      executor: 'command',
      command: `sleep ${marker} >/dev/null 2>&1 & ${writeOutput}; echo ok`,
      slots: 1,
    }).input,
  );
  expect(res.tasksCompleted).toBe(1);
  const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(`sleep ${marker}`));
  expect(left).toEqual([]);
});
