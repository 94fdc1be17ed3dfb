// After a stop, every step of a task (the result PUT in flight, upload-urls, the error upload, the
// fail) keeps its own cap (stopBudgetS), but all of them end by one runner-wide deadline
// (stopTotalS after the stop), so a chain of slow steps cannot push the fail past systemd's stop
// timeout. The error upload ends failReserveS before that deadline, or is skipped: the fail, which
// comes last, always has time left. Short test values stand in for STOP_BUDGET_S, STOP_TOTAL_S and
// FAIL_RESERVE_S (20, 45 and 10 s).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRunner } from '../../runner/agent';
import { ApiClient } from '../../runner/api-client';
import { createLogger } from '../../runner/log';
import { FAIL_RESERVE_S, STOP_BUDGET_S, STOP_TOTAL_S, StopDeadline } from '../../runner/stop-deadline';
import { FakeApi } from './fake-api';
import { doneWithin, testRunner, waitFor } from './helpers';

let api: FakeApi;
afterEach(async () => {
  await api?.stop();
});

/** When the first call matching `re` came in, in ms after `t0` (undefined: it never came). */
const firstAfter = (re: RegExp, t0: number): number | undefined => {
  const i = api.calls.findIndex((c, n) => re.test(c) && (api.callTimes[n] ?? 0) >= t0);
  return i < 0 ? undefined : (api.callTimes[i] ?? 0) - t0;
};

it('steps that each hang after a stop all end by the shared deadline: fail is answered within the total', async () => {
  const STEP_S = 1.5;
  const TOTAL_S = 4.5;
  const RESERVE_S = 1;
  api = await new FakeApi({ tasks: 1 }).start();
  // the claim's URLs work but are too short-lived to use first: upload-urls, then them as a fallback
  api.claimUrlsValidS = 60;
  api.putDelayMs = 60_000; // every PUT hangs: the result's in flight at the stop, then the error's
  const r = testRunner(api.url, {
    slots: 1,
    maxRetryS: 600,
    stopBudgetS: STEP_S,
    stopTotalS: TOTAL_S,
    failReserveS: RESERVE_S,
  });
  const h = createRunner(r.input);
  await waitFor(() => api.calls.some((c) => c.startsWith('PUT')), 20_000, 'the result PUT');
  api.urlsStatus = 503; // the error upload's upload-urls gets no answer
  const stopAt = Date.now();
  h.stop();
  const { res, tookMs } = await doneWithin(h.done, 20_000);
  expect(res).toMatchObject({ interrupted: true, tasksFailed: 1, tasksUnacknowledged: 0 });
  expect(api.tasks[0]?.fail).toMatchObject({ error_type: 'interrupted', s3_error_key: null });
  // each step really ran after the stop, and hung until its cap
  const urlsAt = firstAfter(/upload-urls$/, stopAt);
  const errorPutAt = firstAfter(/^PUT .*error\.tar\.gz$/, stopAt);
  const failAt = firstAfter(/\/fail$/, stopAt);
  expect(urlsAt).toBeGreaterThanOrEqual(STEP_S * 1000 - 100); // after the result PUT's own cap
  expect(errorPutAt).toBeGreaterThan(urlsAt ?? Number.NaN);
  expect(failAt).toBeGreaterThan(errorPutAt ?? Number.NaN);
  // The per-step caps alone add up to more than the total: result PUT, upload-urls, error PUT
  // (and its second try) and fail, STEP_S each. The fail came before the deadline, after the
  // error upload's share ended, and the runner was gone by the deadline.
  expect(failAt).toBeGreaterThanOrEqual((TOTAL_S - RESERVE_S) * 1000 - 100);
  expect(failAt).toBeLessThan(TOTAL_S * 1000);
  expect(tookMs).toBeLessThan(TOTAL_S * 1000 + 250);
  const log = r.lines.join('\n');
  expect(log).toMatch(/upload of error\.tar\.gz failed .*stop deadline/);
  expect(log).toMatch(/error\.tar\.gz not uploaded: /);
});

it('skips the error upload when less than the fail reserve is left; the fail still gets through', async () => {
  const STEP_S = 2;
  const TOTAL_S = 3;
  const RESERVE_S = 1.5;
  api = await new FakeApi({ tasks: 1 }).start();
  api.putDelayMs = 60_000; // the result PUT in flight takes its whole cap: 2 s of the 3
  const r = testRunner(api.url, {
    slots: 1,
    maxRetryS: 600,
    stopBudgetS: STEP_S,
    stopTotalS: TOTAL_S,
    failReserveS: RESERVE_S,
  });
  const h = createRunner(r.input);
  await waitFor(() => api.calls.some((c) => c.startsWith('PUT')), 20_000, 'the result PUT');
  const stopAt = Date.now();
  // by position, not time: the result PUT can be logged in the very millisecond of the stop
  const callsBefore = api.calls.length;
  h.stop();
  const { res, tookMs } = await doneWithin(h.done, 20_000);
  expect(res).toMatchObject({ interrupted: true, tasksFailed: 1, tasksUnacknowledged: 0 });
  expect(api.tasks[0]?.fail).toMatchObject({ error_type: 'interrupted', s3_error_key: null });
  expect(api.calls.slice(callsBefore).filter((c) => /upload-urls$|^PUT /.test(c))).toEqual([]);
  expect(firstAfter(/\/fail$/, stopAt)).toBeLessThan(TOTAL_S * 1000);
  expect(tookMs).toBeLessThan(TOTAL_S * 1000);
  expect(r.lines.join('\n')).toMatch(
    /error\.tar\.gz not uploaded: the runner is stopping and only [\d.]+ s are left before its stop deadline/,
  );
});

