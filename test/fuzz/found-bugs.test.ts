// The fuzzer's finds, each pinned as one deterministic request so the fix has a precise target.
// Every one of them must answer a JSON 4xx (or a 2xx), never a 500 or a reset connection.
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { ErrorBody, MAX_BODY_BYTES } from '../../lambdas/shared/contract';
import { client, OPERATOR, RUNNER, startTestStack } from '../helpers/api';

let stack: LocalStack;
let api: ReturnType<typeof client>;
let runId: number;
let taskId: number;

beforeAll(async () => {
  stack = await startTestStack();
  api = client(stack.apiUrl);
  const started = await api.start({ runs_per_instance_type: 1, local: ['bug'] });
  runId = started.body.run_id;
  const claim = await api.claim(runId, 'bug', 'bug-runner');
  expect(claim.body.status).toBe('assigned');
  taskId = started.body.tasks[0]?.id as number;
});
afterAll(() => stack.stop());

it('answers a malformed percent-escape in a path id with a JSON 4xx, not a 500', async () => {
  // matchRoute (lambdas/shared/routes.ts) calls decodeURIComponent, which throws URIError on these
  for (const path of ['/tasks/%zz/heartbeat', '/tasks/%E0%A4%A/fail', '/runs/%zz/tasks/claim']) {
    const res = await fetch(stack.apiUrl + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${RUNNER}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect([400, 404]).toContain(res.status);
    ErrorBody.parse(await res.json());
  }
});

it('answers 413 to every one of many concurrent oversized bodies instead of resetting them', async () => {
  // the local server stops reading at 64 KB and answers while the client is still sending, so under
  // load the client sees ECONNRESET instead of the 413 (API Gateway reads the body, then answers)
  const body = '\u{1F600}'.repeat(MAX_BODY_BYTES); // 256 KB of UTF-8
  const answers: string[] = [];
  const expected: string[] = [];
  for (let round = 0; round < 3; round++) {
    // oversized bodies between small ones, as the fuzzer sends them over kept-alive connections
    const batch = await Promise.all(
      Array.from({ length: 24 }, (_, n) =>
        fetch(`${stack.apiUrl}/tasks/${taskId}/heartbeat`, {
          method: 'POST',
          headers: { authorization: `Bearer ${RUNNER}`, 'content-type': 'application/json' },
          body: n % 2 ? body : '{"runner_id": 1}',
        }).then(
          (r) => `${n % 2 ? 'big' : 'small'} ${r.status}`,
          (err: Error) =>
            `${n % 2 ? 'big' : 'small'} ${err.message}: ${(err.cause as Error | undefined)?.message}`,
        ),
      ),
    );
    answers.push(...batch);
    expected.push(...batch.map((_, n) => (n % 2 ? 'big 413' : 'small 400')));
  }
  expect(answers).toEqual(expected);
});

it('answers a heartbeat with a tiny progress_pct without a 500 (DynamoDB numbers stop at 1e-130)', async () => {
  const res = await api.heartbeat(taskId, 'bug-runner', { progress_pct: 5e-324 });
  expect([200, 400]).toContain(res.status);
  const after = await api.heartbeat(taskId, 'bug-runner', { progress_pct: 1e-200 });
  expect([200, 400]).toContain(after.status);
});

it('answers a run config with a tiny MIN_BENCH_TIME without a 500', async () => {
  const other = await startTestStack();
  try {
    const answer = await client(other.apiUrl).call('POST', '/run/start', {
      key: OPERATOR,
      body: {
        ruby_version: '3.4.7',
        runs_per_instance_type: 1,
        local: ['bug'],
        ruby_bench_env: { MIN_BENCH_TIME: 1e-200 },
      },
    });
    expect([201, 400]).toContain(answer.status);
  } finally {
    await other.stop();
  }
});
