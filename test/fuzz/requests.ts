// fast-check generators of HTTP requests for every route of the table, aimed past the outer checks:
// most carry a key the route takes, a real task id (of a task held by HOLDER or by OTHER, pending,
// finished, of the old run) and a near-valid body (the holder's runner_id or another's, the right
// attempt, a stale one or none), so the task-level rules answer hundreds of them per route. The rest
// are the outer checks' diet: no or wrong keys, bogus ids, mutated bodies (a field dropped, added or
// retyped), any JSON, bad JSON, huge and unicode strings, and the wrong content type.
// No generated request may end the fixture's run (a stop of the current run): those are filtered out.
import fc from 'fast-check';
import type { TaskRecord } from '../../lambdas/core/ports';
import { ERROR_TYPES, HEARTBEAT_STATUSES, storageKeys } from '../../lambdas/shared/contract';
import type { Route } from '../../lambdas/shared/routes';
import { type Fixture, HOLDER, OLD_QUEUE, OTHER, PROVIDER, QUEUES, tasksByState } from './fixture';
import { type FuzzRequest, JSON_TYPES, type KeyKind, parse } from './oracle';

export type { FuzzRequest } from './oracle';

const printable = fc
  .string({ unit: 'grapheme-ascii', maxLength: 80 })
  // header values cannot carry control characters: node:http would refuse before sending
  .map((s) => [...s].filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f).join(''));
const unicode = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  // any code point, lone surrogates included (fast-check's `binary` unit costs 1.4 s to set up)
  fc
    .array(fc.integer({ min: 0, max: 0x10ffff }), { maxLength: 60 })
    .map((cps) => String.fromCodePoint(...cps)),
);
const huge = fc
  .integer({ min: 1_000, max: 70_000 })
  .chain((n) => fc.constantFrom('x', 'é', '\u{1F600}').map((c) => c.repeat(n)));
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 2, arbitrary: unicode },
  { weight: 1, arbitrary: huge },
  {
    weight: 1,
    arbitrary: fc.constantFrom(-1, 0, 1.5, 1e308, -0, Number.MAX_SAFE_INTEGER + 2, true, null, [], {}),
  },
);

const strangeIds = fc.constantFrom(
  '0',
  '-1',
  '1.5',
  '1e5',
  '00001',
  '9007199254740993',
  '99999999999999999999',
  'abc',
  '%zz',
  '%E0%A4%A',
  '%00',
  '%2F',
  '%20',
  'null',
  'undefined',
  '{id}',
  '1%2F2',
  encodeURIComponent('\u{1F600}'),
);

/** A path segment for `{id}`: mostly a real task (sometimes zero-padded), else a bogus id. */
function taskSegment(fx: Fixture): fc.Arbitrary<{ segment: string; task: TaskRecord | undefined }> {
  const s = tasksByState(fx);
  const real = (tasks: TaskRecord[]) =>
    fc.constantFrom(...tasks).map((task) => ({ segment: String(task.id), task }));
  const bogus = fc
    .oneof(
      fc.integer({ min: -1e9, max: 1e16 }).map(String),
      // ids of tasks that do not exist: past the run's last task, or in a run that never was
      fc.constantFrom(fx.runId * 100_000 + 999, fx.runId * 100_000, (fx.runId + 7) * 100_000 + 1).map(String),
      strangeIds,
      unicode.filter((u) => u.length > 0).map((u) => encodeURIComponent(u.replace(/[\ud800-\udfff]/g, 'x'))),
    )
    .map((segment) => ({ segment, task: undefined }));
  return fc.oneof(
    { weight: 5, arbitrary: real(s.heldByHolder) },
    { weight: 2, arbitrary: real(s.heldByOther) },
    { weight: 2, arbitrary: real(s.pending) },
    { weight: 4, arbitrary: real(s.finished) },
    {
      weight: 1,
      arbitrary: real([...fx.tasks.values()]).map(({ segment, task }) => ({ segment: `0${segment}`, task })),
    },
    { weight: 3, arbitrary: bogus },
  );
}

