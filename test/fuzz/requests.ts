// fast-check generators of HTTP requests for every route of the table: valid bodies, mutated ones
// (missing, extra and retyped fields, huge and unicode strings), bad JSON, bad ids and bad keys.
// Generated writes never use the one runner id that holds a task, never claim the run's own
// instance type, and send the operator key to stop/assemble only with a body that must be refused,
// so no generated request can rightly change the run: any change is a bug.
import fc from 'fast-check';
import type { Route } from '../../lambdas/shared/routes';

export interface FuzzRequest {
  method: string;
  path: string;
  query: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string | undefined;
}

export interface FuzzContext {
  operatorKey: string;
  runnerKey: string;
  runId: number;
  /** ids of the run's tasks (one held by HOLDER, one pending) */
  taskIds: number[];
  /** the instance type of the run's tasks: never claimed by generated requests */
  instanceType: string;
}

export const HOLDER = 'holder-0';

const printable = fc
  .string({ unit: 'grapheme-ascii', maxLength: 80 })
  // header values cannot carry control characters: fetch would refuse before sending
  .map((s) => [...s].filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f).join(''));
const unicode = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
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

function idSegment(ctx: FuzzContext): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...ctx.taskIds.map(String)),
    fc.integer({ min: -1e9, max: 1e16 }).map(String),
    fc.constant(String(ctx.runId * 100_000 + 999)),
    strangeIds,
    unicode.filter((s) => s.length > 0).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, 'x'))),
  );
}

function runIdSegment(ctx: FuzzContext): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(String(ctx.runId), String(ctx.runId - 1), String(ctx.runId + 1)),
    fc.integer({ min: -1e9, max: 1e12 }).map(String),
    strangeIds,
  );
}

const runnerId = fc.oneof(printable, unicode, fc.constant('')).filter((s) => s !== HOLDER);
const instanceTypes = (ctx: FuzzContext): fc.Arbitrary<string> =>
  fc
    .oneof(
      fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
      fc.constantFrom('m7i.large', 'Standard_D2s_v5'),
      printable,
    )
    .filter((t) => t !== ctx.instanceType);

/** A body the route's schema accepts (with fields that cannot win any task). */
function validBody(route: Route, ctx: FuzzContext): fc.Arbitrary<Record<string, unknown>> {
  switch (route.handler) {
    case 'start-run':
      return fc.record(
        {
          ruby_version: fc.constantFrom('3.4.7', 'head', '3.5.0-preview1'),
          runs_per_instance_type: fc.integer({ min: 1, max: 3 }),
          local: fc.uniqueArray(instanceTypes(ctx), { minLength: 1, maxLength: 3 }),
          max_attempts: fc.integer({ min: 1, max: 5 }),
          run_id: fc.integer({ min: 1, max: ctx.runId + 10 }),
        },
        { requiredKeys: ['ruby_version', 'runs_per_instance_type', 'local'] },
      );
    case 'claim-task':
      return fc.record({
        provider: fc.constantFrom('aws', 'azure', 'local'),
        instance_type: instanceTypes(ctx),
        runner_id: runnerId,
      });
    case 'heartbeat-task':
      return fc.record(
        {
          runner_id: runnerId,
          status: fc.constantFrom('boot', 'provision', 'running', 'uploading', 'finished', 'error'),
          current_benchmark: fc.option(printable),
          progress_pct: fc.option(fc.double({ min: 0, max: 100, noNaN: true })),
          attempt: fc.integer({ min: 1, max: 5 }),
        },
        { requiredKeys: ['runner_id', 'status'] },
      );
    case 'complete-task':
    case 'upload-urls':
      return fc.record(
        { runner_id: runnerId, attempt: fc.integer({ min: 1, max: 5 }) },
        { requiredKeys: ['runner_id'] },
      );
    case 'fail-task':
      return fc.record(
        {
          runner_id: runnerId,
          error_type: fc.constantFrom(
            'benchmark_failed',
            'heartbeat_timeout',
            'no_runner',
            'older_runner_word',
          ),
          error_message: fc.option(unicode),
          debug_mode: fc.boolean(),
        },
        { requiredKeys: ['runner_id', 'error_type'] },
      );
    default:
      return fc.constant({}); // the routes without a body
  }
}

