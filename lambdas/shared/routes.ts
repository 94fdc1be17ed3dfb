// The route table: the one list of HTTP routes. The CDK stack makes one API Gateway route and one
// Lambda per entry (handler file `lambdas/handlers/<handler>.ts`), and the local server serves the
// same entries with the same handlers.
import { BUILD_VERSION, VERSION_HEADER } from './build-info';

/**
 * Who may call a route:
 * - `public`: anyone; a valid key may unlock extra fields (`gzip_url` on GET /run);
 * - `runner`: the runner key or the operator key;
 * - `operator`: the operator key only (the runner key from VM user data cannot start or stop runs).
 */
export type Access = 'public' | 'runner' | 'operator';

export interface Route {
  readonly method: 'GET' | 'POST';
  /** API Gateway syntax: `{name}` is a path parameter. */
  readonly path: string;
  readonly handler: HandlerName;
  readonly access: Access;
}

export const HANDLERS = [
  'start-run',
  'get-run',
  'list-tasks',
  'stop-run',
  'assemble-run',
  'claim-task',
  'heartbeat-task',
  'complete-task',
  'fail-task',
  'upload-urls',
] as const;
export type HandlerName = (typeof HANDLERS)[number];

export const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/run/start', handler: 'start-run', access: 'operator' },
  { method: 'GET', path: '/run', handler: 'get-run', access: 'public' },
  { method: 'GET', path: '/run/tasks', handler: 'list-tasks', access: 'public' },
  { method: 'POST', path: '/run/stop', handler: 'stop-run', access: 'operator' },
  { method: 'POST', path: '/run/assemble', handler: 'assemble-run', access: 'operator' },
  { method: 'POST', path: '/tasks/claim', handler: 'claim-task', access: 'runner' },
  { method: 'POST', path: '/runs/{run_id}/tasks/claim', handler: 'claim-task', access: 'runner' },
  { method: 'POST', path: '/tasks/{id}/heartbeat', handler: 'heartbeat-task', access: 'runner' },
  { method: 'POST', path: '/tasks/{id}/complete', handler: 'complete-task', access: 'runner' },
  { method: 'POST', path: '/tasks/{id}/fail', handler: 'fail-task', access: 'runner' },
  { method: 'POST', path: '/tasks/{id}/upload-urls', handler: 'upload-urls', access: 'runner' },
];

/**
 * Every JSON answer's own headers. No cache may keep one: answers change from one second to the
 * next and with the key sent, and `GET /run` may hold a presigned download URL.
 */
export const JSON_ANSWER_HEADERS = {
  'content-type': 'application/json',
  'cache-control': 'no-store',
  // which build answers: the CLI tells a deployment older or newer than its checkout by it
  [VERSION_HEADER]: BUILD_VERSION,
};

/**
 * Response headers a browser on another origin may read: the dashboard reads Date to correct
 * heartbeat ages for clock skew. API Gateway's CORS setting and the handlers' headers both use it.
 */
export const CORS_EXPOSED_HEADERS = ['date'];

/** `GET /run` → the API Gateway route key. */
export const routeKey = (r: Pick<Route, 'method' | 'path'>): string => `${r.method} ${r.path}`;

/** Non-HTTP entry points: the scheduled reaper and the assembly workflow's steps. */
export const REAPER_HANDLER = 'reap';

/** API Gateway's `$default` route: every request no entry of the table matches (`unmatchedRoute`). */
export const NOT_FOUND_HANDLER = 'not-found';

export interface MatchedRoute {
  route: Route;
  pathParameters: Record<string, string>;
}

/** A malformed percent-escape (`%zz`) stays as it came: the handler then refuses it with a 400. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Matches a method and a concrete path against the table (used by the local server). */
export function matchRoute(method: string, path: string): MatchedRoute | undefined {
  const parts = path.replace(/\/+$/, '').split('/');
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const pattern = route.path.split('/');
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = pattern.every((seg, i) => {
      const actual = parts[i] ?? '';
      const m = /^\{(\w+)\}$/.exec(seg);
      if (m?.[1]) {
        params[m[1]] = safeDecode(actual);
        return actual.length > 0;
      }
      return seg === actual;
    });
    if (ok) return { route, pathParameters: params };
  }
  return undefined;
}

/** The methods some route serves at this concrete path (none: the path is unknown). */
export const methodsAt = (path: string): Array<Route['method']> =>
  (['GET', 'POST'] as const).filter((m) => matchRoute(m, path) !== undefined);

/**
 * A CORS preflight: an OPTIONS request, which no route of the table takes. In AWS it reaches the
 * `$default` route (which catches every undefined method and path, OPTIONS included), and API
 * Gateway adds its configured CORS headers to the answer; the local server adds the same ones.
 */
export const isPreflight = (method: string): boolean => method.toUpperCase() === 'OPTIONS';

/** The answer to a preflight, from the `$default` route's Lambda and the local server alike. */
export const PREFLIGHT: { readonly status: 204; readonly body: '' } = { status: 204, body: '' };

/** The answer to a request no route matches: the `not_found` error body of every other 404. */
export interface Unmatched {
  status: 404;
  body: { error: 'not_found'; message: string };
}

/**
 * What a request outside the table gets (a preflight aside: `PREFLIGHT`), from the local server
 * and from the `$default` route's Lambda alike. A known path with another method is a 404 too (the API's error codes have no
 * 405), whose message names the methods the path takes.
 */
export function unmatchedRoute(method: string, path: string): Unmatched {
  const shown = path.length > 200 ? `${path.slice(0, 200)}...` : path;
  const methods = methodsAt(path);
  const message = methods.length
    ? `${method} is not allowed on ${shown}: use ${methods.join(' or ')}`
    : `no route ${method} ${shown}`;
  return { status: 404, body: { error: 'not_found', message } };
}
