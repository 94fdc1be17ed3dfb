// Every route of the table, 500 generated requests each (20 batches of 25 concurrent requests),
// against ONE local server with a run in progress: each answer is a 4xx with a JSON ErrorBody of
// the right status or a contract-valid 2xx, never a 5xx, and the run (GET /run with a key plus the
// full task list) is unchanged after every batch that had no accepted state-changing write.
import fc from 'fast-check';
import type { z } from 'zod';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import {
  ClaimResponse,
  ErrorBody,
  HeartbeatResponse,
  MessageResponse,
  PresignedUrls,
  RunView,
  StartRunResponse,
  TaskListResponse,
} from '../../lambdas/shared/contract';
import { STATUS_OF } from '../../lambdas/shared/http';
import { type HandlerName, ROUTES, routeKey } from '../../lambdas/shared/routes';
import { client, OPERATOR, RUNNER, startTestStack } from '../helpers/api';
import { type FuzzContext, type FuzzRequest, HOLDER, requestFor } from './requests';

const BATCH = 25;
const BATCHES = 20; // 500 requests per route
const INSTANCE_TYPE = 'fz';

const SUCCESS: Record<HandlerName, z.ZodType> = {
  'start-run': StartRunResponse,
  'get-run': RunView,
  'list-tasks': TaskListResponse,
  'stop-run': MessageResponse,
  'assemble-run': MessageResponse,
  'claim-task': ClaimResponse,
  'heartbeat-task': HeartbeatResponse,
  'complete-task': MessageResponse,
  'fail-task': MessageResponse,
  'upload-urls': PresignedUrls,
};

let stack: LocalStack;
let ctx: FuzzContext;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  stack = await startTestStack();
  api = client(stack.apiUrl);
  const started = await api.start({ runs_per_instance_type: 2, local: [INSTANCE_TYPE] });
  const runId = started.body.run_id;
  const held = await api.claim(runId, INSTANCE_TYPE, HOLDER);
  expect(held.body.status).toBe('assigned');
  ctx = {
    operatorKey: OPERATOR,
    runnerKey: RUNNER,
    runId,
    taskIds: started.body.tasks.map((t) => t.id),
    instanceType: INSTANCE_TYPE,
  };
});
afterAll(() => stack.stop());

async function snapshot(): Promise<string> {
  const run = await api.run(OPERATOR);
  const tasks = await api.call('GET', '/run/tasks?limit=1000');
  expect(run.status).toBe(200);
  expect(tasks.status).toBe(200);
  return JSON.stringify([run.body, tasks.body]);
}

interface Outcome {
  req: FuzzRequest;
  status: number;
  text: string;
}

async function send(req: FuzzRequest): Promise<Outcome> {
  const headers: Record<string, string> = {};
  if (req.authorization !== undefined) headers.authorization = req.authorization;
  if (req.contentType !== undefined) headers['content-type'] = req.contentType;
  const url = `${stack.apiUrl}${req.path}${req.query ? `?${req.query}` : ''}`;
  try {
    const res = await fetch(url, { method: req.method, headers, body: req.body });
    return { req, status: res.status, text: await res.text() };
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    throw new Error(
      `no answer (${cause}): ${req.method} ${req.path} with a ${req.body?.length ?? 0}-character body`,
    );
  }
}

const describeReq = (o: Outcome): string =>
  `${o.req.method} ${o.req.path}?${o.req.query} auth=${JSON.stringify(o.req.authorization?.slice(0, 60))} ` +
  `type=${o.req.contentType} body=${JSON.stringify(o.req.body?.slice(0, 200))} -> ${o.status} ${o.text.slice(0, 300)}`;

/** Throws (naming the request) unless the answer is a well-formed 4xx or a contract-valid 2xx. */
function check(handler: HandlerName, o: Outcome): void {
  let body: unknown;
  try {
    body = JSON.parse(o.text);
  } catch {
    throw new Error(`answer is not JSON: ${describeReq(o)}`);
  }
  if (o.status >= 400 && o.status < 500) {
    const err = ErrorBody.safeParse(body);
    if (!err.success || STATUS_OF[err.data.error] !== o.status || err.data.message.length === 0) {
      throw new Error(`malformed error answer: ${describeReq(o)}`);
    }
    return;
  }
  if (o.status >= 200 && o.status < 300) {
    if (!SUCCESS[handler].safeParse(body).success)
      throw new Error(`2xx outside the contract: ${describeReq(o)}`);
    return;
  }
  throw new Error(`status ${o.status}: ${describeReq(o)}`);
}

/** A 2xx that may rightly change the run (none is expected: the generators avoid them). */
function changesState(handler: HandlerName, o: Outcome): boolean {
  if (o.status >= 300) return false;
  if (handler === 'claim-task') return (JSON.parse(o.text) as { status?: string }).status === 'assigned';
  return !['get-run', 'list-tasks', 'upload-urls'].includes(handler);
}

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

describe.each(ROUTES.map((r) => [routeKey(r), r] as const))('%s', (_key, route) => {
  it('answers 500 generated requests with a JSON 4xx or a valid 2xx, and rejected ones change nothing', async () => {
    const tally = new Map<number, number>();
    let before = await snapshot();
    const details = await fc.check(
      fc.asyncProperty(
        fc.array(requestFor(route, ctx), { minLength: BATCH, maxLength: BATCH }),
        async (batch) => {
          const outcomes = await Promise.all(batch.map(send));
          for (const o of outcomes) {
            tally.set(o.status, (tally.get(o.status) ?? 0) + 1);
            check(route.handler, o);
          }
          const after = await snapshot();
          const changed = outcomes.filter((o) => changesState(route.handler, o));
          if (changed.length === 0 && after !== before) {
            throw new Error(
              `rejected requests changed the run; batch:\n${outcomes.map(describeReq).join('\n')}`,
            );
          }
          before = after;
        },
      ),
      // shrinking re-sends hundreds of batches; the message already names the offending request
      { numRuns: BATCHES, endOnFailure: true, ...(seed === undefined ? {} : { seed }) },
    );
    // fast-check's own report prints the whole batch (megabytes of huge strings): name the request
    if (details.failed) {
      const err = details.errorInstance as Error | null;
      throw new Error(`FUZZ_SEED=${details.seed} failed: ${err?.message ?? String(err)}`);
    }
    const total = [...tally.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(BATCH * BATCHES);
    // the generators reach past the key check: some answers are not 401
    expect(total - (tally.get(401) ?? 0)).toBeGreaterThan(0);
  });
});