/** Bodies: valid, mutated (a field dropped, added or retyped), any JSON, or not JSON at all. */
function bodyText(route: Route, ctx: FuzzContext, mustBeRefused: boolean): fc.Arbitrary<string | undefined> {
  const valid = validBody(route, ctx);
  const mutated = fc
    .tuple(
      valid,
      fc.nat(),
      fc.constantFrom('drop', 'extra', 'retype'),
      fc.string({ maxLength: 12 }),
      anyValue,
    )
    .map(([b, n, how, name, value]) => {
      const keys = Object.keys(b);
      const out: Record<string, unknown> = { ...b };
      const key = keys[n % Math.max(keys.length, 1)];
      if (how === 'drop' && key !== undefined) delete out[key];
      else if (how === 'retype' && key !== undefined) out[key] = value;
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
    ),
    unicode,
    huge,
  );
  const arbs: fc.Arbitrary<string | undefined>[] = [
    mutated.map((b) => JSON.stringify(b)),
    anyValue.map((v) => JSON.stringify(v) ?? 'null'),
    badJson,
  ];
  if (!mustBeRefused)
    arbs.push(
      valid.map((b) => JSON.stringify(b)),
      valid.map((b) => JSON.stringify(b)),
    );
  if (!mustBeRefused) arbs.push(fc.constant(undefined));
  return fc.oneof(...arbs).filter((t) => !mustBeRefused || isRefusedBody(t));
}

/** Stop and assemble take no body: any field or non-object refuses them. */
function isRefusedBody(text: string | undefined): boolean {
  if (text === undefined || text.trim() === '') return false;
  try {
    const v: unknown = JSON.parse(text);
    return !(v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
  } catch {
    return true;
  }
}

function authorization(ctx: FuzzContext, keys: string[]): fc.Arbitrary<string | undefined> {
  const token = fc.oneof(fc.constantFrom(...keys, 'wrong', ''), printable);
  return fc.oneof(
    fc.constant(undefined),
    token.map((k) => `Bearer ${k}`),
    token.map((k) => `bearer  ${k}`),
    token.map((k) => `Basic ${k}`),
    token,
    fc
      .constantFrom(`Bearer ${ctx.runnerKey}`, `Bearer ${ctx.operatorKey}`)
      .filter((k) => keys.some((x) => k.endsWith(x))),
  );
}

const query = fc.oneof(
  fc.constant(''),
  fc
    .dictionary(
      fc.constantFrom('limit', 'cursor', 'x', 'limit[]'),
      fc.oneof(printable, unicode, fc.integer().map(String)),
      { maxKeys: 3 },
    )
    .map((d) =>
      new URLSearchParams(
        Object.entries(d).map(([k, v]) => [k, v.replace(/[\ud800-\udfff]/g, 'x')]),
      ).toString(),
    ),
);

export function requestFor(route: Route, ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  // operator-only writes that could succeed (stop, assemble) get the operator key only with a bad body
  const risky = route.handler === 'stop-run' || route.handler === 'assemble-run';
  const keys = [ctx.runnerKey, ctx.operatorKey];
  const path = route.path.includes('{id}')
    ? idSegment(ctx).map((id) => route.path.replace('{id}', id))
    : route.path.includes('{run_id}')
      ? runIdSegment(ctx).map((id) => route.path.replace('{run_id}', id))
      : fc.constant(route.path);
  const plain = fc.record({
    method: fc.constant(route.method),
    path,
    query: route.method === 'GET' ? query : fc.constant(''),
    authorization: authorization(ctx, risky ? [ctx.runnerKey] : keys),
    contentType: fc.constantFrom(
      undefined,
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
    ),
    body: route.method === 'GET' ? fc.constant(undefined) : bodyText(route, ctx, false),
  });
  if (!risky) return plain;
  const withOperator = plain.chain((r) =>
    bodyText(route, ctx, true).map((body) => ({
      ...r,
      authorization: `Bearer ${ctx.operatorKey}`,
      contentType: 'application/json',
      body,
    })),
  );
  return fc.oneof(plain, withOperator);
}
