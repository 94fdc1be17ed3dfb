// What the API must answer to one generated request, given the fixture (fixture.ts): the status, the
// error code, what a 2xx says, and which items it may rightly change. The outer checks (body size,
// key, JSON, the contract's schemas) decide a shallow 4xx; past them, a small model of the
// documented rules (DESIGN "Decisions", lambdas/shared/contract.ts) decides the task-level answer.
import type * as z from 'zod';
import type { TaskRecord } from '../../lambdas/core/ports';
import {
  ClaimRequest,
  CompleteRequest,
  type ErrorCode,
  FailRequest,
  HeartbeatRequest,
  MAX_BODY_BYTES,
  PresignedUrls,
  RETRYABLE_ERROR_TYPES,
  RunConfig,
  StopRequest,
  splitTaskId,
  storageKeys,
  TaskListQuery,
  UploadUrlsRequest,
} from '../../lambdas/shared/contract';
import { NoBody, NoQuery, pathId } from '../../lambdas/shared/http';
import { type HandlerName, matchRoute, type Route } from '../../lambdas/shared/routes';
import { keys } from '../../lambdas/shared/table';
import { type Fixture, MAX_ATTEMPTS, PROVIDER, QUEUES } from './fixture';

export type KeyKind = 'operator' | 'runner' | null;

export interface FuzzRequest {
  method: string;
  /** path and query as sent (the URL parser may still normalise them) */
  path: string;
  query: string;
  authorization: string | undefined;
  /** which key the authorization header carries in a form the API accepts (null: none) */
  keyKind: KeyKind;
  contentType: string | undefined;
  body: string | undefined;
}

export interface Expectation {
  status: number;
  error?: ErrorCode;
  /** a 2xx's body: a complaint, or undefined when it is right */
  answer?: (body: unknown) => string | undefined;
  /**
   * The table items (as `{pk, sk}` of the run's table) an accepted write may change; undefined: the
   * request must change nothing, whatever it is answered.
   */
  mayChange?: Array<{ pk: string; sk: string }>;
  /** past the key, body and schema checks: the route's own logic answered */
  deep: boolean;
  /** the tally's bucket, e.g. `409 not_your_task` */
  label: string;
}

const BODY_SCHEMAS: Record<HandlerName, z.ZodType> = {
  'start-run': RunConfig,
  'get-run': NoBody,
  'list-tasks': NoBody,
  'stop-run': StopRequest,
  'assemble-run': NoBody,
  'claim-task': ClaimRequest,
  'heartbeat-task': HeartbeatRequest,
  'complete-task': CompleteRequest,
  'fail-task': FailRequest,
  'upload-urls': UploadUrlsRequest,
};
const QUERY_SCHEMAS: Partial<Record<HandlerName, z.ZodType>> = { 'list-tasks': TaskListQuery };

/** The content types the generators send that announce JSON. */
export const JSON_TYPES = ['application/json', 'application/json; charset=utf-8'];

const shallow = (status: number, error: ErrorCode, label: string): Expectation => ({
  status,
  error,
  deep: false,
  label: `${status} ${label}`,
});
const deep = (e: Omit<Expectation, 'deep' | 'label'> & { label?: string }): Expectation => ({
  ...e,
  deep: true,
  label: e.label ?? `${e.status}${e.error ? ` ${e.error}` : ''}`,
});

export type Parsed =
  | { ok: true; route: Route; body: Record<string, unknown>; query: unknown; params: Record<string, string> }
  | { ok: false; expectation: Expectation };

/** The outer checks every route makes, in the API's order: size, key, JSON, schema, query. */
export function parse(req: FuzzRequest, baseUrl: string): Parsed {
  const url = new URL(`${baseUrl}${req.path}${req.query ? `?${req.query}` : ''}`);
  const match = matchRoute(req.method, url.pathname);
  if (!match) return { ok: false, expectation: shallow(404, 'not_found', 'no route') };
  const { route } = match;
  const raw = req.body ?? '';
  if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES)
    return { ok: false, expectation: shallow(413, 'payload_too_large', 'too large') };
  // a public route reads without a key, but a Bearer key it is sent must be one of the two
  const wrongBearer = req.keyKind === null && /^Bearer\s+\S/i.test(req.authorization ?? '');
  const authorized =
    (route.access === 'public' && !wrongBearer) ||
    req.keyKind === 'operator' ||
    (route.access === 'runner' && req.keyKind === 'runner');
  if (!authorized) return { ok: false, expectation: shallow(401, 'unauthorized', 'unauthorized') };
  const bad = (why: string): Parsed => ({ ok: false, expectation: shallow(400, 'invalid_request', why) });
  let json: unknown = {};
  if (raw.trim() !== '') {
    // a body without a content type is read as JSON; any other type is refused
    if (req.contentType !== undefined && !JSON_TYPES.includes(req.contentType)) return bad('content type');
    try {
      json = JSON.parse(raw);
    } catch {
      return bad('bad JSON');
    }
  }
  const body = BODY_SCHEMAS[route.handler].safeParse(json);
  if (!body.success) return bad('schema');
  const q: Record<string, string> = {};
  for (const [k, v] of url.searchParams) q[k] = v;
  const query = (QUERY_SCHEMAS[route.handler] ?? NoQuery).safeParse(q);
  if (!query.success) return bad('query');
  for (const name of Object.keys(match.pathParameters)) {
    try {
      pathId(match.pathParameters, name);
    } catch {
      return bad('path id');
    }
  }
  return {
    ok: true,
    route,
    body: body.data as Record<string, unknown>,
    query: query.data,
    params: match.pathParameters,
  };
}

