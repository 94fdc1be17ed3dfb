// The local mode's orchestrator: the stand-ins, the same handlers behind an HTTP server built from
// the shared route table, the reaper on a timer, and the assembly workflow run in-process.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import {
  type ApiKeys,
  type AssemblyTrigger,
  DEFAULT_SETTINGS,
  type Deps,
  type ReaperSchedule,
} from '../../core/ports';
import { reap } from '../../core/reaper';
import { triggerAssembly } from '../../core/runs';
import { HTTP_HANDLERS } from '../../handlers';
import { MAX_BODY_BYTES } from '../../shared/contract';
import { CORS_HEADERS } from '../../shared/http';
import { logger } from '../../shared/logger';
import {
  isPreflight,
  JSON_ANSWER_HEADERS,
  matchRoute,
  PREFLIGHT,
  routeKey,
  unmatchedRoute,
} from '../../shared/routes';
import { localContext } from '../../shared/task';
import { DynamoRunStore } from '../dynamodb-run-store';
import { S3ResultStore } from '../s3-result-store';
import { resolveKeys } from './keys';
import { type InstrumentClients, type LocalServices, startLocalServices } from './services';

export interface LocalStackOptions {
  port?: number;
  dataDir?: string;
  operatorKey?: string;
  runnerKey?: string;
  heartbeatTimeoutS?: number;
  reaperIntervalS?: number;
  waitRetrySeconds?: number;
  clock?: () => Date;
  /** Builds the assembly trigger from the deps; default: the shared workflow run in-process. */
  assembly?: (deps: Deps) => AssemblyTrigger & { idle?: () => Promise<void> };
  /** Sees the SDK clients before their first call (startLocalServices). */
  instrument?: InstrumentClients;
}

export interface LocalStack {
  apiUrl: string;
  port: number;
  operatorKey: string;
  runnerKey: string;
  deps: Deps;
  services: LocalServices;
  /** One reaper pass now (tests use it instead of waiting for the timer). */
  reapNow(): Promise<void>;
  /** Resolves when no assembly execution is running. */
  assemblyIdle(): Promise<void>;
  stop(): Promise<void>;
}

/** The reaper runs on a local timer anyway; this records what the cloud schedule would be. */
class LocalSchedule implements ReaperSchedule {
  enabled = false;
  async setEnabled(enabled: boolean): Promise<void> {
    this.enabled = enabled;
  }
}

function defaultAssembly(deps: Deps): AssemblyTrigger & { idle?: () => Promise<void> } {
  // Loaded lazily: the workflow interpreter is only needed once a run drains.
  const { LocalAssembly } = require('./local-assembly') as typeof import('./local-assembly');
  const { assemblyStepsFor } = require('./assembly-steps') as typeof import('./assembly-steps');
  return new LocalAssembly(() => assemblyStepsFor(deps));
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  // Before the stand-ins: a damaged keys.json is refused without starting anything.
  const keys = resolveKeys(opts);
  const services = await startLocalServices({
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    ...(opts.instrument ? { instrument: opts.instrument } : {}),
  });
  // A start that fails from here on (a port in use, a resume that cannot
  // reach the stand-ins) must not leave the stand-ins' process running behind the caller's back.
  try {
    return await startOn(services, opts, keys);
  } catch (err) {
    await services.stop().catch(() => undefined);
    throw err;
  }
}

