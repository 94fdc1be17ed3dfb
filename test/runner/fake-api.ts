// A tiny stand-in for the orchestrator API and S3, for protocol edge cases the real local server
// cannot be made to produce on demand: 403 uploads, outages, malformed answers.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import {
  type ClaimedTask,
  type CompleteRequest,
  type FailRequest,
  type HeartbeatRequest,
  type PresignedUrls,
  RETRYABLE_ERROR_TYPES,
  storageKeys,
  type UploadUrlsRequest,
} from '../../lambdas/shared/contract';
import { listenLocal, stopServer } from '../helpers/local-server';

export interface FakeTask {
  task: ClaimedTask;
  status: 'pending' | 'claimed' | 'completed' | 'failed' | 'cancelled';
  runnerId?: string;
  heartbeats: HeartbeatRequest[];
  /** Every upload-urls request's body, in order. */
  urlRequests: UploadUrlsRequest[];
  complete?: CompleteRequest;
  fail?: FailRequest;
  /** Failed by the API's reaper: its heartbeats answer 409, as the real API's do. */
  reaped?: boolean;
}

export interface FakeApiOptions {
  tasks: number;
  instanceType?: string;
  runId?: number;
  benchmarks?: string[];
  /** Merged into every task (ruby_bench_env, image, ...). */
  taskOver?: Partial<ClaimedTask>;
  /**
   * A fail with a retryable error type puts the task back as pending at its next attempt while its
   * attempt is below this, as the API does. 1 by default: no retries.
   */
  maxAttempts?: number;
}

export class FakeApi {
  url = '';
  readonly tasks: FakeTask[];
  readonly objects = new Map<string, Buffer>();
  readonly calls: string[] = [];
  /** When each of `calls` came in (epoch ms), index for index. */
  readonly callTimes: number[] = [];
  /** While true every request's connection is dropped (the API is "away"). */
  down = false;
  /** Status codes answered to the next PUTs, in order; then 200. */
  putPlan: number[] = [];
  /** Every PUT to a key this returns a status for fails with it. */
  putFail?: (key: string) => number | undefined;
  /** complete answers this status (a 5xx: "no answer") instead of recording the task. */
  completeStatus?: number;
  /** complete answers this error code (with completeStatus, 409 by default) instead. */
  completeError?: string;
  /** upload-urls answers this status (a 5xx: "no answer") instead of fresh URLs. */
  urlsStatus?: number;
  /** fail answers this status (a 5xx: "no answer") instead of recording the task. */
  failStatus?: number;
  /**
   * The claim's URLs work, valid this many seconds: under the runner's margin, so it asks
   * upload-urls first, but they serve as its fallback. Unset: they have already expired (403).
   */
  claimUrlsValidS?: number;
  /** Delay before answering a PUT, to make the upload phase long enough to observe. */
  putDelayMs = 0;
  /** Status codes answered to the next heartbeats, in order (401/403: the key refused); then 200. */
  heartbeatPlan: number[] = [];
  /** Called with each heartbeat, after it is recorded. */
  onHeartbeat?: (t: FakeTask, hb: HeartbeatRequest) => void;
  /** A claim answers this raw body instead (once each). */
  rawClaims: string[] = [];
  /** Status codes answered to the next claims, in order (429: throttled, 404: no run yet); then as usual. */
  claimPlan: number[] = [];
  /** While set, a claim waits for it before it is answered (a slow API, or one the test holds). */
  claimGate?: Promise<void>;
  private server?: Server;
  private gen = 0;
  private readonly maxAttempts: number;

