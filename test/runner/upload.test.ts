// uploadTarball against a stand-in S3: no answer (network, 5xx, 429) is retried within the time
// budget past the minimum tries, a refusal (4xx) is not, and an abort ends the retries at once.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { PresignedUrls } from '../../lambdas/shared/contract';
import type { ApiClient } from '../../runner/api-client';
import { createLogger } from '../../runner/log';
import { CLAIM_URL_MARGIN_S, type UploadLimits, type UploadTarget, uploadTarball } from '../../runner/upload';
import { testRunner } from './helpers';

/** What the stand-in answers to each PUT in turn: a status, or 'drop' (the connection is cut); then 200. */
let plan: Array<number | 'drop'> = [];
let puts = 0;
let server: Server;
let urls: PresignedUrls;
let file: string;

beforeEach(async () => {
  plan = [];
  puts = 0;
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      puts++;
      const next = plan.shift() ?? 200;
      if (next === 'drop') return req.socket.destroy();
      res.writeHead(next);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  urls = {
    result: `${base}/result`,
    error: `${base}/error`,
    result_upload_url: `${base}/result`,
    error_upload_url: `${base}/error`,
    result_key: 'runs/1/tasks/1/result.tar.gz',
    error_key: 'runs/1/tasks/1/error.tar.gz',
    expires_in_seconds: 3600,
  };
  file = join(testRunner('http://unused').workDir, 'result.tar.gz');
  writeFileSync(file, 'tarball');
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function target(
  signal?: AbortSignal,
  claimUrlsUntil = Date.now() + 3600_000,
): UploadTarget & {
  lines: string[];
  urlCalls: () => number;
} {
  const lines: string[] = [];
  let urlCalls = 0;
  const api = {
    uploadUrls: async () => {
      urlCalls++;
      return urls;
    },
  } as unknown as ApiClient;
  const log = createLogger({ json: true, write: (l) => lines.push(l) });
  return {
    api,
    taskId: 1,
    runnerId: 'r-0',
    attempt: 1,
    claimUrls: urls,
    claimUrlsUntil,
    log,
    signal,
    lines,
    urlCalls: () => urlCalls,
  };
}

it("uses the claim's URLs while they have more than the margin left, and fetches fresh ones after", async () => {
  const fresh = target(undefined, Date.now() + (CLAIM_URL_MARGIN_S + 60) * 1000);
  expect(await uploadTarball(fresh, 'result', file, limits(1, 0))).toEqual({
    ok: true,
    key: urls.result_key,
  });
  expect(fresh.urlCalls()).toBe(0);
  const old = target(undefined, Date.now() + (CLAIM_URL_MARGIN_S - 60) * 1000);
  expect(await uploadTarball(old, 'result', file, limits(1, 0))).toEqual({ ok: true, key: urls.result_key });
  expect(old.urlCalls()).toBe(1);
  // a failed try on the claim's URLs gets fresh ones at once
  plan = ['drop'];
  const moved = target();
  expect(await uploadTarball(moved, 'result', file, limits(2, 0))).toEqual({
    ok: true,
    key: urls.result_key,
  });
  expect(moved.urlCalls()).toBe(1);
  expect(puts).toBe(4);
});

const limits = (attempts: number, budgetS: number): UploadLimits => ({ attempts, budgetS, urlBudgetS: 1 });

it('retries S3 giving no answer (5xx, 429, a cut connection) past the minimum tries, within the budget', async () => {
  plan = [503, 'drop', 429];
  const out = await uploadTarball(target(), 'result', file, limits(1, 10));
  expect(out).toEqual({ ok: true, key: urls.result_key });
  expect(puts).toBe(4);
});

it('gives up after the minimum tries once the time budget is spent', async () => {
  plan = Array(10).fill('drop');
  const out = await uploadTarball(target(), 'result', file, limits(2, 0));
  expect(out).toMatchObject({ ok: false, finished: false });
  expect(out.ok || out.reason).toMatch(
    /^upload of result\.tar\.gz failed 2 times over \d+ s; last: network: /,
  );
  expect(puts).toBe(2);
});

it('does not retry a refusal (4xx) past the minimum tries, whatever the budget', async () => {
  plan = Array(10).fill(400);
  const out = await uploadTarball(target(), 'error', file, limits(2, 60));
  expect(out.ok || out.reason).toMatch(/failed 2 times .*; last: HTTP 400$/);
  expect(puts).toBe(2);
});

it('stops retrying as soon as the task is aborted (shutdown, cancel)', async () => {
  plan = Array(50).fill(503);
  const ctl = new AbortController();
  const t = target(ctl.signal);
  const started = Date.now();
  const pending = uploadTarball(t, 'result', file, limits(5, 60));
  // the claim URLs fail, the fresh ones fail: abort in the wait after that second try
  while (!t.lines.some((l) => l.includes('"try":2'))) await new Promise((r) => setTimeout(r, 5));
  ctl.abort();
  const out = await pending;
  expect(out).toMatchObject({ ok: false });
  expect(puts).toBe(2);
  expect(Date.now() - started).toBeLessThan(5_000);
});