async function startOn(services: LocalServices, opts: LocalStackOptions, keys: ApiKeys): Promise<LocalStack> {
  const schedule = new LocalSchedule();
  const deps: Deps = {
    keys: async () => keys,
    store: new DynamoRunStore(services.ddb, services.table),
    results: new S3ResultStore(services.s3, services.bucket),
    assembly: { start: async () => 'started' },
    schedule,
    clock: opts.clock ?? (() => new Date()),
    settings: {
      ...DEFAULT_SETTINGS,
      heartbeatTimeoutSeconds: opts.heartbeatTimeoutS ?? DEFAULT_SETTINGS.heartbeatTimeoutSeconds,
      waitRetrySeconds: opts.waitRetrySeconds ?? 5,
      assemblyRestartSeconds: Math.min(DEFAULT_SETTINGS.assemblyRestartSeconds, opts.reaperIntervalS ?? 60),
    },
  };
  const assembly = (opts.assembly ?? defaultAssembly)(deps);
  deps.assembly = assembly;

  const handlers = new Map(Object.entries(HTTP_HANDLERS).map(([name, make]) => [name, make(deps)]));
  const server = createServer((req, res) => {
    serve(handlers, req, res).catch((err: unknown) => {
      logger.error('local server failed to answer', { error: err as Error });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal', message: 'internal error: see the local server log' }));
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

  // Serialise reaper passes: a slow pass must not overlap the next one.
  let reaping: Promise<void> = Promise.resolve();
  const reapNow = (): Promise<void> => {
    reaping = reaping.then(async () => {
      try {
        const report = await reap(deps);
        if (report.reaped.length || report.requeued.length || report.no_runner.length) {
          const { lines, ...summary } = report;
          for (const line of lines) logger.info(`run ${report.run_id}: ${line}`);
          logger.info('reaper pass changed state', { ...summary });
        }
      } catch (err) {
        logger.error('reaper pass failed; it runs again on the next tick', { error: err as Error });
      }
    });
    return reaping;
  };
  const timer = setInterval(() => void reapNow(), (opts.reaperIntervalS ?? 60) * 1000);
  timer.unref();

  try {
    await resumeInFlight(deps);
  } catch (err) {
    clearInterval(timer);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }

  return {
    apiUrl: `http://127.0.0.1:${port}`,
    port,
    operatorKey: keys.operator,
    runnerKey: keys.runner,
    deps,
    services,
    reapNow,
    assemblyIdle: async () => {
      await assembly.idle?.();
    },
    async stop() {
      clearInterval(timer);
      await reaping;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await assembly.idle?.().catch(() => undefined);
      await services.stop();
    },
  };
}

/** On start, a run left `assembling` (the server died mid-assembly) is assembled again. */
async function resumeInFlight(deps: Deps): Promise<void> {
  const pointer = await deps.store.getPointer();
  const run = pointer && (await deps.store.getRun(pointer.run_id));
  if (run?.status === 'assembling') {
    logger.info(`resuming the assembly of run ${run.run_id}, left assembling by an earlier server`);
    await triggerAssembly(deps, run);
  }
}

type LambdaLike = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

/** Past this much, an oversized body is no longer read to the end: the connection is closed. */
const DISCARD_LIMIT = 10 * 1024 * 1024;

/**
 * Reads a body of at most MAX_BODY_BYTES. A larger one is read to its end but not kept (up to
 * DISCARD_LIMIT), so the 413 reaches the client on a connection it can go on using; answering before
 * the body is consumed makes Node reset a kept-alive socket under the client's next request.
 */
async function readBody(req: IncomingMessage): Promise<string | 'too_large' | 'far_too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > DISCARD_LIMIT) return 'far_too_large';
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY_BYTES ? 'too_large' : Buffer.concat(chunks).toString('utf8');
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...JSON_ANSWER_HEADERS, ...CORS_HEADERS, ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** Turns one HTTP request into an API Gateway v2 event for the route's handler, as API Gateway would. */
async function serve(
  handlers: Map<string, LambdaLike>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = (req.method ?? 'GET').toUpperCase();
  if (isPreflight(method)) return send(res, PREFLIGHT.status, PREFLIGHT.body);
  const match = matchRoute(method, url.pathname);
  if (!match) {
    // The same answer as the cloud's `$default` route (lambdas/handlers/not-found.ts).
    const { status, body } = unmatchedRoute(method, url.pathname);
    return send(res, status, body);
  }
  const body = await readBody(req);
  if (body === 'too_large' || body === 'far_too_large') {
    const tooLarge = {
      error: 'payload_too_large',
      message: `the body is larger than ${MAX_BODY_BYTES} bytes`,
    };
    return send(res, 413, tooLarge, body === 'far_too_large' ? { connection: 'close' } : {});
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const event = {
    version: '2.0',
    routeKey: routeKey(match.route),
    rawPath: url.pathname,
    rawQueryString: url.searchParams.toString(),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    pathParameters: Object.keys(match.pathParameters).length ? match.pathParameters : undefined,
    body: body || undefined,
    isBase64Encoded: false,
    requestContext: { http: { method, path: url.pathname } },
  } as unknown as APIGatewayProxyEventV2;
  const handler = handlers.get(match.route.handler);
  if (!handler)
    return send(res, 404, { error: 'not_found', message: `no handler for ${routeKey(match.route)}` });
  const out = (await handler(
    event,
    localContext(match.route.handler, 30),
  )) as APIGatewayProxyStructuredResultV2;
  res.writeHead(out.statusCode ?? 200, (out.headers ?? {}) as Record<string, string>);
  res.end(out.body ?? '');
}
