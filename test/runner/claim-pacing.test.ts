// How often a runner claims when it should hold back: a `wait` answer with an odd retry_after, and a
// host whose container engine fails every task (it must not burn the queue of its instance type).
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRunner, INFRA_STREAK } from '../../runner/agent';
import { FakeApi } from './fake-api';
import { testRunner, waitFor } from './helpers';

let api: FakeApi | undefined;
let engine: Server | undefined;
afterEach(async () => {
  await api?.stop();
  engine?.closeAllConnections();
  await new Promise((r) => (engine ? engine.close(r) : r(undefined)));
  api = undefined;
  engine = undefined;
});

/**
 * A Docker engine on loopback that answers the runner's start-up sweep (no leftover containers) and
 * hands every other request to `rest`; its address, as --docker-host takes it.
 */
async function fakeEngine(rest: (res: ServerResponse) => void): Promise<string> {
  const e = createServer((req, res) => {
    if (!req.url?.includes('/containers/json')) return rest(res);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('[]');
  });
  engine = e;
  await new Promise<void>((r) => e.listen(0, '127.0.0.1', r));
  return `tcp://127.0.0.1:${(e.address() as AddressInfo).port}`;
}

const claimsOf = (a: FakeApi): number => a.calls.filter((c) => c.endsWith('/claim')).length;

it.each([0, -5])('a wait with retry_after_seconds %p still waits a second: no busy loop', async (after) => {
  const a = await new FakeApi({ tasks: 0 }).start();
  api = a;
  a.rawClaims = Array.from({ length: 10_000 }, () =>
    JSON.stringify({ status: 'wait', retry_after_seconds: after }),
  );
  const h = createRunner(testRunner(a.url, { slots: 2 }).input);
  await new Promise((r) => setTimeout(r, 1500));
  h.stop();
  await h.done;
  // two slots, each claiming at once and then about once a second
  expect(claimsOf(a)).toBeGreaterThanOrEqual(2);
  expect(claimsOf(a)).toBeLessThanOrEqual(6);
});

it('a host whose engine fails every task backs off after a few, leaving the queue to healthy hosts', async () => {
  const a = await new FakeApi({ tasks: 50 }).start();
  api = a;
  // answers the start-up sweep, then refuses everything, as an engine with a full disk does
  const r = testRunner(a.url, {
    slots: 1,
    executor: 'docker',
    dockerHost: await fakeEngine((res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"message":"no space left on device"}');
    }),
    infraBackoffS: 30,
  });
  const h = createRunner(r.input);
  const failed = () => a.tasks.filter((t) => t.fail).length;
  for (let i = 0; i < 100 && failed() < INFRA_STREAK; i++) await new Promise((res) => setTimeout(res, 50));
  await new Promise((res) => setTimeout(res, 1000)); // time enough to burn many more, were it not waiting
  h.stop();
  await h.done;
  expect(failed()).toBe(INFRA_STREAK);
  expect(a.tasks.filter((t) => t.fail).map((t) => t.fail?.error_type)).toEqual(
    Array(INFRA_STREAK).fill('docker_error'),
  );
  expect(r.lines.join('\n')).toMatch(
    /failed its last 3 tasks with docker_error or provision_failed: waiting 30 s/,
  );
}, 30_000);

it('a task whose container engine stops answering is reported past its timeout anyway', async () => {
  const a = await new FakeApi({ tasks: 1 }).start();
  api = a;
  // answers the start-up sweep, then wedges: accepts connections, never answers
  const r = testRunner(a.url, {
    slots: 1,
    executor: 'docker',
    dockerHost: await fakeEngine(() => undefined),
    taskTimeoutS: 1,
    executorGraceS: 1,
  });
  const h = createRunner(r.input);
  await waitFor(() => a.tasks[0]?.fail !== undefined, 10_000, 'the fail report');
  expect(a.tasks[0]?.fail).toMatchObject({ error_type: 'timeout' });
  expect(a.tasks[0]?.fail?.error_message).toMatch(/did not stop within 1 s after it/);
  const beats = a.tasks[0]?.heartbeats.length ?? 0;
  await new Promise((res) => setTimeout(res, 600)); // heartbeats end with the report
  expect(a.tasks[0]?.heartbeats.length).toBe(beats);
  h.stop();
  await h.done;
}, 30_000);
