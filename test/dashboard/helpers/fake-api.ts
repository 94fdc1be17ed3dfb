// A small stand-in for the orchestrator's read routes and /run/stop, for the dashboard tests that do
// not need the whole local stack (API errors, outages, paging). Every body it sends is checked
// against the shared zod schemas first, and keys are judged by the real API's rule (a wrong key on a
// read is a 401; the runner key reads but gets no archive link), so it cannot drift unnoticed.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { z } from 'zod';
import { UnauthorizedError } from '../../../lambdas/core/errors';
import {
  ErrorBody,
  MessageResponse,
  type Provider,
  RunView,
  StopRequest,
  type TaskCounts,
  TaskListResponse,
  type TaskStatus,
  TaskView,
  taskIdOf,
} from '../../../lambdas/shared/contract';
import { authorize, callerOf } from '../../../lambdas/shared/http';
import type { Access } from '../../../lambdas/shared/routes';

export const ARCHIVE_BYTES = gzipSync(Buffer.from('manifest.json and results'));

const zero = (): TaskCounts => ({
  total: 0,
  pending: 0,
  claimed: 0,
  running: 0,
  completed: 0,
  failed: 0,
  cancelled: 0,
});

export class FakeApi {
  run: Omit<RunView, 'tasks' | 'instance_types' | 'gzip_url'> | undefined;
  tasks: TaskView[] = [];
  /** Routes (`POST /run/stop`) made to answer this error instead, as the real API would in that state. */
  readonly forced = new Map<string, { status: number; error: ErrorBody['error']; message: string }>();
  /**
   * Routes (`GET /run`) whose next answer stalls: headers and the start of a JSON body are sent,
   * then nothing more while the connection stays open, as when a connection drops mid-answer.
   */
  readonly stallOnce = new Set<string>();
  /** Requests seen, for assertions: `GET /run auth=good` (operator), `runner`, `bad` (another key) or `none`. */
  readonly log: string[] = [];
  /** The bodies of POST /run/stop, as sent. */
  readonly stopBodies: string[] = [];
  /** Download URLs handed out so far: each GET /run with the key presigns afresh, as the real API does. */
  private presigned = 0;
  /** At most this many tasks a page, fewer than asked: the real API cuts a page that would outgrow its byte budget. */
  pageCut: number | undefined;
  /** How far the API's clock is from the test's (negative: behind); sent in an exposed Date header. */
  clockOffsetMs = 0;
  private server: Server | undefined;
  private port = 0;

