// `benchfleet status` lists failed tasks with their error, ten at most, and counts the rest rather
// than leave them out without a word. The real local API in this process.
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';
import { playerApi, runCli } from './helpers';

const OPERATOR = 'cli-status-operator';
const RUNNER = 'cli-status-runner';
let stack: LocalStack;
beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  stack = await startLocalStack({ operatorKey: OPERATOR, runnerKey: RUNNER, reaperIntervalS: 3600 });
});
afterAll(() => stack.stop());

const api = playerApi(() => stack.apiUrl);

it('lists ten failed tasks and counts the rest', async () => {
  const started = await api('POST', '/run/start', OPERATOR, {
    ruby_version: '3.4.7',
    runs_per_instance_type: 13,
    local: ['cs'],
  });
  for (let k = 0; k < 12; k++) {
    const claim = await api('POST', `/runs/${started.run_id}/tasks/claim`, RUNNER, {
      provider: 'local',
      instance_type: 'cs',
      runner_id: 'r-1',
    });
    await api('POST', `/tasks/${claim.task?.id}/fail`, RUNNER, {
      runner_id: 'r-1',
      error_type: 'benchmark_failed',
      error_message: `ruby-bench exited with status 1 (run ${k + 1})`,
    });
  }
  const r = await runCli(['status', '--api-url', stack.apiUrl]);
  expect(r.code).toBe(0);
  const failed = r.stdout.split('\n').filter((l) => l.startsWith('    failed: task '));
  expect(failed).toHaveLength(10);
  expect(failed[0]).toMatch(/ cs run \d+: benchmark_failed ruby-bench exited with status 1 \(run \d+\)$/);
  expect(r.stdout).toContain('    ... and 2 more failed tasks (all of them: `benchfleet status --json`)\n');
});