/** The expected answer to `req`, against the fixture. */
export function expectedAnswer(req: FuzzRequest, fx: Fixture, baseUrl: string): Expectation {
  const p = parse(req, baseUrl);
  if (!p.ok) return p.expectation;
  const { route, body } = p;
  const id = (name: string): number => pathId(p.params, name);
  switch (route.handler) {
    case 'start-run':
      // the fixture's run is in progress: no start may succeed
      return deep({ status: 409, error: 'run_in_progress' });
    case 'assemble-run':
      // only an assembly_failed run is assembled again
      return deep({ status: 409, error: 'run_in_progress' });
    case 'stop-run': {
      const runId = (body as { run_id?: number }).run_id;
      // the generators never send these: they would end the fixture's run
      if (runId === undefined || runId === fx.runId) return deep({ status: 200, label: 'STOPS THE RUN' });
      return deep({ status: 404, error: 'not_found' });
    }
    case 'get-run': {
      const view = req.keyKind === 'operator' ? fx.runView.operator : fx.runView.other;
      return deep({ status: 200, answer: sameAs(view) });
    }
    case 'list-tasks':
      return deep({ status: 200, answer: taskPage(fx, p.query as { limit: number; cursor?: string }) });
    case 'claim-task':
      return claim(fx, body as ClaimRequest, p.params.run_id === undefined ? fx.runId : id('run_id'));
    default:
      return taskRoute(route.handler, fx, id('id'), body);
  }
}

const sameAs =
  (expected: unknown) =>
  (got: unknown): string | undefined =>
    JSON.stringify(got) === JSON.stringify(expected) ? undefined : `expected ${JSON.stringify(expected)}`;

function taskPage(fx: Fixture, q: { limit: number; cursor?: string }): (got: unknown) => string | undefined {
  const after = q.cursor === undefined ? -1 : Number(q.cursor);
  const page = fx.taskViews.filter((t) => splitTaskId(t.id).index > after).slice(0, q.limit);
  const last = page.at(-1);
  const lastIndex = last ? splitTaskId(last.id).index : -1;
  const next = page.length === q.limit && lastIndex < fx.taskViews.length - 1 ? String(lastIndex) : null;
  return sameAs({ run_id: fx.runId, tasks: page, next_cursor: next });
}

/** Claims: the fixture's queues are all taken (wait while a task may come back, else done) but one. */
function claim(fx: Fixture, req: ClaimRequest, runId: number): Expectation {
  const answer =
    (status: string) =>
    (got: unknown): string | undefined =>
      (got as { status?: string }).status === status ? undefined : `expected a claim answer "${status}"`;
  if (runId > fx.runId) return deep({ status: 200, answer: answer('wait'), label: '200 wait' });
  const done = deep({ status: 200, answer: answer('done'), label: '200 done' });
  if (runId !== fx.runId || req.provider !== PROVIDER) return done; // an ended run, or nothing for it
  const queue = [...fx.tasks.values()].filter(
    (t) => t.run_id === runId && t.instance_type === req.instance_type,
  );
  if (queue.length === 0) return done;
  if (req.instance_type === QUEUES.pending) {
    // the one queue with tickets left: the claim is rightly assigned one of its tasks
    return deep({
      status: 200,
      label: '200 assigned',
      answer: (got) => {
        const a = got as { status?: string; task?: { instance_type?: string; attempt?: number } };
        return a.status === 'assigned' && a.task?.instance_type === QUEUES.pending && a.task.attempt === 1
          ? undefined
          : 'expected a task of the pending queue';
      },
      mayChange: [keys.run(runId), ...queue.map((t) => keys.task(runId, t.index))],
    });
  }
  // every task taken; with max_attempts > 1 an unfinished one may come back, so runners wait
  const unfinished = queue.some((t) => !['completed', 'failed', 'cancelled'].includes(t.status));
  if (MAX_ATTEMPTS > 1 && unfinished) return deep({ status: 200, answer: answer('wait'), label: '200 wait' });
  return done;
}

