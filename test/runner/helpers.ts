// Shared setup for the runner tests: options pointing at a given API, a fixed two-CPU topology,
// a private work dir (removed after the test file) and a log captured in memory.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ClaimedTask } from '../../lambdas/shared/contract';
import { SyntheticExecutor } from '../../runner/executors/synthetic';
import type { ExecContext, ExecResult, Executor } from '../../runner/executors/types';
import { createLogger } from '../../runner/log';
import type { RunnerInput } from '../../runner/options';
import type { CpuTopology } from '../../runner/topology';
import { tempDir } from '../helpers/temp-dir';

export const twoCpus: CpuTopology = {
  cpus: [0, 1],
  siblings: new Map([
    [0, [0]],
    [1, [1]],
  ]),
  physicalCores: 2,
};

/**
 * A host id of this jest worker's own, for runners on the shared real engine: a runner's start-up
 * force-removes the task containers labelled with its host id (left by a crash), so two test
 * files whose runners shared `testhost` in parallel workers removed each other's containers.
 */
export const ENGINE_HOST_ID = `testhost-w${process.env.JEST_WORKER_ID ?? '0'}-${process.pid}`;

export interface TestRunner {
  input: RunnerInput;
  lines: string[];
  workDir: string;
}

export function testRunner(apiUrl: string, over: Partial<RunnerInput> = {}): TestRunner {
  const lines: string[] = [];
  const workDir = tempDir('bf-runner-test-');
  return {
    lines,
    workDir,
    input: {
      apiUrl,
      apiKey: 'runner-key',
      provider: 'local',
      instanceType: 'fake.small',
      executor: 'synthetic',
      syntheticSize: 0,
      slots: 2,
      hostId: 'testhost',
      heartbeatS: 0.2,
      maxRetryS: 10,
      workDir,
      topology: twoCpus,
      logWrite: (l) => lines.push(l),
      ...over,
    },
  };
}

export const waitFor = async (cond: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> => {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** The runner's result, or a failure when it takes longer than `ms` after the stop. */
export async function doneWithin<T>(done: Promise<T>, ms: number): Promise<{ res: T; tookMs: number }> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the runner was still busy ${ms} ms after the stop`)), ms);
  });
  try {
    const res = await Promise.race([done, late]);
    return { res, tookMs: Date.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}

export interface Proxy {
  url: string;
  /** While down, every connection is dropped: the API is "away" for the runner. */
  setDown(down: boolean): void;
  stop(): Promise<void>;
}

/** An HTTP proxy in front of the API, to take it away and bring it back without losing its state. */
export async function startProxy(
  target: string,
  onRequest?: (method: string, path: string) => void,
): Promise<Proxy> {
  const { createServer, request } = await import('node:http');
  let down = false;
  const t = new URL(target);
  const server = createServer((req, res) => {
    onRequest?.(req.method ?? '', req.url ?? '');
    if (down) return req.socket.destroy();
    const up = request(
      { hostname: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    setDown: (d) => {
      down = d;
      if (d) server.closeAllConnections();
    },
    stop: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * What an executor gets for one task (task 7, fib, on slot 0 / cpu 0), in a fresh folder with empty
 * out/ and logs/; `lines` has its log, `statuses` each status change and message.
 */
export function execContext(
  prefix: string,
  task: Partial<ClaimedTask> = {},
): { ctx: ExecContext; lines: string[]; statuses: string[] } {
  const dir = tempDir(prefix);
  for (const d of ['out', 'logs']) mkdirSync(join(dir, d));
  const lines: string[] = [];
  const statuses: string[] = [];
  const claimed: ClaimedTask = {
    id: 7,
    run_id: 1700000000,
    provider: 'local',
    instance_type: 'fake.small',
    run: 1,
    run_number: 1,
    attempt: 1,
    ruby_version: '3.4.7',
    image: 'ruby:3.4.7',
    benchmarks: ['fib'],
    ...task,
  };
  const ctx: ExecContext = {
    task: claimed,
    slot: { index: 0, cpu: 0, siblings: [] },
    outDir: join(dir, 'out'),
    logsDir: join(dir, 'logs'),
    taskDir: dir,
    signal: new AbortController().signal,
    log: createLogger({ json: false, write: (l) => lines.push(l) }).child({ task: claimed.id }),
    onStdout: () => undefined,
    onStatus: (status, message) => statuses.push(`${status} ${message ?? ''}`),
  };
  return { ctx, lines, statuses };
}

/**
 * An executor (the runner's `executorOverride`) whose first run fails with `err`, as a rejected
 * promise or thrown before any promise (`how`); every later run is the synthetic workload, size 0.
 */
export function failingFirstRun(err: unknown, how: 'rejects' | 'throws' = 'rejects'): Executor {
  const synthetic = new SyntheticExecutor({ size: 0 });
  let runs = 0;
  return {
    name: 'failing-first-run',
    run(ctx: ExecContext): Promise<ExecResult> {
      if (runs++ > 0) return synthetic.run(ctx);
      if (how === 'throws') throw err;
      return Promise.reject(err);
    },
  };
}
