// No secret reaches a log: during a whole local run neither API key nor any presigned URL's
// signature may be printed, on any channel:
// - the server (secrets-in-logs.server.ts), a child process started with POWERTOOLS_LOG_LEVEL=DEBUG:
//   the Powertools lines of the API handlers, the assembly steps, the reaper and the local server on
//   its stdout (INFO/DEBUG) and stderr (WARN/ERROR). The level comes from the environment the
//   logger reads when it is made, so injectLambdaContext (lambdas/shared/task.ts), which puts the
//   level back to that one on every call, keeps it at DEBUG;
// - the stand-ins' process (dynalite and s3rver), whose stdout and stderr are the server's (inherited);
// - a real runner child process (runner/cli.ts, --json --debug): its stderr log and its stdout.
// Each channel must also have produced lines (a silenced channel would prove nothing), and each part
// of the server must have logged: the run is steered so that an API handler (a 503 while S3 is down),
// the assembly steps, the local assembly and the reaper (a requeue) all do. Only the runner's stdout
// is not asked for lines: the runner prints nothing there by design (its log is stderr).
// Not covered here: `benchfleet local`'s own console (it prints both keys on purpose, a banner that
// test/cli/local-keys.test.ts checks) and the runner log files it writes in its data dir.
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ClaimResponse } from '../../lambdas/shared/contract';
import { client, waitFor } from '../helpers/api';
import { tempDir } from '../helpers/temp-dir';
import type { ServerAnswer, ServerRequest } from './secrets-in-logs.server';

type Request = ServerRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

jest.setTimeout(90_000);

const ROOT = join(__dirname, '..', '..');
const operatorKey = `op-${randomBytes(18).toString('hex')}`;
const runnerKey = `rn-${randomBytes(18).toString('hex')}`;
const SIGNATURE = /X-Amz-Signature=([0-9a-f]{64})/;

/** Everything a stream carried, as lines (the last one even without its newline). */
function linesOf(stream: Readable | null): () => string[] {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    text += chunk;
  });
  return () => text.split('\n').filter((l) => l.trim() !== '');
}

interface PowertoolsLine {
  level: string;
  message: string;
  service: string;
  function_name?: string;
  [field: string]: unknown;
}

function powertools(lines: string[]): PowertoolsLine[] {
  return lines.flatMap((l) => {
    try {
      const parsed = JSON.parse(l) as PowertoolsLine;
      return parsed.service === 'benchfleet' ? [parsed] : [];
    } catch {
      return [];
    }
  });
}

