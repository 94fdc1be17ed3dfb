// The dashboard's only door to the orchestrator: the public read routes and POST /run/stop.
// Types come from the shared contract (type-only imports, so zod stays out of the bundle).
import type { MessageResponse, RunView, TaskListResponse } from '../../lambdas/shared/contract';

/** The API answered with an error body (`{"error", "message"}`), or with something we could not read. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** No answer at all: network down, API stopped, CORS refused, or a timeout. */
export class UnreachableError extends Error {
  override name = 'UnreachableError';
}

export interface ApiClient {
  readonly baseUrl: string;
  /** `undefined` when no run exists yet (404 `not_found`). */
  getRun(key?: string): Promise<RunView | undefined>;
  listTasks(limit: number, cursor?: string): Promise<TaskListResponse>;
  /** Stops run `runId` only: the API answers 404 `not_found`, stopping nothing, when another run is current. */
  stopRun(key: string, runId: number): Promise<MessageResponse>;
  /**
   * The API's clock, estimated from the `Date` header of its last answer when the API exposes it
   * (`Access-Control-Expose-Headers: Date`); the browser's clock otherwise. Heartbeat ages use it,
   * so a laptop whose clock is a few minutes off does not see every task as stale.
   */
  serverNow(): number;
}

/** Below this the Date header (1 s resolution, plus the round trip) cannot tell skew from noise. */
const SKEW_THRESHOLD_MS = 5_000;

/**
 * How long one call may take, from sending the request to the last byte of its body: a body that
 * stalls after the headers (a connection dropped mid-answer, a proxy that hangs) is cut off too.
 */
export const TIMEOUT_MS = 10_000;

/** Words for a status code when the body had no usable message (a proxy's HTML error page, say). */
function fallbackMessage(status: number): string {
  if (status === 401) return 'The key was not accepted.';
  if (status === 404) return 'Not found.';
  if (status === 409) return 'The run is not in a state that allows this.';
  if (status >= 500) return `The API failed (HTTP ${status}).`;
  return `The API answered HTTP ${status}.`;
}

async function readError(res: Response): Promise<ApiError> {
  let code = 'http_error';
  let message = fallbackMessage(res.status);
  try {
    const body: unknown = await res.json();
    if (body && typeof body === 'object') {
      const b = body as Record<string, unknown>;
      if (typeof b.error === 'string') code = b.error;
      if (typeof b.message === 'string' && b.message.trim()) message = b.message;
    }
  } catch {
    // not JSON: keep the words chosen from the status code
  }
  return new ApiError(res.status, code, message);
}

export function createApiClient(
  baseUrl: string,
  fetchImpl: typeof fetch = fetch.bind(globalThis),
  timeoutMs = TIMEOUT_MS,
): ApiClient {
  const base = baseUrl.replace(/\/+$/, '');
  let skewMs = 0;

  function noteClock(res: Response): void {
    const date = Date.parse(res.headers.get('date') ?? '');
    if (Number.isNaN(date)) return;
    const skew = date - Date.now();
    skewMs = Math.abs(skew) > SKEW_THRESHOLD_MS ? skew : 0;
  }

  /**
   * One request and the reading of its answer (`read`), under one abort timer: the timer is cleared
   * only once the body has been read, so neither the headers nor the body can keep a caller waiting
   * for longer than `timeoutMs`.
   */
  async function call<T>(path: string, init: RequestInit, read: (res: Response) => Promise<T>): Promise<T> {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    try {
      let res: Response;
      try {
        // no-store: a cached GET /run would freeze the page on old counts
        res = await fetchImpl(base + path, { cache: 'no-store', ...init, signal: ctrl.signal });
      } catch (err) {
        throw new UnreachableError(`Cannot reach the API at ${base}`, { cause: err });
      }
      noteClock(res);
      try {
        return await read(res);
      } catch (err) {
        // whatever `read` made of the aborted body (bad JSON, a fallback error), it was a timeout
        if (ctrl.signal.aborted) {
          throw new UnreachableError(`The API at ${base} stopped answering mid-response`, { cause: err });
        }
        throw err;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async function json<T>(res: Response): Promise<T> {
    try {
      return (await res.json()) as T;
    } catch {
      throw new ApiError(res.status, 'bad_response', 'The API answered with something that is not JSON.');
    }
  }

  const auth = (key: string): Record<string, string> => ({ Authorization: `Bearer ${key}` });

  return {
    baseUrl: base,
    serverNow: () => Date.now() + skewMs,
    getRun(key) {
      return call('/run', key ? { headers: auth(key) } : {}, async (res) => {
        if (res.status === 404) {
          const err = await readError(res);
          if (err.code === 'not_found') return undefined;
          throw err;
        }
        if (!res.ok) throw await readError(res);
        return json<RunView>(res);
      });
    },
    listTasks(limit, cursor) {
      const q = new URLSearchParams({ limit: String(limit) });
      if (cursor !== undefined) q.set('cursor', cursor);
      return call(`/run/tasks?${q}`, {}, async (res) => {
        if (!res.ok) throw await readError(res);
        return json<TaskListResponse>(res);
      });
    },
    stopRun(key, runId) {
      const init: RequestInit = {
        method: 'POST',
        headers: { ...auth(key), 'Content-Type': 'application/json' },
        body: JSON.stringify({ run_id: runId }),
      };
      return call('/run/stop', init, async (res) => {
        if (!res.ok) throw await readError(res);
        return json<MessageResponse>(res);
      });
    },
  };
}
