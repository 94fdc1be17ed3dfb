// No secret reaches a log: during a whole local run (API, reaper, assembly and in-process runners
// at DEBUG level) neither API key nor any presigned URL's signature may be printed. Logs are
// captured from process.stdout/stderr (where Powertools and the runner write), console.* and the
// runner's own sink.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';
import { logger } from '../../lambdas/shared/logger';
import { createRunner } from '../../runner/agent';
import { client, waitFor } from '../helpers/api';

const operatorKey = `op-${randomBytes(18).toString('hex')}`;
const runnerKey = `rn-${randomBytes(18).toString('hex')}`;
const captured: string[] = [];
const signatures = new Set<string>();
let stack: LocalStack;
const realFetch = globalThis.fetch;

function noteSignatures(text: string): void {
  for (const m of text.matchAll(/X-Amz-Signature=([0-9a-f]{64})/g)) if (m[1]) signatures.add(m[1]);
}

beforeAll(async () => {
  // setup-env silences Powertools; the logger instance already exists, so raise it directly
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  logger.setLogLevel('DEBUG');
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    jest.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      captured.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write);
  }
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    jest.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      captured.push(args.map(String).join(' '));
    });
  }
  // every URL and answer the runners and the test see, to learn each signature handed out
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    noteSignatures(String(input instanceof Request ? input.url : input));
    const res = await realFetch(input, init);
    noteSignatures(await res.clone().text());
    return res;
  }) as typeof fetch;
  stack = await startLocalStack({
    operatorKey,
    runnerKey,
    heartbeatTimeoutS: 30,
    reaperIntervalS: 1,
  });
});

afterAll(async () => {
  globalThis.fetch = realFetch;
  logger.setLogLevel('SILENT');
  jest.restoreAllMocks();
  await stack?.stop();
});

it('prints neither key nor any presigned URL signature during a full run', async () => {
  const api = client(stack.apiUrl);
  const started = await api.call<{ run_id: number }>('POST', '/run/start', {
    key: operatorKey,
    body: { ruby_version: '3.4.7', runs_per_instance_type: 3, local: ['sec-a'] },
  });
  expect(started.status).toBe(201);
  const runId = started.body.run_id;
  // a refused request too: the wrong key must not be echoed back into the logs either
  await api.call('POST', '/run/stop', { key: `${operatorKey}x` });
  const lines: string[] = [];
  const runner = createRunner({
    apiUrl: stack.apiUrl,
    apiKey: runnerKey,
    provider: 'local',
    instanceType: 'sec-a',
    runId,
    executor: 'synthetic',
    syntheticSize: 0,
    slots: 2,
    heartbeatS: 1,
    json: true,
    debug: true,
    hostId: 'sec',
    workDir: mkdtempSync(join(tmpdir(), 'bf-sec-')),
    logWrite: (line) => lines.push(line),
  });
  const result = await runner.done;
  expect(result.tasksCompleted).toBe(3);
  const run = await waitFor('the archive', async () => {
    const r = await api.call<{ status: string; gzip_url: string | null }>('GET', '/run', {
      key: operatorKey,
    });
    return r.body.status === 'complete' && r.body.gzip_url ? r.body : undefined;
  });
  expect((await fetch(run.gzip_url as string)).status).toBe(200);
  await stack.reapNow();

  // the run really logged something, and really handed out signatures (else the test proves nothing)
  expect(lines.length).toBeGreaterThan(5);
  expect(signatures.size).toBeGreaterThanOrEqual(7); // 3 tasks x 2 upload URLs + the archive
  const all = [...captured, ...lines].join('\n');
  expect(all).not.toContain(operatorKey);
  expect(all).not.toContain(runnerKey);
  for (const sig of signatures) expect(all).not.toContain(sig);
  expect(all).not.toMatch(/X-Amz-Signature=/i);
  expect(all).not.toMatch(/X-Amz-Credential=/i);
});