function runIdSegment(fx: Fixture): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(String(fx.runId)) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(fx.oldRunId, fx.runId - 1, fx.runId + 1, fx.runId + 1000, 1).map(String),
    },
    { weight: 1, arbitrary: fc.integer({ min: -1e9, max: 1e12 }).map(String) },
    { weight: 1, arbitrary: strangeIds },
  );
}

/** A runner id: the task's holder, HOLDER, OTHER, or someone else entirely. */
function runnerFor(task: TaskRecord | undefined): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(task?.runner_id ?? HOLDER) },
    { weight: 1, arbitrary: fc.constant(HOLDER) },
    { weight: 2, arbitrary: fc.constant(OTHER) },
    { weight: 2, arbitrary: fc.oneof(printable, unicode) },
  );
}

/** An attempt: the task's own, a stale (or future) one, or none. */
function attemptFor(task: TaskRecord | undefined): fc.Arbitrary<number | null | undefined> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(Math.max(task?.attempt ?? 1, 1)) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(-1, 1).map((d) => Math.min(5, Math.max(1, (task?.attempt ?? 1) + d))),
    },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 5 }) },
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant(null) },
  );
}

/** An error type: the task's own (a repeat of its fail), a documented one, or an older runner's word. */
function errorTypeFor(task: TaskRecord | undefined): fc.Arbitrary<string> {
  const own = task?.error_type ?? task?.requeued_by?.split(' ').slice(2).join(' ') ?? 'benchmark_failed';
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(own) },
    { weight: 5, arbitrary: fc.constantFrom(...ERROR_TYPES) },
    { weight: 1, arbitrary: fc.constantFrom('BenchmarkError', 'Timeout::Error', 'older_runner_word') },
  );
}

const instanceTypes = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(QUEUES.held, QUEUES.done, OLD_QUEUE) },
  // the one queue with tasks left: a claim of it is rightly assigned (then undone)
  { weight: 1, arbitrary: fc.constant(QUEUES.pending) },
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/) },
  { weight: 2, arbitrary: fc.constantFrom('m7i.large', 'Standard_D2s_v5') },
);

/** Drops undefined fields, so an omitted field is absent from the JSON. */
const defined = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** A body the route's schema accepts, aimed at the route's own rules. */
function nearValidBody(
  route: Route,
  fx: Fixture,
  task: TaskRecord | undefined,
  taskId: number,
): fc.Arbitrary<Record<string, unknown>> {
  const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  switch (route.handler) {
    case 'start-run':
      return fc
        .record({
          ruby_version: fc.constantFrom('3.4.7', 'head', '3.5.0-preview1'),
          runs_per_instance_type: fc.integer({ min: 1, max: 3 }),
          local: fc.uniqueArray(instanceTypes, { minLength: 1, maxLength: 3 }),
          max_attempts: opt(fc.integer({ min: 1, max: 5 })),
          run_id: opt(fc.integer({ min: 1, max: fx.runId + 10 })),
        })
        .map(defined);
    case 'stop-run':
      // another run's id: refused with a 404, nothing stopped (the current run's id is filtered out)
      return fc.record({ run_id: fc.constantFrom(fx.oldRunId, fx.runId + 1, fx.runId - 1, 1) });
    case 'claim-task':
      return fc.record({
        provider: fc.oneof(
          { weight: 8, arbitrary: fc.constant(PROVIDER) },
          { weight: 2, arbitrary: fc.constantFrom('aws', 'azure') },
        ),
        instance_type: instanceTypes,
        runner_id: fc.oneof(
          fc.constantFrom(HOLDER, OTHER),
          printable.filter((s) => s.length > 0),
        ),
      });
    case 'heartbeat-task':
      return fc
        .record({
          runner_id: runnerFor(task),
          status: fc.constantFrom(...HEARTBEAT_STATUSES),
          current_benchmark: opt(fc.option(printable)),
          progress_pct: opt(fc.option(fc.double({ min: -10, max: 110, noNaN: true }))),
          message: opt(fc.option(unicode)),
          attempt: attemptFor(task),
        })
        .map(defined);
    case 'complete-task':
      return fc
        .record({
          runner_id: runnerFor(task),
          attempt: attemptFor(task),
          s3_result_key: fc.oneof(
            { weight: 6, arbitrary: fc.constant(undefined) },
            { weight: 2, arbitrary: fc.constant(storageKeys.result(fx.runId, taskId)) },
            { weight: 1, arbitrary: fc.constant(storageKeys.error(fx.runId, taskId)) },
          ),
        })
        .map(defined);
    case 'fail-task':
      return fc
        .record({
          runner_id: runnerFor(task),
          error_type: errorTypeFor(task),
          error_message: opt(fc.option(unicode)),
          attempt: attemptFor(task),
          debug_mode: opt(fc.boolean()),
          s3_error_key: fc.oneof(
            { weight: 6, arbitrary: fc.constant(undefined) },
            { weight: 2, arbitrary: fc.constant(storageKeys.error(fx.runId, taskId)) },
            { weight: 1, arbitrary: fc.constant(storageKeys.result(fx.runId, taskId)) },
            { weight: 1, arbitrary: fc.constant('results/42/error.tar.gz') }, // the spec's, made up
          ),
        })
        .map(defined);
    case 'upload-urls':
      return fc.record({ runner_id: runnerFor(task), attempt: attemptFor(task) }).map(defined);
    default:
      return fc.constant({}); // the routes without a body
  }
}

