// What a runner reports is taken as leniently as it safely can (DESIGN's Decisions: "any other short
// string from an older runner is accepted and recorded"): a long stack trace or a progress of 100.4
// must not cost the whole fail or heartbeat. Run configs that would overflow the run item are 400s.
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import {
  type ClaimResponse,
  MAX_ERROR_MESSAGE,
  MAX_INSTANCE_TYPES_PER_RUN,
  storageKeys,
} from '../../lambdas/shared/contract';
import { client, OPERATOR, resultTarball, startTestStack } from '../helpers/api';

let stack: LocalStack;
let api: ReturnType<typeof client>;
beforeAll(async () => {
  stack = await startTestStack();
  api = client(stack.apiUrl);
});
afterAll(() => stack.stop());

type Task = { id: number; status: string; error_type: string | null; error_message: string | null } & Record<
  string,
  unknown
>;
const taskView = async (id: number): Promise<Task> => {
  const list = await api.call<{ tasks: Task[] }>('GET', '/run/tasks');
  const task = list.body.tasks.find((t) => t.id === id);
  if (!task) throw new Error(`task ${id} not listed`);
  return task;
};
const ended = async (): Promise<void> => {
  for (let i = 0; i < 200; i++) {
    const { status } = (await api.run(OPERATOR)).body;
    if (status !== 'running' && status !== 'assembling') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the run did not end within 10 s');
};
const claimed = async (runId: number, type: string, runner: string) => {
  const c = await api.claim(runId, type, runner);
  const body = c.body as ClaimResponse;
  if (body.status !== 'assigned') throw new Error(`expected a task, got ${JSON.stringify(body)}`);
  return body;
};

it('takes what older runners send, cut to length and clamped, and records only an error file that exists', async () => {
  const { run_id } = (await api.start({ ruby_version: '3.4', runs_per_instance_type: 2, local: ['a'] })).body;
  const one = await claimed(run_id, 'a', 'old-runner');
  expect(one.task.image).toBe('ruby:3.4');

  const beat = await api.heartbeat(one.task.id, 'old-runner', {
    progress_pct: 100.4,
    message: 'm'.repeat(2_000),
    current_benchmark: 'b'.repeat(300),
    attempt: null,
  });
  expect(beat.body).toEqual({ action: 'continue' });
  const running = await taskView(one.task.id);
  expect(running.progress_pct).toBe(100);
  expect(String(running.heartbeat_message)).toHaveLength(1_000);
  expect(String(running.current_benchmark)).toHaveLength(200);

  // named error file never uploaded, a Ruby exception class, a long stack trace, nulls
  const fail = await api.fail(one.task.id, 'old-runner', 'Timeout::Error', {
    error_message: `Timeout::Error\n${'  from worker.rb:42\n'.repeat(400)}`,
    s3_error_key: storageKeys.error(run_id, one.task.id),
    debug_mode: null,
    attempt: null,
  });
  expect(fail.status).toBe(200);
  const failed = await taskView(one.task.id);
  expect(failed).toMatchObject({ status: 'failed', error_type: 'Timeout::Error', s3_error_key: null });
  expect(failed.error_message).toHaveLength(MAX_ERROR_MESSAGE);
  expect(failed.error_message?.endsWith('…')).toBe(true);

  const two = await claimed(run_id, 'a', 'old-runner');
  const put = await fetch(two.presigned_urls.result, {
    method: 'PUT',
    body: new Uint8Array(resultTarball()),
  });
  expect(put.status).toBe(200);
  const done = await api.complete(two.task.id, 'old-runner', { s3_result_key: null, attempt: null });
  expect(done.status).toBe(200);
  expect((await taskView(two.task.id)).status).toBe('completed');
});

it('refuses control characters in error_type and runner_id, and changes nothing', async () => {
  await ended(); // the first test's run drained and is being assembled
  const { run_id } = (await api.start({ runs_per_instance_type: 1, local: ['a'] })).body;
  // an id is matched and shown as it is: a line break would forge a row of the manifest
  for (const runner of ['r1\nr2', '\u001b[31mr1', 'r1\u0000']) {
    const refused = await api.claim(run_id, 'a', runner);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      error: 'invalid_request',
      message: expect.stringMatching(/^runner_id.*control characters/),
    });
  }
  expect((await api.run()).body.tasks).toMatchObject({ pending: 1, claimed: 0 });
  const task = await claimed(run_id, 'a', 'r1');
  const bad = await api.fail(task.task.id, 'r1', 'bad\ntype');
  expect(bad.status).toBe(400);
  expect(bad.body).toMatchObject({ error: 'invalid_request', message: expect.stringMatching(/^error_type/) });
  expect((await taskView(task.task.id)).status).toBe('claimed');
  await api.call('POST', '/run/stop', { key: OPERATOR });
  await ended();
});

it('takes free text with colour codes and control characters, keeping only its tabs and line breaks', async () => {
  const { run_id } = (await api.start({ runs_per_instance_type: 1, local: ['a'] })).body;
  const task = await claimed(run_id, 'a', 'r1');
  const beat = await api.heartbeat(task.task.id, 'r1', {
    message: '\u001b[31mslow\u001b[0m\tstep\u0007\n2 of 3',
    current_benchmark: 'fib\u0000\u007f\u009b',
  });
  expect(beat.status).toBe(200);
  expect(await taskView(task.task.id)).toMatchObject({
    heartbeat_message: 'slow\tstep\n2 of 3',
    current_benchmark: 'fib',
  });
  // a cut never splits an emoji (two UTF-16 units) in halves, one of which is no character
  const cut = await api.heartbeat(task.task.id, 'r1', { message: `${'x'.repeat(998)}😀😀` });
  expect(cut.status).toBe(200);
  expect((await taskView(task.task.id)).heartbeat_message).toBe(`${'x'.repeat(998)}…`);
  const fail = await api.fail(task.task.id, 'r1', 'benchmark_failed', {
    error_message: `boom\r\n\u0001\u0002  from x.rb:1${'\u0003'.repeat(5_000)}`,
  });
  expect(fail.status).toBe(200);
  // dropped before the cut, so they take none of the 4,000 characters
  expect((await taskView(task.task.id)).error_message).toBe('boom\r\n  from x.rb:1');
  await ended();
});

it('refuses a run with more instance types than the run item can count, and starts nothing', async () => {
  const before = (await api.run(OPERATOR)).body.run_id;
  const types = Array.from({ length: MAX_INSTANCE_TYPES_PER_RUN + 1 }, (_, i) => `t${i}`);
  const answer = await api.start({ runs_per_instance_type: 1, local: undefined, aws: types });
  expect(answer.status).toBe(400);
  expect(answer.body).toMatchObject({
    error: 'invalid_request',
    message: expect.stringContaining(
      `the run lists ${MAX_INSTANCE_TYPES_PER_RUN + 1} instance types; at most ${MAX_INSTANCE_TYPES_PER_RUN} are allowed`,
    ),
  });
  expect((await api.run(OPERATOR)).body.run_id).toBe(before);
});