type Fenced = { runner_id: string; attempt?: number | undefined };

const holds = (t: TaskRecord, f: Fenced): boolean =>
  (t.status === 'claimed' || t.status === 'running') &&
  t.runner_id === f.runner_id &&
  (f.attempt === undefined || f.attempt === t.attempt);

/** The 409 a runner gets for a task it does not hold (DESIGN: not_your_task, task_finished, stale_attempt). */
function refusal(t: TaskRecord, f: Fenced): Expectation {
  const finished = t.status === 'completed' || t.status === 'failed' || t.status === 'cancelled';
  const error: ErrorCode = finished
    ? 'task_finished'
    : t.runner_id !== f.runner_id
      ? 'not_your_task'
      : f.attempt !== undefined && f.attempt !== t.attempt
        ? 'stale_attempt'
        : 'task_finished';
  return deep({ status: 409, error });
}

const notFound = (): Expectation => deep({ status: 404, error: 'not_found', label: '404 no such task' });

function taskRoute(
  handler: HandlerName,
  fx: Fixture,
  taskId: number,
  body: Record<string, unknown>,
): Expectation {
  const { runId, index } = splitTaskId(taskId);
  if (runId <= 0 || index < 0) return notFound();
  const f = body as Fenced;
  const t = fx.tasks.get(taskId);
  const item = (): Array<{ pk: string; sk: string }> => [keys.task(runId, index), keys.run(runId)];
  switch (handler) {
    case 'heartbeat-task': {
      if (!t) return notFound();
      if (holds(t, f))
        return deep({
          status: 200,
          answer: sameAs({ action: 'continue' }),
          label: '200 continue',
          mayChange: item(),
        });
      // a stopped run's runner is told to stop
      if (t.status === 'cancelled' && t.runner_id === f.runner_id)
        return deep({ status: 200, answer: sameAs({ action: 'abort' }), label: '200 abort' });
      return refusal(t, f);
    }
    case 'upload-urls': {
      if (!t) return notFound();
      if (!holds(t, f)) return refusal(t, f);
      return deep({
        status: 200,
        answer: (got) => {
          const urls = PresignedUrls.safeParse(got);
          return urls.success &&
            urls.data.result_key === storageKeys.result(runId, taskId) &&
            urls.data.error_key === storageKeys.error(runId, taskId)
            ? undefined
            : `expected the URLs of task ${taskId}`;
        },
      });
    }
    case 'complete-task': {
      const key = storageKeys.result(runId, taskId);
      const named = (body as CompleteRequest).s3_result_key;
      if (named !== undefined && named !== key)
        return deep({ status: 400, error: 'invalid_request', label: '400 wrong s3_result_key' });
      if (!t) return notFound();
      if (!fx.objects.has(key)) {
        if (!holds(t, f)) return refusal(t, f);
        return deep({ status: 409, error: 'result_not_uploaded' });
      }
      if (holds(t, f)) return deep({ status: 200, label: '200 completed', mayChange: item() });
      // a repeat of the runner's own complete (its answer was lost) succeeds and changes nothing
      if (t.status === 'completed' && t.runner_id === f.runner_id)
        return deep({ status: 200, label: '200 repeated complete' });
      return refusal(t, f);
    }
    case 'fail-task': {
      const req = body as FailRequest;
      // any s3_error_key is taken (one not minted counts as none): a failure is never refused for it
      if (!t) return notFound();
      // a repeat of the runner's own fail (its answer was lost) succeeds and changes nothing
      if (
        t.status === 'failed' &&
        t.runner_id === req.runner_id &&
        t.error_type === req.error_type &&
        (req.attempt === undefined || req.attempt === t.attempt)
      )
        return deep({ status: 200, label: '200 repeated fail' });
      if (t.requeued_by === `${req.runner_id} ${req.attempt ?? t.attempt} ${req.error_type}` && t.gen > 0)
        return deep({ status: 200, label: '200 repeated requeue' });
      if (!holds(t, f)) return refusal(t, f);
      const retried = RETRYABLE_ERROR_TYPES.includes(req.error_type) && t.attempt < t.max_attempts;
      return deep({ status: 200, label: retried ? '200 requeued' : '200 failed', mayChange: item() });
    }
    default:
      throw new Error(`no model for ${handler}`);
  }
}