describe('StopDeadline and StopCap', () => {
  const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  it('change nothing until the stop', async () => {
    const stop = new AbortController();
    const deadline = new StopDeadline(stop.signal, 50);
    const cap = deadline.cap(undefined, 20);
    await tick(80);
    expect([deadline.stopped, deadline.at, deadline.leftMs(), cap.at]).toEqual([
      false,
      Number.POSITIVE_INFINITY,
      Number.POSITIVE_INFINITY,
      Number.POSITIVE_INFINITY,
    ]);
    expect(cap.signal.aborted || deadline.signal.aborted).toBe(false);
    cap.dispose();
  });

  it('end a step at its own grace or at the shared deadline, whichever comes first', async () => {
    const stop = new AbortController();
    const deadline = new StopDeadline(stop.signal, 150);
    const short = deadline.cap(stop.signal, 40);
    const long = deadline.cap(stop.signal, 10_000);
    const before = Date.now();
    stop.abort();
    expect(deadline.at - 150).toBeGreaterThanOrEqual(before);
    expect(deadline.at - 150).toBeLessThanOrEqual(Date.now());
    expect(long.at).toBe(deadline.at);
    await tick(80);
    expect([short.signal.aborted, short.byDeadline, long.signal.aborted]).toEqual([true, false, false]);
    await tick(120);
    expect([long.signal.aborted, long.byDeadline]).toEqual([true, true]);
    expect(String(long.signal.reason)).toMatch(
      /the runner's stop deadline passed \(0\.15 s after the stop\)/,
    );
    // a step that starts after the deadline is over at once
    const late = deadline.cap(stop.signal, 10_000);
    expect([late.signal.aborted, late.byDeadline, deadline.leftMs() <= 0]).toEqual([true, true, true]);
    for (const c of [short, long, late]) c.dispose();
  });

  it('give a share that ends earlier, counted from the stop even when made after it', async () => {
    const stop = new AbortController();
    const deadline = new StopDeadline(stop.signal, 200);
    stop.abort();
    await tick(30);
    const share = deadline.sooner(120, 'the share');
    expect(share.at).toBe(deadline.at - 120);
    await tick(70);
    expect([share.signal.aborted, deadline.signal.aborted]).toEqual([true, false]);
    expect(String(share.signal.reason)).toMatch(/the share passed \(0\.08 s after the stop\)/);
    share.dispose();
  });
});

it("keeps the stop deadline well inside the systemd units' stop timeout, and a step inside the deadline", () => {
  for (const file of ['lib/fleet/user-data.ts', 'terraform-azure/cloud-init.yaml.tftpl']) {
    const timeouts = [
      ...readFileSync(join(__dirname, '../..', file), 'utf8').matchAll(/TimeoutStopSec=(\d+)/g),
    ];
    expect(timeouts.map((m) => m[1])).toEqual(['90']);
    // half of systemd's window for the network, half for containers, packing and exiting
    expect(STOP_TOTAL_S).toBeLessThanOrEqual(Number(timeouts[0]?.[1]) / 2);
  }
  // a PUT in flight and then the fail, each with its own full cap, fit in the deadline
  expect(2 * STOP_BUDGET_S).toBeLessThanOrEqual(STOP_TOTAL_S);
  expect(FAIL_RESERVE_S).toBeLessThan(STOP_TOTAL_S - STOP_BUDGET_S);
});

it('gives the fail one try of its own when the stop deadline passed before it', async () => {
  // an executor slow to die is not bounded by the deadline: the fail can come after it has passed
  api = await new FakeApi({ tasks: 1 }).start();
  const claimed = await api.claimAs('r-0');
  const stop = new AbortController();
  const client = new ApiClient({
    apiUrl: api.url,
    apiKey: 'k',
    log: createLogger({ json: false, write: () => undefined }),
    maxRetryS: 600,
    signal: stop.signal,
    stopTotalS: 0.1,
    failReserveS: 2,
  });
  stop.abort();
  await new Promise((r) => setTimeout(r, 300));
  expect(client.stopDeadline.leftMs()).toBeLessThan(0);
  await client.fail(claimed.task.id, { runner_id: 'r-0', error_type: 'interrupted', attempt: 1 });
  expect(api.tasks[0]?.fail).toMatchObject({ error_type: 'interrupted' });
  client.stopDeadline.dispose();
});