  constructor(
    readonly operatorKey = 'operator-secret',
    /** The key in the runners' user data: right for reads, but it unlocks no archive and stops nothing. */
    readonly runnerKey = 'runner-secret',
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, res, Buffer.concat(chunks).toString('utf8')));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Simulates the API going away: the port stops answering until `listen()` again. */
  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  startRun(runId: number, types: Array<[Provider, string]>, runs: number): void {
    this.run = {
      run_id: runId,
      status: 'running',
      ruby_version: '3.4.7',
      runs_per_instance_type: runs,
      max_attempts: 1,
      created_at: new Date(Date.now() - 95_000).toISOString(),
      completed_at: null,
      finished_at: null,
      archive_key: null,
      assembly_error: null,
    };
    this.tasks = types.flatMap(([provider, instance_type], ti) =>
      Array.from({ length: runs }, (_, r) => {
        const id = taskIdOf(runId, ti * runs + r);
        return TaskView.parse({
          id,
          run_id: runId,
          provider,
          instance_type,
          run: r + 1,
          run_number: r + 1,
          status: 'pending',
          attempt: 1,
          runner_id: null,
          claimed_at: null,
          heartbeat_at: null,
          heartbeat_status: null,
          heartbeat_message: null,
          current_benchmark: null,
          progress_pct: null,
          finished_at: null,
          error_type: null,
          error_message: null,
          s3_result_key: null,
          s3_error_key: null,
          debug_mode: false,
        });
      }),
    );
  }

  task(index: number): TaskView {
    const t = this.tasks[index];
    if (!t) throw new Error(`no task ${index}`);
    return t;
  }

  update(index: number, patch: Partial<TaskView>): void {
    this.tasks[index] = TaskView.parse({ ...this.task(index), ...patch });
  }

  finish(status: 'complete' | 'cancelled'): void {
    if (!this.run) throw new Error('no run');
    const now = new Date().toISOString();
    this.run = {
      ...this.run,
      status,
      finished_at: now,
      completed_at: now,
      archive_key: `runs/${this.run.run_id}/results.tar.gz`,
    };
  }

  view(withKey: boolean): RunView {
    if (!this.run) throw new Error('no run');
    const counts = zero();
    const byType = new Map<string, RunView['instance_types'][number]>();
    for (const t of this.tasks) {
      counts.total += 1;
      counts[t.status] += 1;
      const key = `${t.provider}/${t.instance_type}`;
      const row = byType.get(key) ?? { provider: t.provider, instance_type: t.instance_type, counts: zero() };
      row.counts.total += 1;
      row.counts[t.status] += 1;
      byType.set(key, row);
    }
    const gzip =
      withKey && this.run.archive_key ? `${this.url}/download/results.tar.gz?sig=${++this.presigned}` : null;
    return RunView.parse({
      ...this.run,
      tasks: counts,
      instance_types: [...byType.values()],
      gzip_url: gzip,
    });
  }

  // returns undefined, not void, so each branch can end with `return send(...)`
  private handle(req: IncomingMessage, res: ServerResponse, body: string): undefined {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization;
    // the real API's key rule, so the fake cannot drift from it
    const caller = callerOf(auth, { operator: this.operatorKey, runner: this.runnerKey });
    const keyOk = caller === 'operator';
    const who = caller === 'operator' ? 'good' : caller === 'runner' ? 'runner' : auth ? 'bad' : 'none';
    this.log.push(`${req.method} ${url.pathname} auth=${who}`);
    const refused = (access: Access): string | undefined => {
      try {
        authorize(access, caller, auth);
        return undefined;
      } catch (err) {
        if (err instanceof UnauthorizedError) return err.message;
        throw err;
      }
    };
    const cors = {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Headers': 'Authorization, Content-Type',
      'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
      'Access-Control-Expose-Headers': 'Date',
      Date: new Date(Date.now() + this.clockOffsetMs).toUTCString(),
    };
    const send = <S extends z.ZodType>(status: number, schema: S, body: z.infer<S>): undefined => {
      res.writeHead(status, { ...cors, 'Content-Type': 'application/json' });
      res.end(JSON.stringify(schema.parse(body)));
    };
    const error = (status: number, code: ErrorBody['error'], message: string): undefined =>
      send(status, ErrorBody, { error: code, message });

    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors);
      res.end();
      return;
    }
    const route = `${req.method} ${url.pathname}`;
    if (this.stallOnce.delete(route)) {
      res.writeHead(200, { ...cors, 'Content-Type': 'application/json' });
      res.write('{"run_id": ');
      return;
    }
    const forced = this.forced.get(route);
    if (forced) return error(forced.status, forced.error, forced.message);
    if (route === 'GET /download/results.tar.gz') {
      res.writeHead(200, {
        'Content-Type': 'application/gzip',
        'Content-Disposition': 'attachment; filename="results.tar.gz"',
      });
      res.end(ARCHIVE_BYTES);
      return;
    }
    const readRefused = req.method === 'GET' ? refused('public') : undefined;
    if (readRefused) return error(401, 'unauthorized', readRefused);
    if (route === 'GET /run') {
      if (!this.run) return error(404, 'not_found', 'No run has been started yet');
      return send(200, RunView, this.view(keyOk));
    }
    if (route === 'GET /run/tasks') {
      if (!this.run) return error(404, 'not_found', 'No run has been started yet');
      const limit = Number(url.searchParams.get('limit') ?? 500);
      const from = Number(url.searchParams.get('cursor') ?? 0);
      const size = Math.min(limit, this.pageCut ?? limit);
      const page = this.tasks.slice(from, from + size);
      const next = from + size < this.tasks.length ? String(from + size) : null;
      return send(200, TaskListResponse, { run_id: this.run.run_id, tasks: page, next_cursor: next });
    }
    if (route === 'POST /run/stop') {
      this.stopBodies.push(body);
      const why = refused('operator');
      if (why) return error(401, 'unauthorized', why);
      let wanted: StopRequest;
      try {
        wanted = StopRequest.parse(body ? JSON.parse(body) : {});
      } catch {
        return error(400, 'invalid_request', 'the body is not a stop request');
      }
      if (this.run && wanted.run_id !== undefined && wanted.run_id !== this.run.run_id) {
        return error(
          404,
          'not_found',
          `run ${wanted.run_id} is not in progress: the current run is ${this.run.run_id} (${this.run.status}); nothing was stopped`,
        );
      }
      if (this.run?.status !== 'running') return error(404, 'not_found', 'No run in progress');
      const active: TaskStatus[] = ['pending', 'claimed', 'running'];
      this.tasks = this.tasks.map((t) => (active.includes(t.status) ? { ...t, status: 'cancelled' } : t));
      this.finish('cancelled');
      return send(200, MessageResponse, { message: 'Run cancelled successfully', run_id: this.run.run_id });
    }
    return error(404, 'not_found', `No route ${route}`);
  }
}
