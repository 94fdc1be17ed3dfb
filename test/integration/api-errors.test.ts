// Every route through real HTTP against the local server: keys, bad bodies and ids, and the one
// error-code table. Rejected requests must change nothing.
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { ErrorBody, type TaskListResponse } from '../../lambdas/shared/contract';
import { ROUTES } from '../../lambdas/shared/routes';
import { client, OPERATOR, RUNNER, startTestStack, upload } from '../helpers/api';

let stack: LocalStack;
let api: ReturnType<typeof client>;
let runId: number;
let taskId: number;

beforeAll(async () => {
  stack = await startTestStack();
  api = client(stack.apiUrl);
  const started = await api.start({});
  runId = started.body.run_id;
  taskId = started.body.tasks[0]?.id as number;
});
afterAll(() => stack.stop());

const concrete = (path: string): string =>
  path.replace('{run_id}', () => String(runId)).replace('{id}', () => String(taskId));

/** The table state a rejected request must leave untouched. */
async function snapshot(): Promise<string> {
  const run = await api.run(OPERATOR);
  const tasks = await api.call('GET', '/run/tasks');
  return JSON.stringify([run.body, tasks.body]);
}

function expectError(answer: { status: number; body: unknown }, status: number, code: string): void {
  expect(answer.status).toBe(status);
  const body = ErrorBody.parse(answer.body);
  expect(body.error).toBe(code);
  expect(body.message.length).toBeGreaterThan(5);
}

describe('keys', () => {
  const writes = ROUTES.filter((r) => r.access !== 'public');
  it.each(writes.map((r) => [r.method, r.path]))(
    '%s %s answers 401 without a key and with a wrong one',
    async (method, path) => {
      const before = await snapshot();
      expectError(await api.call(method, concrete(path), { body: {} }), 401, 'unauthorized');
      expectError(await api.call(method, concrete(path), { key: 'wrong', body: {} }), 401, 'unauthorized');
      expect(await snapshot()).toBe(before);
    },
  );

  it.each(ROUTES.filter((r) => r.access === 'operator').map((r) => [r.method, r.path]))(
    'refuses the runner key on operator route %s %s',
    async (method, path) => {
      const before = await snapshot();
      expectError(await api.call(method, concrete(path), { key: RUNNER, body: {} }), 401, 'unauthorized');
      expect(await snapshot()).toBe(before);
    },
  );

  it('says how to send a key sent without the Bearer scheme, and takes it no more than a wrong one', async () => {
    const before = await snapshot();
    for (const authorization of [OPERATOR, `Token ${OPERATOR}`, 'Bearer', 'Bearer  ']) {
      const res = await fetch(`${stack.apiUrl}/run/stop`, { method: 'POST', headers: { authorization } });
      const answer = { status: res.status, body: (await res.json()) as unknown };
      expectError(answer, 401, 'unauthorized');
      expect(ErrorBody.parse(answer.body).message).toBe(
        'the Authorization header must be "Bearer <key>", the word Bearer, a space, then the operator key',
      );
    }
    const wrong = await api.call('POST', '/run/stop', { key: 'wrong' });
    expect(ErrorBody.parse(wrong.body).message).toBe(
      'the API key is wrong: this route takes the operator key',
    );
    expect(await snapshot()).toBe(before);
  });

  it('names the key a runner route takes, to a caller with none or a wrong one', async () => {
    const before = await snapshot();
    const path = '/tasks/1/heartbeat';
    const none = await fetch(`${stack.apiUrl}${path}`, { method: 'POST', body: '{}' });
    expect(none.status).toBe(401);
    expect(ErrorBody.parse(await none.json()).message).toBe(
      'missing API key: send "Authorization: Bearer <key>" with the runner key (or the operator key)',
    );
    const wrong = await api.call('POST', path, { key: 'wrong', body: {} });
    expect(ErrorBody.parse(wrong.body).message).toBe(
      'the API key is wrong: this route takes the runner key (or the operator key)',
    );
    expect(await snapshot()).toBe(before);
  });

  it('shows gzip_url only to a caller with a key (null while no archive exists)', async () => {
    const pub = await api.run(null);
    expect(pub.status).toBe(200);
    expect(pub.body.gzip_url).toBeNull();
  });
});

