// Only a 2xx to complete means this runner completed the task. A task cancelled or reaped while its
// result was uploading is not counted as completed (a heartbeat's abort skips complete altogether;
// a 409 other than the API's idempotent repeat-success fails it in the tally), and a complete the
// API did not accept (result_not_uploaded, 401) is not an acknowledgement: the files stay.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startRunner } from '../../runner/agent';
import { shouldShutDown } from '../../runner/shutdown';
import { FakeApi, type FakeTask } from './fake-api';
import { testRunner } from './helpers';

let api: FakeApi;
afterEach(async () => {
  await api?.stop();
});

it('a task cancelled during the result PUT is not completed, and not counted as completed', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  api.putDelayMs = 3000;
  // cancelled once the PUT is under way: a cancel before the runner's upload-urls call (a busy
  // machine can order them so) would refuse the URLs instead, which is another test's case
  api.onHeartbeat = (t, hb) => {
    if (hb.status === 'uploading' && api.calls.some((c) => c.startsWith('PUT'))) api.cancel(t.task.id);
  };
  const r = testRunner(api.url, { slots: 1, heartbeatS: 0.2, debug: true, shutdownOnDone: true });
  r.input.shutdownCommand = 'true';
  const res = await startRunner(r.input);
  expect(res).toMatchObject({ tasksCompleted: 0, tasksFailed: 0, tasksCancelled: 1, tasksUnacknowledged: 0 });
  expect(api.calls.some((c) => c.endsWith('/complete'))).toBe(false);
  expect(api.tasks[0]?.status).toBe('cancelled');
  const log = r.lines.join('\n');
  expect(log).toMatch(
    /cancelled: the API stopped the task \(abort, or it is no longer ours\) while its result was uploading.* \(its run was stopped\)/,
  );
  expect(log).not.toMatch(/completed \(task=/);
  // a stopped run is no failure of this host: even --debug powers it off, as nothing is to inspect
  expect(log).not.toMatch(/not shutting down/);
  expect(res.shutdownRan).toBe(true);
});

it.each([
  ['task_finished', /the server had already finished the task/],
  ['not_your_task', /reaped and is now held by another runner/],
  ['stale_attempt', /this attempt was reaped/],
])('complete answered 409 %s: the task was not completed by this runner', async (code, why) => {
  api = await new FakeApi({ tasks: 1 }).start();
  api.completeError = code;
  const r = testRunner(api.url, { slots: 1 });
  const res = await startRunner(r.input);
  expect(res).toMatchObject({ tasksCompleted: 0, tasksFailed: 1, tasksUnacknowledged: 0 });
  const log = r.lines.join('\n');
  expect(log).toMatch(
    new RegExp(`task \\d+ was not completed by this runner: complete answered 409 ${code}`),
  );
  expect(log).toMatch(why);
  expect(log).toMatch(/all slots exited: 0 completed, 1 failed/);
  expect(
    shouldShutDown({ shutdownOnDone: true, debug: true, interrupted: false, tasksFailed: res.tasksFailed }),
  ).toMatchObject({ shutdown: false });
});

it("a complete from an attempt the API has moved past is refused by the API's fence, and settles the task", async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  // the reaper retried the task as attempt 2 (for this same runner id) as attempt 1's result arrived
  api.putFail = () => {
    const t = api.tasks[0] as FakeTask;
    t.task = { ...t.task, attempt: 2 };
    return undefined; // the PUT itself succeeds
  };
  const r = testRunner(api.url, { slots: 1 });
  const res = await startRunner(r.input);
  expect(res).toMatchObject({ tasksCompleted: 0, tasksFailed: 1, tasksUnacknowledged: 0 });
  expect(api.tasks[0]?.status).toBe('claimed'); // attempt 2's, untouched by attempt 1's report
  expect(r.lines.join('\n')).toMatch(/complete answered 409 stale_attempt; this attempt was reaped/);
});

it('a heartbeat from an attempt the API has moved past is fenced off: the runner stops the task, and its fail is settled', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  api.putDelayMs = 1000; // an upload long enough for a heartbeat to go out meanwhile
  api.onHeartbeat = (t, hb) => {
    if (hb.status === 'uploading') t.task = { ...t.task, attempt: 2 };
  };
  const r = testRunner(api.url, { slots: 1, heartbeatS: 0.2 });
  const res = await startRunner(r.input);
  expect(res).toMatchObject({ tasksCompleted: 0, tasksFailed: 1, tasksUnacknowledged: 0 });
  expect(api.calls.some((c) => c.endsWith('/complete'))).toBe(false);
  expect(api.tasks[0]?.status).toBe('claimed');
  const log = r.lines.join('\n');
  expect(log).toMatch(
    /stopping the task: HTTP 409 stale_attempt: task \d+ is on attempt 2; attempt 1 may not report/,
  );
  expect(log).toMatch(/fail answered 409 stale_attempt; this attempt was reaped/);
});

it('complete answered 404 (the task no longer exists): settled, not kept as unacknowledged', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  api.completeStatus = 404;
  api.completeError = 'not_found';
  const r = testRunner(api.url, { slots: 1 });
  const res = await startRunner(r.input);
  expect(res).toMatchObject({ tasksCompleted: 0, tasksFailed: 1, tasksUnacknowledged: 0 });
  expect(r.lines.join('\n')).toMatch(/complete answered 404 not_found; the task does not exist/);
});

it.each([
  [409, 'result_not_uploaded', /the API cannot see result\.tar\.gz/],
  [401, 'unauthorized', /check --api-key/],
])(
  'complete answered %d %s: not acknowledged, the files stay and the log says where',
  async (status, code, hint) => {
    api = await new FakeApi({ tasks: 1 }).start();
    api.completeStatus = status;
    api.completeError = code;
    const r = testRunner(api.url, { slots: 1 });
    const res = await startRunner(r.input);
    expect(res).toMatchObject({ tasksCompleted: 0, tasksFailed: 0, tasksUnacknowledged: 1 });
    const dirs = readdirSync(r.workDir).filter((d) => d.startsWith('task-'));
    expect(dirs).toHaveLength(1);
    expect(existsSync(join(r.workDir, dirs[0] ?? '', 'result.tar.gz'))).toBe(true);
    const log = r.lines.join('\n');
    expect(log).toMatch(hint);
    expect(log).toMatch(
      new RegExp(
        `the API never acknowledged task \\d+; its files stay in ${r.workDir}\\S+ \\(complete was refused with ${status} ${code}`,
      ),
    );
  },
);

it('--debug keeps a host up whose task was never acknowledged, as for a failed one', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  api.completeStatus = 409;
  api.completeError = 'result_not_uploaded';
  const r = testRunner(api.url, { slots: 1, debug: true, shutdownOnDone: true });
  r.input.shutdownCommand = `touch ${join(r.workDir, 'powered-off')}`;
  const res = await startRunner(r.input);
  expect(res).toMatchObject({ tasksFailed: 0, tasksUnacknowledged: 1, shutdownRan: false });
  expect(existsSync(join(r.workDir, 'powered-off'))).toBe(false);
  expect(r.lines.join('\n')).toMatch(/not shutting down: --debug and 1 task\(s\) failed/);
});
