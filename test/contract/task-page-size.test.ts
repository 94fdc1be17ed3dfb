// GET /run/tasks answers through a Lambda, whose response payload is capped at 6 MB: past it API
// Gateway answers the client a 5xx, and the dashboard and CLI that page through tasks break. Tasks
// whose free text is at its caps and made of control characters (6 bytes each in JSON) filled that
// at 188 a page; every page must stay under the budget, and paging must still give every task once.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { MAX_PAGE_BYTES, payloadBytes } from '../../lambdas/core/task-pages';
import { makeHandler } from '../../lambdas/handlers/list-tasks';
import { MAX_ERROR_MESSAGE, splitTaskId, storageKeys, TaskListResponse } from '../../lambdas/shared/contract';
import { localContext } from '../../lambdas/shared/task';
import { type Answer, client, OPERATOR, startTestStack } from '../helpers/api';

const LAMBDA_PAYLOAD_CAP = 6 * 1024 * 1024;
/** Text of `n` control characters, each one `\u00XX` (6 bytes) in JSON. */
const controls = (n: number): string =>
  Array.from({ length: n }, (_, i) => String.fromCharCode(1 + (i % 7))).join('');

let stack: LocalStack;
let api: ReturnType<typeof client>;
beforeAll(async () => {
  stack = await startTestStack();
  api = client(stack.apiUrl);
});
afterAll(() => stack.stop());

/** Every task of the current run rewritten straight into the table with the largest free text a runner could leave. */
async function fillToTheCaps(runId: number): Promise<number> {
  const tasks = [];
  for (let after: number | undefined; ; ) {
    const page = await stack.deps.store.listTasks(runId, 500, after);
    tasks.push(...page.tasks);
    if (page.nextIndex === null) break;
    after = page.nextIndex;
  }
  const at = new Date().toISOString();
  await stack.deps.store.putTasks(
    tasks.map((t) => ({
      ...t,
      status: 'failed' as const,
      attempt: 1,
      runner_id: controls(128),
      claimed_at: at,
      heartbeat_at: at,
      heartbeat_status: 'error' as const,
      heartbeat_message: controls(1_000),
      current_benchmark: controls(200),
      progress_pct: 99.99,
      finished_at: at,
      error_type: '"'.repeat(64), // error types refuse control characters; a quote is 2 bytes
      error_message: controls(MAX_ERROR_MESSAGE),
      s3_result_key: storageKeys.result(runId, t.id),
      s3_error_key: storageKeys.error(runId, t.id),
      debug_mode: true,
    })),
  );
  return tasks.length;
}

async function pageThrough(limit: number): Promise<{ ids: number[]; bodies: string[] }> {
  const ids: number[] = [];
  const bodies: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await fetch(`${stack.apiUrl}/run/tasks?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    bodies.push(text);
    const page = TaskListResponse.parse(JSON.parse(text));
    ids.push(...page.tasks.map((t) => t.id));
    cursor = page.next_cursor;
    expect(bodies.length).toBeLessThan(50); // a cursor that did not move would loop here
  } while (cursor);
  return { ids, bodies };
}

it('leaves ordinary pages as they were: the envelope, the count asked for, cursors that are task indexes', async () => {
  const start = await api.start({ runs_per_instance_type: 4, local: ['a', 'b'] });
  expect(start.status).toBe(201);
  const pages: TaskListResponse[] = [];
  let cursor: string | null = null;
  do {
    const res: Answer<TaskListResponse> = await api.call<TaskListResponse>(
      'GET',
      `/run/tasks?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
    );
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['run_id', 'tasks', 'next_cursor']);
    pages.push(res.body);
    cursor = res.body.next_cursor;
  } while (cursor);
  expect(pages.map((p) => [p.tasks.length, p.next_cursor])).toEqual([
    [3, '2'],
    [3, '5'],
    [2, null],
  ]);
  expect(pages.flatMap((p) => p.tasks.map((t) => t.id))).toEqual(start.body.tasks.map((t) => t.id));
  const all = await api.call<TaskListResponse>('GET', '/run/tasks');
  expect(all.body).toMatchObject({ run_id: start.body.run_id, next_cursor: null });
  expect(all.body.tasks).toHaveLength(8);
  // ended, so the next test can start its own run
  expect((await api.call('POST', '/run/stop', { key: OPERATOR })).status).toBe(200);
  await waitUntilEnded();
});

it('cuts pages of the largest tasks by bytes, and paging still gives every task once, in order', async () => {
  const start = await api.start({ runs_per_instance_type: 100, local: ['a', 'b', 'c', 'd'] });
  expect(start.status).toBe(201);
  const { run_id: runId } = start.body;
  const total = await fillToTheCaps(runId);
  expect(total).toBe(400);

  const { ids, bodies } = await pageThrough(1000);
  expect(ids).toEqual(start.body.tasks.map((t) => t.id)); // every task, once, in index order
  expect(bodies.length).toBeGreaterThan(2);
  const largest = Math.max(...bodies.map((b) => payloadBytes(b)));
  for (const body of bodies) {
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_PAGE_BYTES); // as the client gets it
    expect(payloadBytes(body)).toBeLessThanOrEqual(MAX_PAGE_BYTES); // as it sits in the Lambda's answer
  }
  // cut by bytes, not by count: every page but the last is within one task of the budget
  const oneTask = payloadBytes(JSON.stringify(TaskListResponse.parse(JSON.parse(bodies[0] ?? '')).tasks[0]));
  for (const body of bodies.slice(0, -1))
    expect(payloadBytes(body) + oneTask + 1).toBeGreaterThan(MAX_PAGE_BYTES);
  expect(largest).toBeGreaterThan(MAX_PAGE_BYTES - oneTask - 1);

  // each cut page's cursor is its last task's index: the next page starts right after it
  for (const body of bodies.slice(0, -1)) {
    const page = TaskListResponse.parse(JSON.parse(body));
    const last = page.tasks[page.tasks.length - 1];
    expect(page.next_cursor).toBe(String(splitTaskId(last?.id ?? 0).index));
  }
}, 60_000);

it('keeps the Lambda answer itself, status and headers included, under the 6 MB payload cap', async () => {
  // the run of the test above: the same handler the local server serves, called as Lambda calls it
  const handler = makeHandler(stack.deps);
  const event = {
    version: '2.0',
    routeKey: 'GET /run/tasks',
    rawPath: '/run/tasks',
    rawQueryString: 'limit=1000',
    headers: {},
    queryStringParameters: { limit: '1000' },
    isBase64Encoded: false,
    requestContext: { http: { method: 'GET', path: '/run/tasks' } },
  } as unknown as APIGatewayProxyEventV2;
  const out = (await handler(event, localContext('list-tasks', 30))) as APIGatewayProxyStructuredResultV2;
  expect(out.statusCode).toBe(200);
  // what the Lambda runtime sends back: the handler's result, serialised
  const payload = Buffer.byteLength(JSON.stringify(out));
  expect(payload).toBeLessThan(LAMBDA_PAYLOAD_CAP);
  expect(payloadBytes(out.body ?? '')).toBeGreaterThan(MAX_PAGE_BYTES - 64 * 1024); // filled to its budget
  const viaServer = await fetch(`${stack.apiUrl}/run/tasks?limit=1000`);
  expect(await viaServer.text()).toBe(out.body); // the local server answers the very same page
});

async function waitUntilEnded(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { status } = (await api.run()).body;
    if (status !== 'running' && status !== 'assembling') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the run did not end within 10 s');
}
