// The one middy chain for HTTP routes: key check, body size, JSON, zod, and the one mapping from
// domain errors to status codes. A client's mistake is always a 4xx with a JSON body that says
// what to fix; anything unexpected is a 500 with no internals.
import middy, { type MiddyfiedHandler } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import * as z from 'zod';
import { AppError, InvalidInputError, PayloadTooLargeError, UnauthorizedError } from '../core/errors';
import type { ApiKeys } from '../core/ports';
import { type ErrorBody, type ErrorCode, MAX_BODY_BYTES } from './contract';
import { logger } from './logger';
import { type Access, CORS_EXPOSED_HEADERS, JSON_ANSWER_HEADERS } from './routes';
import { sameSecret } from './secret';
import { onePerField } from './zod-words';

export const STATUS_OF: Record<ErrorCode, number> = {
  invalid_request: 400,
  unauthorized: 401,
  not_found: 404,
  run_in_progress: 409,
  not_your_task: 409,
  task_finished: 409,
  result_not_uploaded: 409,
  stale_attempt: 409,
  payload_too_large: 413,
  unavailable: 503,
  internal: 500,
};

export const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, content-type',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-expose-headers': CORS_EXPOSED_HEADERS.join(', '),
};

export type Caller = 'operator' | 'runner' | null;

export interface HttpInput<B, Q> {
  body: B;
  query: Q;
  path: Record<string, string>;
  caller: Caller;
}

export interface Reply {
  status: number;
  body: unknown;
}

export type HttpHandler = MiddyfiedHandler<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, Context>;

/** The key of an `Authorization: Bearer <key>` header, or undefined (no header, another scheme). */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim() || undefined;
}

export function callerOf(authorization: string | undefined, keys: ApiKeys): Caller {
  const token = bearerToken(authorization);
  if (!token) return null;
  // compare against both keys every time, so timing does not tell which one matched
  const operator = sameSecret(token, keys.operator);
  const runner = sameSecret(token, keys.runner);
  return operator ? 'operator' : runner ? 'runner' : null;
}

/** Throws UnauthorizedError, with the words a client sees, when this caller may not use the route. */
export function authorize(access: Access, caller: Caller, header: string | undefined): void {
  if (access === 'public') {
    // Reads need no key, but a key that is sent is checked: a wrong one gets 401 rather than the
    // keyless answer, so a client (the CLI's status, the dashboard) learns its key is wrong. Another
    // scheme (a proxy's Basic auth) is not a key of this API and is left alone.
    if (caller === null && bearerToken(header) !== undefined)
      throw new UnauthorizedError(
        'the API key is wrong (a read needs no key, but a key sent with one is checked)',
      );
    return;
  }
  if (caller === 'operator') return;
  if (access === 'runner' && caller === 'runner') return;
  if (caller === 'runner')
    throw new UnauthorizedError('the runner key may not call this route: use the operator key');
  // which key the route takes: a curl user sees these words bare (the CLI and runner add advice)
  const takes = access === 'runner' ? 'the runner key (or the operator key)' : 'the operator key';
  if (header === undefined)
    throw new UnauthorizedError(`missing API key: send "Authorization: Bearer <key>" with ${takes}`);
  if (bearerToken(header) === undefined)
    throw new UnauthorizedError(
      `the Authorization header must be "Bearer <key>", the word Bearer, a space, then ${takes}`,
    );
  throw new UnauthorizedError(`the API key is wrong: this route takes ${takes}`);
}

