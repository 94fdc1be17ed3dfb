// The API process restarted mid-run on its data dir: real runner processes wait out the outage,
// carry on with the same tasks, and the run drains with nothing lost (issue 10, chaos runs).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { client, startTestStack } from '../helpers/api';
import { expectDrained, type RunnerChild, runningTaskOf, spawnRunner } from './helpers';

const children: RunnerChild[] = [];
let stack: LocalStack | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await c.exited;
  }
  await stack?.stop();
  stack = undefined;
});

it('the API restarted mid-run on its data dir: runners wait it out and the run drains, nothing lost', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bf-chaos-restart-'));
  // a heartbeat timeout far above the restart gap: nobody may be reaped for the outage itself
  const opts = { dataDir, heartbeatTimeoutS: 60, reaperIntervalS: 1, waitRetrySeconds: 1 };
  const first = await startTestStack(opts);
  stack = first;
  const { run_id: runId } = (
    await client(first.apiUrl).start({ runs_per_instance_type: 2, local: ['ra', 'rb'] })
  ).body;
  children.push(
    spawnRunner(first, runId, 'ra', 'restart-a', 3),
    spawnRunner(first, runId, 'rb', 'restart-b', 3),
  );
  const busy = await runningTaskOf(first, 'restart-a');

  await first.stop();
  stack = undefined;
  await new Promise((r) => setTimeout(r, 1500)); // the API is away: runners retry with backoff
  stack = await startTestStack({ ...opts, port: first.port });

  for (const c of children) expect(await c.exited).toBe(0);
  // the outage really reached the runners: at least one call (a heartbeat, at least) failed and was retried
  expect(
    children.some((c) => c.lines.some((l) => /failed, retrying|heartbeat failed; retrying/.test(l))),
  ).toBe(true);
  const tasks = await expectDrained(stack, runId, {});
  // the task that was running across the restart finished with the runner that held it
  expect(tasks.find((t) => t.id === busy.id)).toMatchObject({
    status: 'completed',
    runner_id: busy.runner_id,
  });
}, 90_000);
