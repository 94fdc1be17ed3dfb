// A stop (SIGTERM: spot reclaim, shutdown) while the runner is waiting on the API or S3: the host
// has seconds left, so a complete or upload-urls call retried on 5xx, and a PUT in flight, get the
// short stop budget from the moment of the stop, not what is left of --max-retry-s (600 s) or of
// however long the PUT would otherwise run. A PUT that finishes within the budget still counts.
import { createRunner } from '../../runner/agent';
import { FakeApi } from './fake-api';
import { doneWithin, testRunner, waitFor } from './helpers';

let api: FakeApi;
afterEach(async () => {
  await api?.stop();
});

it('a stop while complete is retried on 503 gives it the stop budget, not --max-retry-s', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  api.completeStatus = 503;
  const r = testRunner(api.url, { slots: 1, maxRetryS: 600, stopBudgetS: 2 });
  const h = createRunner(r.input);
  await waitFor(() => api.calls.some((c) => c.endsWith('/complete')), 20_000, 'the first complete');
  h.stop();
  const { res, tookMs } = await doneWithin(h.done, 10_000);
  expect(tookMs).toBeLessThan(6_000);
  expect(res).toMatchObject({ interrupted: true, tasksCompleted: 0, tasksUnacknowledged: 1 });
  const log = r.lines.join('\n');
  expect(log).toMatch(/complete got no answer: .*cut short: the runner is stopping/);
  expect(log).toMatch(/its files stay in /);
});

it('a stop while upload-urls is retried on 503 cuts it short; the task fails as interrupted', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  api.urlsStatus = 503;
  const r = testRunner(api.url, { slots: 1, maxRetryS: 600, stopBudgetS: 2 });
  const h = createRunner(r.input);
  await waitFor(() => api.calls.some((c) => c.endsWith('/upload-urls')), 20_000, 'the first upload-urls');
  h.stop();
  const { res } = await doneWithin(h.done, 15_000);
  expect(res).toMatchObject({ interrupted: true, tasksFailed: 1, tasksUnacknowledged: 0 });
  expect(api.tasks[0]?.fail).toMatchObject({ error_type: 'interrupted' });
});

it('a PUT still going when the stop budget runs out is abandoned; the task fails as interrupted', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  api.putDelayMs = 60_000; // far beyond the budget: only the stop can end it in time
  const r = testRunner(api.url, { slots: 1, maxRetryS: 600, stopBudgetS: 2 });
  const h = createRunner(r.input);
  await waitFor(() => api.calls.some((c) => c.startsWith('PUT')), 20_000, 'the result PUT');
  h.stop();
  api.putDelayMs = 0; // error.tar.gz, after the stop, goes through
  const { res } = await doneWithin(h.done, 15_000);
  expect(res).toMatchObject({ interrupted: true, tasksFailed: 1, tasksUnacknowledged: 0 });
  expect(api.tasks[0]?.fail).toMatchObject({
    error_type: 'interrupted',
    error_message: expect.stringMatching(/PUT was still going 2 s after the task was stopped/),
  });
});

it('a PUT that finishes within the stop budget still completes the task', async () => {
  api = await new FakeApi({ tasks: 2 }).start();
  api.putDelayMs = 1_000;
  const r = testRunner(api.url, { slots: 1, maxRetryS: 600, stopBudgetS: 5 });
  const h = createRunner(r.input);
  await waitFor(() => api.calls.some((c) => c.startsWith('PUT')), 20_000, 'the result PUT');
  h.stop();
  const { res } = await doneWithin(h.done, 15_000);
  expect(res).toMatchObject({ interrupted: true, tasksCompleted: 1, tasksFailed: 0 });
  expect(api.tasks[0]?.status).toBe('completed');
  expect(api.tasks[1]?.status).toBe('pending');
});

it('a timed-out task uploads its error.tar.gz with the normal PUT limits, not the stop budget', async () => {
  // A timeout aborts the task, not the runner: its logs are what explains the timeout, and a PUT
  // longer than the stop budget (large logs, a slow link) must still get through.
  api = await new FakeApi({ tasks: 1 }).start();
  api.putDelayMs = 2_500;
  const r = testRunner(api.url, { slots: 1, syntheticSize: 1000, taskTimeoutS: 0.5, stopBudgetS: 1 });
  const { res } = await doneWithin(createRunner(r.input).done, 20_000);
  expect(res).toMatchObject({ tasksFailed: 1, tasksUnacknowledged: 0 });
  expect(api.tasks[0]?.fail).toMatchObject({ error_type: 'timeout', s3_error_key: expect.any(String) });
  expect([...api.objects.keys()].some((k) => k.endsWith('error.tar.gz'))).toBe(true);
});
