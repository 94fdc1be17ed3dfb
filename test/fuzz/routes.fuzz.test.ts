// Every route of the table, 500 generated requests each (50 batches of 10), against ONE local server
// holding the fixture (fixture.ts: tasks claimed, running, pending, retried, completed, failed,
// cancelled). Each answer must be a 4xx with a JSON ErrorBody or a contract-valid 2xx, never a 5xx,
// and exactly the one the model (oracle.ts) predicts: status, error code, and a 2xx's content.
//
// The 2xx a generated request may get are only these: the reads; a claim told `wait` or `done`; a
// heartbeat told `abort` on a cancelled task of its runner; a repeated complete or fail (its answer
// was lost); and the accepted writes: a heartbeat, complete or fail from the runner holding the task
// at its attempt, a claim of the one queue with tasks left. Any other 2xx fails the model.
//
// State is the raw table and bucket (state.ts: every item and object, not the API's view of them):
// - requests the model says change nothing go out together, ten at most, and the raw state after
//   them must be the baseline, whatever they were answered: a 2xx among them excuses nothing;
// - the accepted writes go out one at a time, and their changes must stay within their own task and
//   run items; they are then undone, so every request meets the same state.
import { appendFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
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
import { startTestStack } from '../helpers/api';
import { type Fixture, setUpFixture } from './fixture';
import { type Expectation, expectedAnswer, type FuzzRequest } from './oracle';
import { requestFor } from './requests';
import { containers, describeChanges, diff, keyOf, type RawState, rawState, restoreItems } from './state';

const BATCH = 10;
const BATCHES = 50; // 500 requests per route

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

/**
 * Per route, at least how many of its 500 answers come from the route's own logic (past the key,
 * JSON and schema checks; for a task route, the task-level 404s, 409s and 2xx), and at least how
 * many of each task-level answer: a generator drifting back to the 401s and 400s fails here. The
 * floors sit about 4.5 standard deviations under what the generators give on average (in brackets),
 * so a random seed does not trip them; an answer the generators give rarely is only asserted to come.
 */
const DEEP: Record<HandlerName, { deep: number; labels: Record<string, number> }> = {
  'start-run': { deep: 150, labels: { '409 run_in_progress': 150 } }, // [215]
  'get-run': { deep: 230, labels: { '200': 230 } }, // [320]
  'list-tasks': { deep: 230, labels: { '200': 230 } }, // [310]
  'stop-run': { deep: 150, labels: { '404 not_found': 150 } }, // [220]
  'assemble-run': { deep: 150, labels: { '409 run_in_progress': 150 } }, // [225]
  // both claim routes: [265 / 230], wait [42 / 60], done [200 / 155], assigned [25 / 14]
  'claim-task': { deep: 160, labels: { '200 wait': 14, '200 done': 100, '200 assigned': 1 } },
  'heartbeat-task': {
    deep: 150, // [245]
    labels: {
      '409 not_your_task': 45, // [88]
      '409 stale_attempt': 1, // [20]
      '409 task_finished': 28, // [63]
      '404 no such task': 1, // [25]
      '200 continue': 12, // [40]
      '200 abort': 1, // [10]
    },
  },
  'complete-task': {
    deep: 150, // [205]
    labels: {
      '409 not_your_task': 40, // [76]
      '409 stale_attempt': 1, // [20]
      '409 task_finished': 14, // [42]
      '409 result_not_uploaded': 6, // [30]
      '404 no such task': 1, // [18]
      '200 completed': 1, // [10]
    },
  },
  'fail-task': {
    deep: 150, // [210]
    labels: {
      '409 not_your_task': 40, // [85]
      '409 stale_attempt': 1, // [16]
      '409 task_finished': 18, // [50]
      '404 no such task': 1, // [13]
      '200 requeued': 1, // [14]
      '200 failed': 1, // [18]
    },
  },
  'upload-urls': {
    deep: 150, // [235]
    labels: {
      '409 not_your_task': 45, // [88]
      '409 stale_attempt': 1, // [20]
      '409 task_finished': 28, // [63]
      '404 no such task': 1, // [20]
      '200': 15, // [45]
    },
  },
};

let stack: LocalStack;
let fx: Fixture;
let baseline: RawState;
let tablesAndBuckets: string;

let setUpMs = 0;
beforeAll(async () => {
  const t0 = performance.now();
  stack = await startTestStack();
  fx = await setUpFixture(stack);
  baseline = await rawState(stack.services);
  tablesAndBuckets = await containers(stack.services);
  setUpMs = performance.now() - t0;
}, 60_000);
afterAll(async () => {
  agent.destroy();
  await stack.stop();
});

interface Outcome {
  req: FuzzRequest;
  status: number;
  text: string;
}

/** Where the time goes (ms): with FUZZ_TALLY=<file>, each route appends its tally and timings there. */
const spent = { send: 0, state: 0, restore: 0, generate: 0 };
async function timed<T>(what: keyof typeof spent, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await f();
  } finally {
    spent[what] += performance.now() - t0;
  }
}

