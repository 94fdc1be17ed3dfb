// The synthetic workload runs off the heartbeat's thread: while it keeps a CPU fully busy for many
// heartbeat intervals, heartbeats still leave on time (DESIGN.md, "Runner facts").
import { startRunner } from '../../runner/agent';
import { ApiClient } from '../../runner/api-client';
import { createLogger } from '../../runner/log';
import { FakeApi } from './fake-api';
import { testRunner } from './helpers';

let api: FakeApi | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

it('keeps heartbeating on time while the synthetic workload hogs a CPU', async () => {
  api = await new FakeApi({
    tasks: 1,
    benchmarks: ['fib', 'nbody', 'json', 'regex', 'binarytrees'],
    taskOver: { ruby_bench_env: { WARMUP_ITRS: 2, MIN_BENCH_ITRS: 30 } },
  }).start();
  const heartbeatS = 0.25;
  const beats: number[] = [];
  api.onHeartbeat = (_t, hb) => {
    if (hb.status === 'running') beats.push(Date.now());
  };
  const started = Date.now();
  // sized to last a few seconds on a fast machine (size 2 was under a second there: too few beats)
  await startRunner(testRunner(api.url, { slots: 1, syntheticSize: 6, heartbeatS }).input);
  const busyS = (Date.now() - started) / 1000;
  // the workload itself must have lasted well past three intervals for the test to mean anything
  expect(busyS).toBeGreaterThan(3 * heartbeatS);
  expect(beats.length).toBeGreaterThanOrEqual(3);
  const gaps = beats.slice(1).map((b, i) => (b - (beats[i] as number)) / 1000);
  // a blocked event loop would show one gap as long as the workload; a busy machine adds jitter only
  expect(Math.max(...gaps)).toBeLessThan(Math.min(4 * heartbeatS, busyS / 2));
}, 60_000);

it('sends a heartbeat once, not retried over --max-retry-s: the timer sends the next one', async () => {
  api = await new FakeApi({ tasks: 1 }).start();
  const claimed = await api.claimAs('r-0');
  api.heartbeatPlan = [503, 503, 503];
  const client = new ApiClient({
    apiUrl: api.url,
    apiKey: 'k',
    log: createLogger({ json: false, write: () => undefined }),
    maxRetryS: 600,
  });
  // a retried beat would stay in flight for minutes, and the beats after it would pile up behind
  await expect(
    client.heartbeat(claimed.task.id, { runner_id: 'r-0', status: 'running', attempt: 1 }),
  ).rejects.toThrow(/503/);
  expect(api.calls.filter((c) => c.endsWith('/heartbeat'))).toHaveLength(1);
});
