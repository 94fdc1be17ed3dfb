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

/**
 * What the stand-in answers to each PUT in turn: a status, a status with a body, or 'drop' (the
 * connection is cut); then 200.
 */
let plan: Array<number | 'drop' | { status: number; body: string }> = [];
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
      if (typeof next === 'object') {
        res.writeHead(next.status, { 'content-type': 'application/xml' });
        return res.end(next.body);
      }
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
  // the socket error's code, which its message leaves out, says how the connection ended
  expect(out.ok || out.reason).toMatch(/; last: network: socket hang up \(ECONNRESET\)$/);
  expect(puts).toBe(2);
});

/** S3's XML error for a refused PUT, with the parts of it that must never reach a log. */
const s3Error = (code: string, message: string, extra = ''): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}` +
  '<StringToSign>AWS4-HMAC-SHA256 secret-scope</StringToSign>' +
  '<CanonicalRequest>PUT /result X-Amz-Credential=AKIAEXAMPLE&amp;X-Amz-Signature=abc123</CanonicalRequest>' +
  '<RequestId>4442587FB7D0A2F9</RequestId></Error>';

describe("a PUT the store refuses says why, from the store's XML error", () => {
  it('names the code and message, and says to fix the clock for RequestTimeTooSkewed', async () => {
    plan = [
      {
        status: 403,
        body: s3Error(
          'RequestTimeTooSkewed',
          'The difference between the request time and the current time is too large.',
          '<RequestTime>20240101T000000Z</RequestTime><ServerTime>2024-01-01T00:20:00Z</ServerTime>' +
            '<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>',
        ),
      },
    ];
    const secret = '?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=abc123';
    const signed = { ...urls, result_upload_url: `${urls.result_upload_url}${secret}` };
    const t = { ...target(), claimUrls: signed };
    const out = await uploadTarball(t, 'result', file, limits(1, 0));
    expect(out.ok || out.reason).toMatch(
      /; last: HTTP 403 RequestTimeTooSkewed \(The difference between the request time and the current time is too large\.\); the host clock is off \(the store's time was 2024-01-01T00:20:00Z\): check chrony\/NTP$/,
    );
    // neither the presigned URL's query nor the signing details S3 echoes reach the log or the reason
    const all = [...t.lines, out.ok || out.reason].join('\n');
    expect(all).toContain('RequestTimeTooSkewed');
    expect(all).not.toMatch(/X-Amz-|AKIAEXAMPLE|abc123|StringToSign|secret-scope/);
  });

  it.each([
    ['AccessDenied', 'AccessDenied', 'Access Denied', 'HTTP 403 AccessDenied (Access Denied)'],
    [
      'SignatureDoesNotMatch',
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      'HTTP 403 SignatureDoesNotMatch (The request signature we calculated does not match the signature you provided. Check your key and signing method.)',
    ],
    [
      'ExpiredToken',
      'ExpiredToken',
      'The provided token has expired.',
      'HTTP 400 ExpiredToken (The provided token has expired.)',
    ],
    ['a long message, left out', 'AccessDenied', 'x'.repeat(500), 'HTTP 403 AccessDenied'],
  ])('%s', async (_, code, message, expected) => {
    const status = code === 'ExpiredToken' ? 400 : 403;
    plan = [
      { status, body: s3Error(code, message) },
      { status, body: s3Error(code, message) },
    ];
    // claim URLs too old to use: fresh ones from the start
    const t = target(undefined, Date.now());
    const out = await uploadTarball(t, 'result', file, limits(2, 0));
    expect(out.ok || out.reason).toMatch(new RegExp(`; last: ${expected.replace(/[.()]/g, '\\$&')}$`));
    // a 403, with its code or not, still gets fresh URLs for the next try (they may have expired)
    expect(t.urlCalls()).toBe(status === 403 ? 2 : 1);
    expect(t.lines.join('\n')).not.toMatch(/X-Amz-|StringToSign/);
  });
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