// node:http rather than fetch: a third of the CPU per request, and it sends what it is given (fetch
// would add a text/plain content type to a body sent without one)
const agent = new Agent({ keepAlive: true, maxSockets: BATCH });

function send(req: FuzzRequest): Promise<Outcome> {
  const headers: Record<string, string> = {};
  if (req.authorization !== undefined) headers.authorization = req.authorization;
  if (req.contentType !== undefined) headers['content-type'] = req.contentType;
  const url = new URL(`${stack.apiUrl}${req.path}${req.query ? `?${req.query}` : ''}`);
  return new Promise((resolve, reject) => {
    const failed = (err: Error): void =>
      reject(
        new Error(
          `no answer (${err.message}): ${req.method} ${req.path} with a ${req.body?.length ?? 0}-character body`,
        ),
      );
    const out = request(url, { method: req.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', failed);
      res.on('end', () =>
        resolve({ req, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    out.on('error', failed);
    out.end(req.body === undefined ? undefined : Buffer.from(req.body, 'utf8'));
  });
}

const describeReq = (o: Pick<Outcome, 'req'> & Partial<Outcome>): string =>
  `${o.req.method} ${o.req.path}?${o.req.query} auth=${JSON.stringify(o.req.authorization?.slice(0, 60))} ` +
  `type=${o.req.contentType} body=${JSON.stringify(o.req.body?.slice(0, 200))}` +
  (o.status === undefined ? '' : ` -> ${o.status} ${o.text?.slice(0, 300)}`);

/** Throws (naming the request) unless the answer is well formed and the one the model predicts. */
function check(handler: HandlerName, o: Outcome, want: Expectation): void {
  let body: unknown;
  try {
    body = JSON.parse(o.text);
  } catch {
    throw new Error(`answer is not JSON: ${describeReq(o)}`);
  }
  if (o.status >= 400 && o.status < 500) {
    const err = ErrorBody.safeParse(body);
    if (!err.success || STATUS_OF[err.data.error] !== o.status || err.data.message.length === 0)
      throw new Error(`malformed error answer: ${describeReq(o)}`);
  } else if (o.status >= 200 && o.status < 300) {
    if (!SUCCESS[handler].safeParse(body).success)
      throw new Error(`2xx outside the contract: ${describeReq(o)}`);
  } else {
    throw new Error(`status ${o.status}: ${describeReq(o)}`);
  }
  const got = o.status >= 400 ? `${o.status} ${(body as ErrorBody).error}` : String(o.status);
  const wanted = want.error ? `${want.status} ${want.error}` : String(want.status);
  if (got !== wanted) throw new Error(`expected ${wanted} (${want.label}), got ${describeReq(o)}`);
  const complaint = o.status < 300 ? want.answer?.(body) : undefined;
  if (complaint) throw new Error(`${complaint}, got ${describeReq(o)}`);
}

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

describe.each(ROUTES.map((r) => [routeKey(r), r] as const))('%s', (key, route) => {
  it('answers 500 generated requests as the model says, and only accepted writes change state', async () => {
    const started = performance.now();
    for (const k of Object.keys(spent) as Array<keyof typeof spent>) spent[k] = 0;
    const tally = new Map<string, number>();
    let deepCount = 0;
    let alone = 0;
    const count = (label: string): void => {
      tally.set(label, (tally.get(label) ?? 0) + 1);
    };
    let answered = 0;
    const unchanged = async (what: () => string): Promise<void> => {
      const changes = diff(baseline, await timed('state', () => rawState(stack.services)));
      if (changes.length > 0) throw new Error(`${what()}\nchanged: ${describeChanges(changes)}`);
    };
    const details = await fc.check(
      fc.asyncProperty(
        fc.array(requestFor(route, fx, stack.apiUrl), { minLength: BATCH, maxLength: BATCH }),
        async (batch) => {
          const planned = batch.map((req) => ({ req, want: expectedAnswer(req, fx, stack.apiUrl) }));
          for (const { want } of planned) {
            count(want.label);
            // a 400 from the route itself (a wrong s3_result_key) is not a task-level answer
            if (want.deep && want.status !== 400) deepCount++;
          }
          // what must change nothing goes out together; then the raw state must be the baseline
          const together = planned.filter((p) => !p.want.mayChange);
          const outcomes = await timed('send', () => Promise.all(together.map((p) => send(p.req))));
          answered += outcomes.length;
          for (const [n, o] of outcomes.entries()) check(route.handler, o, together[n]!.want);
          await unchanged(
            () => `requests that must change nothing changed state:\n${outcomes.map(describeReq).join('\n')}`,
          );
          // what may rightly write goes out alone: its changes are its own, checked, then undone
          for (const p of planned.filter((x) => x.want.mayChange)) {
            alone++;
            const o = await timed('send', () => send(p.req));
            answered++;
            check(route.handler, o, p.want);
            const after = await timed('state', () => rawState(stack.services));
            const changes = diff(baseline, after);
            if (changes.length === 0) continue;
            const allowed = new Set((p.want.mayChange ?? []).map((k) => keyOf(stack.services.table, k)));
            const stray = changes.filter((c) => c.where !== 'item' || !allowed.has(c.key));
            if (stray.length > 0)
              throw new Error(`an accepted request changed ${describeChanges(stray)}: ${describeReq(o)}`);
            await timed('restore', () => restoreItems(stack.services, baseline, after));
          }
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
    // no table or bucket came or went
    expect(await containers(stack.services)).toBe(tablesAndBuckets);
    spent.generate = performance.now() - started - spent.send - spent.state - spent.restore;
    if (process.env.FUZZ_TALLY) {
      const tallied = Object.fromEntries([...tally].sort());
      const line = { route: key, setUpMs, answered, deep: deepCount, alone, spent, tally: tallied };
      appendFileSync(process.env.FUZZ_TALLY, `${JSON.stringify(line)}\n`);
    }
    expect(answered).toBeGreaterThanOrEqual(500);
    // the generators reach the route's own logic, and each of its rules, often
    const floor = DEEP[route.handler];
    const short = Object.entries(floor.labels)
      .filter(([label, min]) => (tally.get(label) ?? 0) < min)
      .map(([label, min]) => `${label}: ${tally.get(label) ?? 0} < ${min}`);
    expect({ deep: deepCount >= floor.deep ? 'enough' : `${deepCount} < ${floor.deep}`, short }).toEqual({
      deep: 'enough',
      short: [],
    });
    // a route's 500 requests take 2-6 s alone; the margin is for a CI machine busy with other suites
  }, 180_000);
});