  constructor(opts: FakeApiOptions) {
    this.maxAttempts = opts.maxAttempts ?? 1;
    const runId = opts.runId ?? 1700000000;
    this.tasks = Array.from({ length: opts.tasks }, (_, i) => ({
      task: {
        id: runId * 100000 + i + 1,
        run_id: runId,
        provider: 'local',
        instance_type: opts.instanceType ?? 'fake.small',
        run: i + 1,
        run_number: i + 1,
        attempt: 1,
        ruby_version: '3.4.7',
        image: 'ruby:3.4.7',
        benchmarks: opts.benchmarks,
        ...opts.taskOver,
      },
      status: 'pending',
      heartbeats: [],
      urlRequests: [],
    }));
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        (r) => {
          if (r === 'drop') return req.socket.destroy();
          res.writeHead(r.status, { 'content-type': 'application/json' });
          res.end(typeof r.body === 'string' ? r.body : JSON.stringify(r.body ?? {}));
        },
        (err: Error) => {
          res.writeHead(500);
          res.end(JSON.stringify({ error: 'internal', message: err.message }));
        },
      );
    });
    this.url = `http://127.0.0.1:${await listenLocal(this.server)}`;
    return this;
  }

  stop(): Promise<void> {
    return stopServer(this.server);
  }

  /** Claims the next task as runner `runnerId` would (for tests that drive an ApiClient by hand). */
  async claimAs(runnerId: string): Promise<{ task: { id: number } }> {
    const res = await fetch(`${this.url}/tasks/claim`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'local', instance_type: 'fake.small', runner_id: runnerId }),
    });
    return (await res.json()) as { task: { id: number } };
  }

  byId(id: number): FakeTask | undefined {
    return this.tasks.find((t) => t.task.id === id);
  }

  /** Fails a claimed task as the reaper does (heartbeat_timeout). */
  reap(id: number): void {
    const t = this.byId(id);
    if (t && t.status === 'claimed') Object.assign(t, { status: 'failed', reaped: true });
  }

  cancel(id: number): void {
    const t = this.byId(id);
    if (t && (t.status === 'pending' || t.status === 'claimed')) t.status = 'cancelled';
  }

  private urls(t: FakeTask, expired = false): PresignedUrls {
    const g = expired ? -1 : ++this.gen;
    const result = `${this.url}/s3/${storageKeys.result(t.task.run_id, t.task.id)}?gen=${g}`;
    const error = `${this.url}/s3/${storageKeys.error(t.task.run_id, t.task.id)}?gen=${g}`;
    return {
      result,
      error,
      result_upload_url: result,
      error_upload_url: error,
      result_key: storageKeys.result(t.task.run_id, t.task.id),
      error_key: storageKeys.error(t.task.run_id, t.task.id),
      // claim URLs that "already expired" say so, as an old claim's would
      expires_in_seconds: expired ? 0 : 3600,
    };
  }

  /** The 409 the real API answers a report from a runner that does not hold this attempt of the task. */
  private fenced(t: FakeTask, body: Record<string, unknown>): { status: number; body: unknown } | undefined {
    if (body.runner_id !== t.runnerId) {
      const message = `task ${t.task.id} is held by ${t.runnerId ?? 'no runner'}, not by ${String(body.runner_id)}`;
      return { status: 409, body: { error: 'not_your_task', message } };
    }
    if (body.attempt !== undefined && body.attempt !== t.task.attempt) {
      const message = `task ${t.task.id} is on attempt ${t.task.attempt}; attempt ${String(body.attempt)} may not report`;
      return { status: 409, body: { error: 'stale_attempt', message } };
    }
    return undefined;
  }

  private plannedRefusal(status = 401): { status: number; body: unknown } {
    const error = status === 401 ? 'unauthorized' : `http_${status}`;
    return { status, body: { error, message: 'the API key is wrong' } };
  }

  private async handle(req: IncomingMessage): Promise<'drop' | { status: number; body?: unknown }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    this.calls.push(`${req.method} ${url.pathname}`);
    this.callTimes.push(Date.now());
    if (this.down) return 'drop';
    if (req.method === 'PUT' && url.pathname.startsWith('/s3/')) {
      if (url.searchParams.get('gen') === '-1') return { status: 403, body: '<Error>expired</Error>' };
      const key = url.pathname.slice('/s3/'.length);
      // unref'd: a PUT the runner gave up on must not hold the test process after stop()
      if (this.putDelayMs) await new Promise((r) => setTimeout(r, this.putDelayMs).unref());
      const planned = this.putFail?.(key) ?? this.putPlan.shift();
      if (planned !== undefined) return { status: planned, body: '<Error>planned</Error>' };
      this.objects.set(key, raw);
      return { status: 200, body: '' };
    }
    const body = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
    if (/^(\/runs\/\d+)?\/tasks\/claim$/.test(url.pathname)) {
      await this.claimGate;
      const planned = this.claimPlan.shift();
      if (planned !== undefined)
        return {
          status: planned,
          body: { error: planned === 404 ? 'not_found' : `http_${planned}`, message: 'planned' },
        };
      const rawClaim = this.rawClaims.shift();
      if (rawClaim !== undefined) return { status: 200, body: rawClaim };
      const t = this.tasks.find((x) => x.status === 'pending');
      if (!t) return { status: 200, body: { status: 'done' } };
      t.status = 'claimed';
      t.runnerId = String(body.runner_id);
      // Claim URLs are already expired (unless claimUrlsValidS): the runner must fetch fresh ones.
      const presigned =
        this.claimUrlsValidS === undefined
          ? this.urls(t, true)
          : { ...this.urls(t), expires_in_seconds: this.claimUrlsValidS };
      return { status: 200, body: { status: 'assigned', task: t.task, presigned_urls: presigned } };
    }
    const m = /^\/tasks\/(\d+)\/(heartbeat|complete|fail|upload-urls)$/.exec(url.pathname);
    const t = m ? this.byId(Number(m[1])) : undefined;
    if (!m || !t) return { status: 404, body: { error: 'not_found', message: 'no such task' } };
    const finished = { status: 409, body: { error: 'task_finished', message: `task is ${t.status}` } };
    // the real API's fence: a task held by another runner, or on another attempt, refuses the report
    const refused = this.fenced(t, body);
    switch (m[2]) {
      case 'heartbeat':
        t.heartbeats.push(body as unknown as HeartbeatRequest);
        this.onHeartbeat?.(t, body as unknown as HeartbeatRequest);
        if ((this.heartbeatPlan[0] ?? 200) !== 200) return this.plannedRefusal(this.heartbeatPlan.shift());
        this.heartbeatPlan.shift();
        if (t.reaped) return { status: 409, body: { error: 'task_finished', message: 'task is failed' } };
        if (refused && t.status !== 'cancelled') return refused;
        return { status: 200, body: { action: t.status === 'cancelled' ? 'abort' : 'continue' } };
      case 'upload-urls':
        t.urlRequests.push(body as unknown as UploadUrlsRequest);
        if (this.urlsStatus) return { status: this.urlsStatus, body: { error: 'internal', message: 'x' } };
        if (t.status !== 'claimed') return finished;
        return refused ?? { status: 200, body: this.urls(t) };
      case 'complete':
        if (this.completeStatus || this.completeError) {
          const error = this.completeError ?? 'internal';
          const status = this.completeStatus ?? 409;
          return { status, body: { error, message: `planned ${status} ${error}` } };
        }
        if (t.status !== 'claimed') return finished;
        if (refused) return refused;
        t.status = 'completed';
        t.complete = body as unknown as CompleteRequest;
        return { status: 200, body: {} };
      default:
        if (this.failStatus) return { status: this.failStatus, body: { error: 'internal', message: 'x' } };
        if (t.status !== 'claimed') return finished;
        if (refused) return refused;
        t.status = 'failed';
        t.fail = body as unknown as FailRequest;
        if (RETRYABLE_ERROR_TYPES.includes(t.fail.error_type) && t.task.attempt < this.maxAttempts)
          Object.assign(t, { status: 'pending', task: { ...t.task, attempt: t.task.attempt + 1 } });
        return { status: 200, body: {} };
    }
  }
}

/** Lists a tar.gz's entries with their contents. */
export async function untar(buf: Buffer): Promise<Map<string, string>> {
  const { extract } = await import('tar-stream');
  const { gunzipSync } = await import('node:zlib');
  const out = new Map<string, string>();
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (c: unknown) => parts.push(c as Buffer));
      stream.on('end', () => {
        out.set(h.name, Buffer.concat(parts).toString('utf8'));
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(gunzipSync(buf));
  await done;
  return out;
}
