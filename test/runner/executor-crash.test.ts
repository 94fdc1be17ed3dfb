// An executor that crashes (a bug in it, not a benchmark exiting non-zero) fails its task as
// benchmark_failed, naming the crash, and the slot claims the next task.
import { storageKeys } from '../../lambdas/shared/contract';
import { startRunner } from '../../runner/agent';
import { FakeApi, untar } from './fake-api';
import { failingFirstRun, testRunner } from './helpers';

let api: FakeApi;
afterEach(async () => {
  await api?.stop();
});

it.each(['rejects', 'throws'] as const)(
  'an executor that crashes (%s) fails its task as benchmark_failed and the slot runs the next task',
  async (how) => {
    api = await new FakeApi({ tasks: 2 }).start();
    const crash = new TypeError("Cannot read properties of undefined (reading 'exitCode')");
    const r = testRunner(api.url, { slots: 1, executorOverride: failingFirstRun(crash, how) });
    const res = await startRunner(r.input);
    expect(res).toMatchObject({ exitCode: 0, tasksCompleted: 1, tasksFailed: 1, tasksUnacknowledged: 0 });
    const [crashed, next] = api.tasks;
    expect(crashed?.status).toBe('failed');
    expect(crashed?.fail).toMatchObject({ error_type: 'benchmark_failed', attempt: 1 });
    expect(crashed?.fail?.error_message).toBe(
      "executor crashed: Cannot read properties of undefined (reading 'exitCode')",
    );
    // the crash is reported with its logs, like any failed benchmark
    const errorKey = storageKeys.error(crashed?.task.run_id ?? 0, crashed?.task.id ?? 0);
    expect(crashed?.fail?.s3_error_key).toBe(errorKey);
    const files = await untar(api.objects.get(errorKey) as Buffer);
    expect(files.has('meta.json')).toBe(true);
    expect(next?.status).toBe('completed');
  },
);
