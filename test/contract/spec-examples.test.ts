// Replays the request bodies of both spec files (the original design and the Rails orchestrator's
// README) and checks the answers carry every field those documents show, with both spellings where
// they differ, so a runner or script written against either keeps working.
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { client, OPERATOR, RUNNER, startTestStack, upload } from '../helpers/api';

let stack: LocalStack;
let api: ReturnType<typeof client>;
beforeAll(async () => {
  stack = await startTestStack();
  api = client(stack.apiUrl);
});
afterAll(() => stack.stop());

it('serves the spec flow: start, GET /run, claim, heartbeat, complete, fail, stop', async () => {
  // POST /run/start, the body both documents show
  const start = await api.call<Record<string, unknown> & { tasks: Array<Record<string, unknown>> }>(
    'POST',
    '/run/start',
    {
      key: OPERATOR,
      body: {
        ruby_version: '3.4.7',
        runs_per_instance_type: 3,
        aws: ['c8g.medium', 'c8g.large'],
        azure: ['Standard_D2pls_v6'],
      },
    },
  );
  expect(start.status).toBe(201);
  expect(start.body).toMatchObject({ run_id: expect.any(Number), tasks_created: 9 });
  expect(start.body.tasks[0]).toEqual({
    id: expect.any(Number),
    provider: 'aws',
    instance_type: 'c8g.medium',
    run: 1,
    run_number: 1,
    status: 'pending',
  });

  // GET /run without a key: the reference README's fields
  const run = await api.call('GET', '/run');
  expect(run.status).toBe(200);
  expect(run.body).toMatchObject({
    run_id: start.body.run_id,
    status: 'running',
    ruby_version: '3.4.7',
    runs_per_instance_type: 3,
    created_at: expect.any(String),
    tasks: { total: 9, pending: 9, claimed: 0, running: 0, completed: 0, failed: 0 },
    gzip_url: null,
  });

  // POST /tasks/claim, the body both documents show
  const claim = await api.call<Record<string, Record<string, unknown>>>('POST', '/tasks/claim', {
    key: RUNNER,
    body: { provider: 'aws', instance_type: 'c8g.medium', runner_id: 'i-0abc123def456' },
  });
  expect(claim.status).toBe(200);
  expect(claim.body.status).toBe('assigned');
  expect(claim.body.task).toMatchObject({
    id: expect.any(Number),
    provider: 'aws',
    instance_type: 'c8g.medium',
    run: 1,
    run_number: 1,
    ruby_version: '3.4.7',
  });
  const urls = claim.body.presigned_urls as Record<string, string>;
  for (const k of ['result', 'error', 'result_upload_url', 'error_upload_url', 'result_key', 'error_key']) {
    expect(typeof urls[k]).toBe('string');
  }
  expect(urls.result).toBe(urls.result_upload_url);
  expect(urls.error).toBe(urls.error_upload_url);
  const id = claim.body.task?.id as number;

  // POST /tasks/:id/heartbeat, the spec's body
  const hb = await api.call('POST', `/tasks/${id}/heartbeat`, {
    key: RUNNER,
    body: {
      runner_id: 'i-0abc123def456',
      status: 'running',
      current_benchmark: 'optcarrot',
      progress_pct: 45,
      message: 'Running optcarrot benchmark',
    },
  });
  expect(hb).toEqual({ status: 200, body: { action: 'continue' } });
  for (const status of ['boot', 'provision', 'uploading']) {
    expect(
      (
        await api.call('POST', `/tasks/${id}/heartbeat`, {
          key: RUNNER,
          body: { runner_id: 'i-0abc123def456', status },
        })
      ).status,
    ).toBe(200);
  }

  // POST /tasks/:id/complete with the key the claim handed out
  await upload(urls.result as string);
  const done = await api.call('POST', `/tasks/${id}/complete`, {
    key: RUNNER,
    body: { runner_id: 'i-0abc123def456', s3_result_key: urls.result_key },
  });
  expect(done.status).toBe(200);

  // POST /tasks/:id/fail, the spec's body as written: an error type of the older runner, and an
  // s3_error_key it made up (the spec's claim hands out no keys), which names no file and is let be
  const second = await api.call<Record<string, Record<string, unknown>>>('POST', '/tasks/claim', {
    key: RUNNER,
    body: { provider: 'azure', instance_type: 'Standard_D2pls_v6', runner_id: 'vm-1' },
  });
  const sid = second.body.task?.id as number;
  const failed = await api.call('POST', `/tasks/${sid}/fail`, {
    key: RUNNER,
    body: {
      runner_id: 'vm-1',
      error_type: 'benchmark_crash',
      error_message: 'Segmentation fault in optcarrot',
      s3_error_key: 'results/42/error.tar.gz',
      debug_mode: false,
    },
  });
  expect(failed.status).toBe(200);
  const listed = await api.call<{ tasks: Array<Record<string, unknown>> }>('GET', '/run/tasks');
  expect(listed.body.tasks.find((t) => t.id === sid)).toMatchObject({
    status: 'failed',
    error_type: 'benchmark_crash',
    error_message: 'Segmentation fault in optcarrot',
    runner_id: 'vm-1',
    s3_error_key: null,
  });

  // POST /run/stop with no body, as the dashboard button sends it
  const stop = await api.call('POST', '/run/stop', { key: OPERATOR });
  expect(stop.status).toBe(200);
  expect(stop.body).toMatchObject({ message: expect.any(String), run_id: start.body.run_id });
  const after = await api.call<{ tasks: Record<string, number> }>('GET', '/run');
  expect(after.body.tasks).toMatchObject({ total: 9, completed: 1, failed: 1, cancelled: 7 });
});

it('tells every cache to keep no answer: they change by the second and by key, and may hold a presigned URL', async () => {
  const answers = [
    await fetch(`${stack.apiUrl}/run`), // 200, or 404 before a run
    await fetch(`${stack.apiUrl}/run`, { headers: { authorization: `Bearer ${OPERATOR}` } }),
    await fetch(`${stack.apiUrl}/run`, { headers: { authorization: 'Bearer not-a-key' } }), // 401
    await fetch(`${stack.apiUrl}/run/tasks?limit=0`), // 400
    await fetch(`${stack.apiUrl}/no/such/route`), // 404
  ];
  expect(answers.map((a) => a.status)).toEqual([expect.any(Number), 200, 401, 400, 404]);
  for (const a of answers) {
    expect(a.headers.get('cache-control')).toBe('no-store');
    expect(a.headers.get('content-type')).toBe('application/json');
  }
});
