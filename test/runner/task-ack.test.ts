// complete and fail retried while the API cannot answer them (its S3 is down: 5xx): the runner
// keeps heartbeating until the acknowledgement comes, so the reaper never takes a task that is only
// waiting for it (it would be recorded as heartbeat_timeout, the uploaded result thrown away). And
// a shutdown during a long upload retry still reports the task in time.
import { createRunner, startRunner } from '../../runner/agent';
import { FakeApi } from './fake-api';
import { testRunner, waitFor } from './helpers';

let api: FakeApi;
afterEach(async () => {
  await api?.stop();
});

/** Clears the refusal once this many heartbeats came in after the first call to `route`. */
function answerAfterBeats(route: 'complete' | 'fail', beats: number, clear: () => void): void {
  let seen = 0;
  api.onHeartbeat = () => {
    if (api.calls.some((c) => c.endsWith(`/${route}`)) && ++seen === beats) clear();
  };
}

it('keeps heartbeating while complete is refused with 5xx, and completes once it is answered', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  api.completeStatus = 503;
  answerAfterBeats('complete', 3, () => {
    api.completeStatus = undefined;
  });
  const r = testRunner(api.url, { slots: 1, maxRetryS: 10 });
  const res = await startRunner(r.input);
  expect(res).toMatchObject({ tasksCompleted: 1, tasksUnacknowledged: 0 });
  expect(api.tasks[0]?.status).toBe('completed');
  expect(api.calls.filter((c) => c.endsWith('/complete')).length).toBeGreaterThan(1);
  // no heartbeat after the acknowledgement, and none of the 409s it would get turned into an abort:
  // one sent just before the last complete may reach the API after it (its own connection), no more
  const last = api.calls.lastIndexOf(`POST /tasks/${api.tasks[0]?.task.id}/complete`);
  expect(api.calls.slice(last + 1).filter((c) => c.endsWith('/heartbeat')).length).toBeLessThanOrEqual(1);
  expect(r.lines.join('\n')).not.toMatch(/stopping the task/);
});

it('keeps heartbeating while fail is refused with 5xx; the task fails with its own error type', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  api.failStatus = 503;
  answerAfterBeats('fail', 3, () => {
    api.failStatus = undefined;
  });
  // a workload far longer than its timeout: the task fails as timeout
  const r = testRunner(api.url, { slots: 1, maxRetryS: 10, syntheticSize: 10_000, taskTimeoutS: 0.3 });
  const res = await startRunner(r.input);
  expect(res).toMatchObject({ tasksFailed: 1, tasksUnacknowledged: 0 });
  expect(api.tasks[0]?.fail).toMatchObject({ error_type: 'timeout' });
  // the heartbeats of the wait said what was going on
  expect(api.tasks[0]?.heartbeats.at(-1)).toMatchObject({ status: 'error' });
});

it('a shutdown while S3 is not answering ends the upload retries at once and fails the task as interrupted', async () => {
  api = await new FakeApi({ tasks: 2 }).start();
  api.putFail = (key) => (key.endsWith('result.tar.gz') ? 503 : undefined);
  // a budget far beyond the test's timeout: only the stop can end the retries in time
  const r = testRunner(api.url, { slots: 1, maxRetryS: 600 });
  const h = createRunner(r.input);
  await waitFor(() => api.calls.filter((c) => c.startsWith('PUT')).length >= 2, 10_000, 'two refused PUTs');
  h.stop();
  const res = await h.done;
  expect(res).toMatchObject({ interrupted: true, tasksFailed: 1, tasksUnacknowledged: 0 });
  expect(api.tasks[0]?.fail).toMatchObject({
    error_type: 'interrupted',
    error_message: expect.stringMatching(/^upload of result\.tar\.gz failed \d+ times/),
  });
  expect(api.tasks[1]?.status).toBe('pending');
});