describe('bad bodies', () => {
  const withBody = ROUTES.filter((r) => r.method === 'POST');
  it.each(withBody.map((r) => [r.method, r.path]))(
    '%s %s: malformed JSON is a 400 that changes nothing',
    async (method, path) => {
      const before = await snapshot();
      expectError(
        await api.call(method, concrete(path), { key: OPERATOR, raw: '{"runner_id": ' }),
        400,
        'invalid_request',
      );
      expect(await snapshot()).toBe(before);
    },
  );

  it.each(withBody.map((r) => [r.method, r.path]))(
    '%s %s: an unknown field is a 400 naming it',
    async (method, path) => {
      const before = await snapshot();
      const answer = await api.call(method, concrete(path), { key: OPERATOR, body: { surprise_field: 1 } });
      expectError(answer, 400, 'invalid_request');
      expect((answer.body as { message: string }).message).toContain('surprise_field');
      expect(await snapshot()).toBe(before);
    },
  );

  it.each(withBody.map((r) => [r.method, r.path]))(
    '%s %s: a body over 64 KB is a 413',
    async (method, path) => {
      const before = await snapshot();
      const big = JSON.stringify({ runner_id: 'x'.repeat(70 * 1024) });
      expectError(
        await api.call(method, concrete(path), { key: OPERATOR, raw: big }),
        413,
        'payload_too_large',
      );
      expect(await snapshot()).toBe(before);
    },
  );

  it('refuses a non-JSON content type', async () => {
    const answer = await api.call('POST', '/tasks/claim', {
      key: RUNNER,
      raw: 'provider=local',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectError(answer, 400, 'invalid_request');
  });

  it.each([
    [{ ruby_version: '3.4.7', runs_per_instance_type: 0, local: ['a'] }, 'runs_per_instance_type'],
    [{ ruby_version: 'three', runs_per_instance_type: 1, local: ['a'] }, 'ruby_version'],
    [{ ruby_version: '3.4.7', runs_per_instance_type: 1 }, 'provider'],
    [{ ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['a', 'a'] }, 'twice'],
    [{ ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['a'], aws: ['a'] }, 'both'],
    [{ ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['../etc'] }, 'local.0'],
    [
      {
        ruby_version: '3.4.7',
        runs_per_instance_type: 100,
        local: Array.from({ length: 101 }, (_, i) => `t${i}`),
      },
      '10000',
    ],
    [{ ruby_version: '3.4.7', runs_per_instance_type: '2', local: ['a'] }, 'runs_per_instance_type'],
    [{ ruby_version: '3.4.7', runs_per_instance_type: 101, local: ['a'] }, 'runs_per_instance_type'],
    // attempts past 5 would be refused by every heartbeat and complete (Attempt is 1..5)
    [{ ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['a'], max_attempts: 6 }, 'max_attempts'],
    [
      { ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['a'], pending_timeout_minutes: 0 },
      'pending_timeout_minutes',
    ],
    // a misspelt variable is refused, not dropped: the run would benchmark with the defaults
    [
      { ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['a'], ruby_bench_env: { WARMUP_ITR: 5 } },
      'WARMUP_ITR',
    ],
  ])('POST /run/start with %j is a 400 that names %s', async (cfg, needle) => {
    const answer = await api.call('POST', '/run/start', { key: OPERATOR, body: cfg });
    expectError(answer, 400, 'invalid_request');
    expect((answer.body as { message: string }).message).toContain(needle);
  });

  it('answers 409 run_in_progress to a second start', async () => {
    expectError(await api.start({}), 409, 'run_in_progress');
  });
});

describe('length caps', () => {
  // the contract's caps written out, not read from its schemas: a test reading them would follow a
  // cap that moved
  const atCap = 'r'.repeat(128);
  const overCap = 'r'.repeat(129);
  let held: number; // a task claimed by the runner whose id is exactly at the cap

  const taskOf = async (id: number) => {
    const list = await api.call<TaskListResponse>('GET', '/run/tasks');
    return list.body.tasks.find((t) => t.id === id);
  };
  const claimAtCap = async (instanceType: string) => {
    const claim = await api.claim(runId, instanceType, atCap);
    expect(claim.status).toBe(200);
    if (claim.body.status !== 'assigned') throw new Error(`no task assigned: ${JSON.stringify(claim.body)}`);
    return claim.body;
  };

  it('takes a runner_id of exactly 128 characters on every runner route', async () => {
    held = (await claimAtCap('a')).task.id;
    expect(await taskOf(held)).toMatchObject({ status: 'claimed', runner_id: atCap });
    expect((await api.heartbeat(held, atCap)).status).toBe(200);
    const urls = await api.call('POST', `/tasks/${held}/upload-urls`, {
      key: RUNNER,
      body: { runner_id: atCap },
    });
    expect(urls.status).toBe(200);
    // complete and fail on a task of its own, so `held` stays claimed for the tests below
    const other = await claimAtCap('b');
    await upload(other.presigned_urls.result_upload_url);
    expect((await api.complete(other.task.id, atCap)).status).toBe(200);
    expect(await taskOf(other.task.id)).toMatchObject({ status: 'completed', runner_id: atCap });
    const third = await claimAtCap('b');
    expect((await api.fail(third.task.id, atCap)).status).toBe(200);
    expect(await taskOf(third.task.id)).toMatchObject({ status: 'failed', runner_id: atCap });
  });

  it.each([
    ['/runs/{run_id}/tasks/claim', { provider: 'local', instance_type: 'a' }],
    ['/tasks/{id}/heartbeat', { status: 'running' }],
    ['/tasks/{id}/upload-urls', {}],
    ['/tasks/{id}/complete', {}],
    ['/tasks/{id}/fail', { error_type: 'benchmark_failed' }],
  ])(
    'POST %s: a runner_id of 129 characters is a 400 naming runner_id that changes nothing',
    async (path, rest) => {
      const before = await snapshot();
      // the task routes name `held`: without the cap they would answer 409 not_your_task, not 400
      const concretePath = path.replace('{run_id}', String(runId)).replace('{id}', String(held));
      const answer = await api.call('POST', concretePath, {
        key: RUNNER,
        body: { ...rest, runner_id: overCap },
      });
      expectError(answer, 400, 'invalid_request');
      expect((answer.body as { message: string }).message).toMatch(/^runner_id: /);
      expect(await snapshot()).toBe(before);
    },
  );

  it('refuses an error_type of 65 characters with a 400 naming it, and takes one of exactly 64', async () => {
    const before = await snapshot();
    const over = await api.fail(held, atCap, 'e'.repeat(65));
    expectError(over, 400, 'invalid_request');
    expect((over.body as { message: string }).message).toMatch(/^error_type: /);
    expect(await snapshot()).toBe(before);
    expect((await api.fail(held, atCap, 'e'.repeat(64))).status).toBe(200);
    expect(await taskOf(held)).toMatchObject({ status: 'failed', error_type: 'e'.repeat(64) });
  });
});

describe('bad ids', () => {
  const taskRoutes = ROUTES.filter((r) => r.path.includes('{id}'));
  it.each(taskRoutes.map((r) => [r.path]))(
    '%s: a non-numeric id is a 400 naming id, before anything about the body',
    async (path) => {
      const answer = await api.call('POST', path.replace('{id}', 'abc'), {
        key: RUNNER,
        body: { runner_id: 'r' },
      });
      expectError(answer, 400, 'invalid_request');
      expect((answer.body as { message: string }).message).toBe('id: must be a positive integer, got "abc"');
    },
  );

  it.each(['0', '-1', '1.5', '1e3', '99999999999999999'])(
    'a task id of %s is a 400 naming id, not a lookup',
    async (id) => {
      const answer = await api.call('POST', `/tasks/${id}/heartbeat`, {
        key: RUNNER,
        body: { runner_id: 'r', status: 'running' },
      });
      expectError(answer, 400, 'invalid_request');
      expect((answer.body as { message: string }).message).toMatch(/^id: must be a positive integer/);
    },
  );

  it('refuses a query on a route that takes none, rather than ignoring it', async () => {
    const before = await snapshot();
    // not "stop run 1": the query is refused, and the current run is not stopped
    const answer = await api.call('POST', '/run/stop?run_id=1', { key: OPERATOR });
    expectError(answer, 400, 'invalid_request');
    expect((answer.body as { message: string }).message).toContain('run_id');
    expect(await snapshot()).toBe(before);
  });

  it('names a bad run id of the claim route, before anything about the body', async () => {
    const answer = await api.call('POST', '/runs/abc/tasks/claim', { key: RUNNER, body: { runner_id: '' } });
    expectError(answer, 400, 'invalid_request');
    expect((answer.body as { message: string }).message).toBe(
      'run_id: must be a positive integer, got "abc"',
    );
  });

  it('says each bad body field once, in plain words', async () => {
    const answer = await api.call('POST', '/run/start', {
      key: OPERATOR,
      body: { run_id: 1e300, ruby_version: 3, runs_per_instance_type: 1.5, local: ['a'] },
    });
    expectError(answer, 400, 'invalid_request');
    const message = (answer.body as { message: string }).message;
    expect(message).toContain('run_id: must be at most 90071992546: task ids are run_id * 100000 + n');
    expect(message).toContain('ruby_version: must be a string, got 3');
    expect(message).toContain('runs_per_instance_type: must be a whole number, got 1.5');
    expect(message.match(/run_id:/g)).toHaveLength(1);
    expect(message).not.toMatch(/Too big|Too small|Invalid input|expected/);
  });

  it.each(taskRoutes.map((r) => [r.path]))('%s: an unknown task id is a 404', async (path) => {
    const body = path.endsWith('heartbeat')
      ? { runner_id: 'r', status: 'running' }
      : path.endsWith('fail')
        ? { runner_id: 'r', error_type: 'benchmark_failed' }
        : { runner_id: 'r' };
    expectError(
      await api.call('POST', path.replace('{id}', String(taskId + 99_000)), { key: RUNNER, body }),
      404,
      'not_found',
    );
  });

  it('answers an unknown path with a JSON 404', async () => {
    expectError(await api.call('GET', '/nope'), 404, 'not_found');
    expectError(await api.call('GET', '/run/start'), 404, 'not_found');
  });

  it('rejects an unknown query parameter on GET /run/tasks', async () => {
    expectError(await api.call('GET', '/run/tasks?limit=5&colour=red'), 400, 'invalid_request');
    expectError(await api.call('GET', '/run/tasks?limit=0'), 400, 'invalid_request');
    expectError(await api.call('GET', '/run/tasks?cursor=zz'), 400, 'invalid_request');
    // named as typed, not as what coercing it to a number made of it
    expect((await api.call('GET', '/run/tasks?limit=abc')).body).toEqual({
      error: 'invalid_request',
      message: 'query limit: must be a whole number from 1 to 1000',
    });
    expect((await api.call('GET', '/run/tasks?limit=1001')).body).toMatchObject({
      message: 'query limit: must be at most 1000',
    });
  });

  it('names the fields a body takes when it has one it does not', async () => {
    const answer = await api.call('POST', '/tasks/100000000000001/complete', {
      key: RUNNER,
      body: { runner_id: 'r1', result_key: 'runs/1/tasks/1/result.tar.gz' },
    });
    expect(answer.body).toEqual({
      error: 'invalid_request',
      message: 'unknown field(s): result_key; allowed: runner_id, s3_result_key, attempt',
    });
  });
});