/** Bodies: mostly near-valid, else mutated (a field dropped, added or retyped), any JSON, bad JSON. */
function bodyText(
  route: Route,
  fx: Fixture,
  task: TaskRecord | undefined,
  taskId: number,
): fc.Arbitrary<string | undefined> {
  const valid = nearValidBody(route, fx, task, taskId);
  const mutated = fc
    .tuple(
      valid,
      fc.nat(),
      fc.constantFrom('drop', 'extra', 'retype'),
      fc.string({ maxLength: 12 }),
      anyValue,
    )
    .map(([b, n, how, name, value]) => {
      const names = Object.keys(b);
      const out: Record<string, unknown> = { ...b };
      const name0 = names[n % Math.max(names.length, 1)];
      if (how === 'drop' && name0 !== undefined) delete out[name0];
      else if (how === 'retype' && name0 !== undefined) out[name0] = value;
      else out[`x_${name}`] = value ?? 1; // a field no schema knows
      return out;
    });
  const badJson = fc.oneof(
    fc.constantFrom(
      '{',
      '{"a":',
      '[1,',
      '{"runner_id":"a",}',
      "{'a':1}",
      'undefined',
      'NaN',
      '\u0000',
      '\ufeff{}',
      '\ufeff',
      '  ',
    ),
    unicode,
    huge,
  );
  return fc.oneof(
    { weight: 14, arbitrary: valid.map((b) => JSON.stringify(b)) },
    { weight: 3, arbitrary: mutated.map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: anyValue.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: badJson },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** The authorization header, labelled with the key it carries in a form the API accepts. */
function authorization(
  fx: Fixture,
  route: Route,
): fc.Arbitrary<{ header: string | undefined; keyKind: KeyKind }> {
  // the runner key on an operator route is one of the refusals
  const kinds: Array<'operator' | 'runner'> =
    route.access === 'operator'
      ? ['operator', 'operator', 'operator', 'operator', 'runner']
      : ['runner', 'runner', 'operator'];
  const good = fc
    .tuple(fc.constantFrom(...kinds), fc.constantFrom('Bearer ', 'bearer  ', 'BEARER\t'))
    .map(([kind, scheme]) => ({
      header: `${scheme}${kind === 'operator' ? fx.operatorKey : fx.runnerKey}`,
      keyKind: kind as KeyKind,
    }));
  const key = fc.constantFrom(fx.operatorKey, fx.runnerKey);
  const token = fc
    .oneof(
      fc.constantFrom('wrong', ''),
      printable,
      key.map((k) => `${k}x`),
      key.map((k) => k.slice(1)),
    )
    .filter((t) => t.trim() !== fx.operatorKey && t.trim() !== fx.runnerKey);
  const bad = fc
    .oneof(
      fc.constant(undefined),
      token.map((t) => `Bearer ${t}`),
      key.map((k) => `Basic ${k}`),
      key, // without the scheme
      token,
    )
    .map((header) => ({ header, keyKind: null as KeyKind }));
  return fc.oneof({ weight: 5, arbitrary: good }, { weight: 1, arbitrary: bad });
}

const junkQuery = fc
  .dictionary(
    fc.constantFrom('limit', 'cursor', 'x', 'limit[]'),
    fc.oneof(printable, unicode, fc.integer().map(String)),
    {
      maxKeys: 3,
    },
  )
  .map((d) =>
    new URLSearchParams(
      Object.entries(d).map(([k, v]) => [k, v.replace(/[\ud800-\udfff]/g, 'x')]),
    ).toString(),
  );
/** GET /run takes no query; GET /run/tasks takes `limit` and `cursor`. */
const queryFor = (route: Route): fc.Arbitrary<string> =>
  route.handler === 'list-tasks'
    ? fc.oneof(
        { weight: 1, arbitrary: fc.constant('') },
        {
          weight: 2,
          arbitrary: fc
            .record({
              limit: fc.option(fc.integer({ min: 1, max: 5 }).map(String), { nil: undefined, freq: 6 }),
              cursor: fc.option(fc.integer({ min: 0, max: 9 }).map(String), { nil: undefined }),
            })
            .map((d) => new URLSearchParams(defined(d) as Record<string, string>).toString()),
        },
        { weight: 3, arbitrary: junkQuery },
      )
    : fc.oneof({ weight: 1, arbitrary: fc.constant('') }, { weight: 1, arbitrary: junkQuery });

const contentType = fc.oneof(
  { weight: 16, arbitrary: fc.constantFrom(...JSON_TYPES) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant('text/plain') },
);

export function requestFor(route: Route, fx: Fixture, baseUrl: string): fc.Arbitrary<FuzzRequest> {
  const target: fc.Arbitrary<{ path: string; task: TaskRecord | undefined; taskId: number }> =
    route.path.includes('{id}')
      ? taskSegment(fx).map(({ segment, task }) => ({
          path: route.path.replace('{id}', segment),
          task,
          taskId: task?.id ?? 0,
        }))
      : route.path.includes('{run_id}')
        ? runIdSegment(fx).map((id) => ({
            path: route.path.replace('{run_id}', id),
            task: undefined,
            taskId: 0,
          }))
        : fc.constant({ path: route.path, task: undefined, taskId: 0 });
  return fc
    .record({ target, auth: authorization(fx, route), contentType, query: queryFor(route) })
    .chain(({ target: t, auth, contentType: type, query: q }) =>
      (route.method === 'GET' ? fc.constant(undefined) : bodyText(route, fx, t.task, t.taskId)).map(
        (body): FuzzRequest => ({
          method: route.method,
          path: t.path,
          query: route.method === 'GET' ? q : '',
          authorization: auth.header,
          keyKind: auth.keyKind,
          contentType: type,
          body,
        }),
      ),
    )
    .filter((r) => !endsTheRun(r, fx, baseUrl));
}

/** A stop of the current run that the API would accept: it would end the fixture. */
function endsTheRun(req: FuzzRequest, fx: Fixture, baseUrl: string): boolean {
  const p = parse(req, baseUrl);
  if (!p.ok || p.route.handler !== 'stop-run') return false;
  const runId = (p.body as { run_id?: number }).run_id;
  return runId === undefined || runId === fx.runId;
}