/** The fields an object schema takes, for "unknown field(s): x; allowed: ..."; undefined if not one. */
function allowedFields(schema: z.ZodType, path: PropertyKey[]): string[] | undefined {
  let at: unknown = schema;
  for (const key of path) at = (at as { shape?: Record<PropertyKey, unknown> }).shape?.[key];
  const shape = (at as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : undefined;
}

const issuesOf = (err: z.ZodError, schema: z.ZodType): string[] =>
  onePerField(err.issues).map((i) => {
    const where = i.path.length ? i.path.join('.') : '(body)';
    if (i.code === 'unrecognized_keys') {
      const allowed = allowedFields(schema, i.path);
      const at = i.path.length ? ` in ${where}` : '';
      return `unknown field(s)${at}: ${i.keys.join(', ')}${allowed ? `; allowed: ${allowed.join(', ') || 'none'}` : ''}`;
    }
    return `${where}: ${i.message}`;
  });

function parseBody(event: APIGatewayProxyEventV2): unknown {
  const raw = event.body
    ? event.isBase64Encoded
      ? Buffer.from(event.body, 'base64').toString('utf8')
      : event.body
    : '';
  if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`the body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  if (raw.trim() === '') return {};
  const type = event.headers?.['content-type'] ?? event.headers?.['Content-Type'];
  if (type && !/^application\/(.+\+)?json\b/i.test(type)) {
    throw new InvalidInputError([`content-type: must be application/json, got ${type}`]);
  }
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new InvalidInputError([`body: malformed JSON (${(err as Error).message})`]);
  }
}

/**
 * Refusals an operator looks for after the fact, when the runner VM that got them is gone: a
 * report refused as another runner's, too late or stale (the message names the task and runner),
 * and a key refused. A client's malformed request (400, 404, 413) is its own to read.
 */
const LOGGED_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'unauthorized',
  'not_your_task',
  'task_finished',
  'result_not_uploaded',
  'stale_attempt',
  'run_in_progress',
]);

export function errorReply(
  err: unknown,
  requestId?: string,
  route?: string,
): APIGatewayProxyResultV2 & { statusCode: number; body: string } {
  let body: ErrorBody;
  if (err instanceof AppError && err.code !== 'internal') {
    body = { error: err.code, message: err.message };
    if (err.code === 'unavailable')
      logger.warn('a dependency did not answer; the client may retry', { error: err, requestId });
    else if (LOGGED_REFUSALS.has(err.code))
      logger.info(`${route ?? 'a request'} refused (${STATUS_OF[err.code]} ${err.code}): ${err.message}`, {
        route,
        error: err.code,
        requestId,
      });
  } else {
    logger.error('unexpected error while handling a request', { error: err as Error, requestId });
    body = {
      error: 'internal',
      message: `internal error${requestId ? ` (request ${requestId})` : ''}: see the API logs`,
    };
  }
  return {
    statusCode: STATUS_OF[body.error],
    headers: { ...JSON_ANSWER_HEADERS, ...CORS_HEADERS },
    body: JSON.stringify(body),
  };
}

export const NoBody = z.object({}).strict();
export const NoQuery = z.object({}).strict();

export function httpRoute<B extends z.ZodType, Q extends z.ZodType>(
  opts: { access: Access; keys: () => Promise<ApiKeys>; body?: B; query?: Q },
  run: (input: HttpInput<z.infer<B>, z.infer<Q>>) => Promise<Reply>,
): HttpHandler {
  const bodySchema = opts.body ?? NoBody;
  const querySchema = opts.query ?? NoQuery;
  return middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, Context>()
    .onError((request) => {
      request.response = errorReply(request.error, request.context?.awsRequestId, request.event?.routeKey);
    })
    .handler(async (event) => {
      const header = event.headers?.authorization ?? event.headers?.Authorization;
      const caller = callerOf(header, await opts.keys());
      authorize(opts.access, caller, header);
      // every path parameter of the API is an id: a bad one is the mistake to name, not the body
      const path = (event.pathParameters ?? {}) as Record<string, string>;
      for (const name of Object.keys(path)) pathId(path, name);
      const body = bodySchema.safeParse(parseBody(event));
      if (!body.success) throw new InvalidInputError(issuesOf(body.error, bodySchema));
      const query = querySchema.safeParse(event.queryStringParameters ?? {});
      if (!query.success)
        throw new InvalidInputError(issuesOf(query.error, querySchema).map((m) => `query ${m}`));
      const reply = await run({
        body: body.data,
        query: query.data,
        path,
        caller,
      } as HttpInput<z.infer<B>, z.infer<Q>>);
      return {
        statusCode: reply.status,
        headers: { ...JSON_ANSWER_HEADERS, ...CORS_HEADERS },
        body: JSON.stringify(reply.body),
      };
    });
}

/** A path id that must be a positive integer; anything else names the field. */
export function pathId(path: Record<string, string>, name: string): number {
  const raw = path[name] ?? '';
  if (!/^[0-9]{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) <= 0) {
    throw new InvalidInputError([`${name}: must be a positive integer, got "${raw.slice(0, 40)}"`]);
  }
  return Number(raw);
}