it('prints neither key nor any presigned URL signature on any channel of a full run', async () => {
  const env: NodeJS.ProcessEnv = {
    ...process.env, // test/setup-env.ts made it SILENT: this child's logger is made at DEBUG
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    // marks the stand-ins' stdout and stderr (stand-ins-probe.cjs); NODE_OPTIONS reaches their process
    NODE_OPTIONS: [
      process.env.NODE_OPTIONS,
      `--require ${JSON.stringify(join(__dirname, 'stand-ins-probe.cjs'))}`,
    ]
      .filter(Boolean)
      .join(' '),
  };
  delete env.AWS_LAMBDA_LOG_LEVEL; // would cap the level
  delete env.POWERTOOLS_DEV; // would print through the global console
  const server = fork(join(__dirname, 'secrets-in-logs.server.ts'), [], {
    cwd: ROOT,
    execArgv: ['--require', 'tsx/cjs'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env,
  });
  const serverOut = linesOf(server.stdout);
  const serverErr = linesOf(server.stderr);
  const serverClosed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  let serverGone = false;
  void serverClosed.then(() => {
    serverGone = true;
  });
  let next = 0;
  const ask = (req: Request): Promise<ServerAnswer> => {
    const id = next++;
    return new Promise((resolve, reject) => {
      const onExit = (): void => reject(new Error(`the server child exited:\n${serverErr().join('\n')}`));
      const onMessage = (msg: ServerAnswer): void => {
        if (msg.id !== id) return;
        server.off('message', onMessage);
        server.off('exit', onExit);
        if (msg.error) reject(new Error(`server child: ${msg.error}\n${serverErr().join('\n')}`));
        else resolve(msg);
      };
      server.on('message', onMessage);
      server.once('exit', onExit);
      server.send({ ...req, id });
    });
  };
  let runnerPid: number | undefined;
  try {
    const { apiUrl } = await ask({ type: 'start', operatorKey, runnerKey });
    const api = client(apiUrl as string);
    const started = await api.call<{ run_id: number }>('POST', '/run/start', {
      key: operatorKey,
      body: { ruby_version: '3.4.7', runs_per_instance_type: 3, local: ['sec-a'] },
    });
    expect(started.status).toBe(201);
    const runId = started.body.run_id;
    // refused keys must not be echoed into the logs either
    expect((await api.call('POST', '/run/stop', { key: `${operatorKey}x` })).status).toBe(401);
    expect((await api.call('POST', '/run/stop', { key: runnerKey })).status).toBe(401);

    // A runner that claims a task and goes silent: its complete while S3 is down is a 503 that the
    // API handler logs (WARN, with the error), and the reaper requeues the task once the heartbeat
    // timeout (1 s) has passed (INFO). The real runner below then runs it with the other two.
    const claim = await api.call<ClaimResponse>('POST', `/runs/${runId}/tasks/claim`, {
      key: runnerKey,
      body: { provider: 'local', instance_type: 'sec-a', runner_id: 'sec-silent' },
    });
    expect(claim.status).toBe(200);
    const claimedAt = Date.now();
    if (claim.body.status !== 'assigned')
      throw new Error(`no task for the silent runner: ${claim.body.status}`);
    const silentTask = claim.body.task.id;
    expect(JSON.stringify(claim.body)).toMatch(SIGNATURE); // the claim hands out presigned URLs
    await ask({ type: 'stopS3' });
    const completed = await api.call('POST', `/tasks/${silentTask}/complete`, {
      key: runnerKey,
      body: { runner_id: 'sec-silent' },
    });
    expect(completed.status).toBe(503);
    await ask({ type: 'startS3' });
    await new Promise((r) => setTimeout(r, Math.max(0, claimedAt + 1_200 - Date.now())));
    await ask({ type: 'reap' });

    const runner = spawn(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'runner', 'cli.ts')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        BENCHFLEET_API_URL: apiUrl,
        BENCHFLEET_API_KEY: runnerKey,
        BENCHFLEET_PROVIDER: 'local',
        BENCHFLEET_INSTANCE_TYPE: 'sec-a',
        BENCHFLEET_RUN_ID: String(runId),
        BENCHFLEET_EXECUTOR: 'synthetic',
        BENCHFLEET_SYNTHETIC_SIZE: '0',
        BENCHFLEET_SLOTS: '2',
        BENCHFLEET_HEARTBEAT_S: '0.5',
        BENCHFLEET_MAX_RETRY_S: '20',
        BENCHFLEET_JSON: 'true',
        BENCHFLEET_DEBUG: 'true',
        BENCHFLEET_HOST_ID: 'sec',
        BENCHFLEET_WORK_DIR: tempDir('bf-sec-'),
      },
    });
    runnerPid = runner.pid;
    const runnerOut = linesOf(runner.stdout);
    const runnerErr = linesOf(runner.stderr);
    const runnerExit = await new Promise<number | null>((resolve) =>
      runner.once('close', (code) => resolve(code)),
    );
    runnerPid = undefined;
    expect({ exit: runnerExit, stderr: runnerExit === 0 ? [] : runnerErr() }).toEqual({
      exit: 0,
      stderr: [],
    });

    const run = await waitFor('the archive', async () => {
      const r = await api.call<{ status: string; gzip_url: string | null }>('GET', '/run', {
        key: operatorKey,
      });
      return r.body.status === 'complete' && r.body.gzip_url ? r.body : undefined;
    });
    expect((await fetch(run.gzip_url as string)).status).toBe(200);
    expect((await api.call<{ tasks: { completed: number } }>('GET', '/run')).body.tasks.completed).toBe(3);
    await ask({ type: 'reap' }); // a pass after the run too
    const { level, signed = [] } = await ask({ type: 'stop' });
    await serverClosed;

    const channels: Record<string, string[]> = {
      'server stdout': serverOut(),
      'server stderr': serverErr(),
      'runner stdout': runnerOut(),
      'runner stderr': runnerErr(),
    };

    // Every channel was really captured and really carried what it should.
    const server = powertools([...channels['server stdout']!, ...channels['server stderr']!]);
    expect(level).toBe('DEBUG'); // after many steps' injectLambdaContext resets
    const said = (message: string): PowertoolsLine[] => server.filter((l) => l.message === message);
    // an API handler (the 503 of the silent runner's complete), on stderr
    expect(said('a dependency did not answer; the client may retry')).toHaveLength(1);
    expect(channels['server stderr']!.some((l) => l.includes('a dependency did not answer'))).toBe(true);
    // the assembly steps, inside their injectLambdaContext, on stdout
    expect(said('archive built').map((l) => l.function_name)).toEqual(['benchfleet-local-BuildArchive']);
    expect(channels['server stdout']!.some((l) => l.includes('"archive built"'))).toBe(true);
    // the local server: its in-process assembly and its reaper
    expect(said('local assembly succeeded')).toHaveLength(1);
    expect(said('reaper pass changed state').map((l) => l.requeued)).toEqual([[silentTask]]);
    // the stand-ins' own stdout and stderr (stand-ins-probe.cjs)
    expect(channels['server stdout']!.filter((l) => l.startsWith('stand-ins probe: stdout'))).toHaveLength(1);
    expect(channels['server stderr']!.filter((l) => l.startsWith('stand-ins probe: stderr'))).toHaveLength(1);
    // the runner's --json log: a start line, 2 per task, one per slot and the summary
    const runnerLog = channels['runner stderr']!.map((l) => JSON.parse(l) as { msg: string });
    expect(runnerLog.length).toBeGreaterThanOrEqual(9);
    expect(runnerLog.at(-1)?.msg).toMatch(/3 completed/);

    // Every signature handed out is known: 3 tasks x 2 upload URLs, the silent runner's 2, the archive.
    const signatures = new Set(signed.map((url) => SIGNATURE.exec(url)?.[1]));
    signatures.delete(undefined);
    expect(signatures.size).toBeGreaterThanOrEqual(9);
    expect(signatures).toContain(SIGNATURE.exec(JSON.stringify(claim.body))?.[1]);
    expect(signatures).toContain(SIGNATURE.exec(run.gzip_url as string)?.[1]);

    // ...and none of it, nor either key, appears on any channel.
    const secrets = [operatorKey, runnerKey, ...(signatures as Set<string>)];
    const leaks = Object.entries(channels).flatMap(([channel, lines]) =>
      lines
        .filter((l) => secrets.some((s) => l.includes(s)) || /X-Amz-Signature|X-Amz-Credential/i.test(l))
        .map((line) => ({ channel, line })),
    );
    expect(leaks).toEqual([]);
  } finally {
    if (runnerPid !== undefined) process.kill(runnerPid, 'SIGKILL');
    if (server.connected) server.disconnect(); // it stops the stack (and the stand-ins) and exits
    const kill = setTimeout(() => {
      if (!serverGone) server.kill('SIGKILL'); // the stand-ins end with their lost IPC channel
    }, 15_000);
    await serverClosed;
    clearTimeout(kill);
  }
});
