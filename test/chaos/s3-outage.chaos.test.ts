// The local S3 unavailable during uploads (issue 10, chaos runs): real runner processes and the real
// s3rver, taken down (open connections included) and brought back on the same port with the same
// objects. An outage shorter than the runners' upload budget (--max-retry-s) is waited out; a longer
// one fails the task it hit as upload_failed while the rest complete (or, with attempts left, queues
// it again to complete once S3 is back); the API answers 503 `unavailable`, never a 409, for what it
// cannot check in S3; an assembly that meets S3 down retries until it is back; and every run ends
// with an archive whose manifest and counters agree.
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { ClaimResponse } from '../../lambdas/shared/contract';
import { client, OPERATOR, RUNNER, startTestStack, upload, waitFor } from '../helpers/api';
import { expectDrained, loggedLine, type RunnerChild, spawnRunner, tasksOf } from './helpers';

const HEARTBEAT_TIMEOUT_S = 3;
let stack: LocalStack;
const children: RunnerChild[] = [];

beforeEach(async () => {
  stack = await startTestStack({
    heartbeatTimeoutS: HEARTBEAT_TIMEOUT_S,
    reaperIntervalS: 1,
    waitRetrySeconds: 1,
  });
});
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await c.exited;
  }
  await stack.stop();
});

const PUT_REFUSED = /^upload of result\.tar\.gz failed$/;

/**
 * For tests whose tasks are claimed by hand and send no heartbeats: on a busy machine the 3 s
 * timeout would reap them midway, so the stack is restarted with the reaper out of the way.
 */
async function handClaimsOnly(): Promise<void> {
  await stack.stop();
  stack = await startTestStack({ heartbeatTimeoutS: 120, reaperIntervalS: 1, waitRetrySeconds: 1 });
}

it('S3 down as runners upload, back within their budget: every task completes, nothing lost', async () => {
  const api = client(stack.apiUrl);
  const { run_id: runId } = (await api.start({ runs_per_instance_type: 2, local: ['sa', 'sb'] })).body;
  // S3 goes away before the runners reach their first upload: claims and heartbeats do not need it
  await stack.services.stopS3();
  children.push(spawnRunner(stack, runId, 'sa', 'short-a', 0), spawnRunner(stack, runId, 'sb', 'short-b', 0));
  // every runner has had two PUTs refused before S3 comes back (it has --max-retry-s 20)
  await Promise.all(children.map((c) => loggedLine(c, PUT_REFUSED, (l) => l.try === 2)));
  await stack.services.startS3();

  for (const c of children) expect(await c.exited).toBe(0);
  await expectDrained(stack, runId, {});
  // nobody gave up: no task failed, nothing was left unacknowledged
  for (const c of children) expect(c.lines.join('\n')).not.toMatch(/"error_type"|never acknowledged/);
}, 60_000);

/**
 * A run of two tasks of `type` with S3 down from the start and one runner whose upload budget
 * (13 s) runs out before S3 is back: resolves when the runner gives up on a task's result.
 */
async function outagePastUploadBudget(
  type: string,
  maxAttempts: number,
): Promise<{ runId: number; runner: RunnerChild; victim: number }> {
  const api = client(stack.apiUrl);
  const { run_id: runId } = (
    await api.start({ runs_per_instance_type: 2, local: [type], max_attempts: maxAttempts })
  ).body;
  await stack.services.stopS3();
  const runner = spawnRunner(stack, runId, type, `${type}-host`, 0, { BENCHFLEET_MAX_RETRY_S: '13' });
  children.push(runner);
  const gaveUp = await loggedLine(runner, /^task \d+ failed: upload of result\.tar\.gz failed \d+ times/);
  return { runId, runner, victim: gaveUp.task as number };
}

it('S3 down past the upload budget: the task it hit fails upload_failed, the next completes, the run assembles', async () => {
  const { runId, runner, victim } = await outagePastUploadBudget('la', 1);
  // the runner spends its budget on result.tar.gz and five tries on error.tar.gz, then reports the
  // failure, which the API records while S3 is still down (it only looks for an error tarball the
  // runner did not name, and goes without it when S3 does not answer)
  await waitFor(
    `task ${victim} recorded as failed upload_failed with S3 still down`,
    async () => {
      const t = (await tasksOf(stack)).find((x) => x.id === victim);
      return t?.status === 'failed' && t.error_type === 'upload_failed';
    },
    15_000,
  );
  await stack.services.startS3();

  expect(await runner.exited).toBe(0);
  const tasks = await expectDrained(stack, runId, { [victim]: 'upload_failed' });
  expect(tasks.find((t) => t.id === victim)).toMatchObject({
    error_message: expect.stringMatching(
      /^upload of result\.tar\.gz failed \d+ times over \d+ s; last: network/,
    ),
  });
}, 60_000);

it('S3 down past the upload budget with max_attempts 2: the failed attempt is queued again and completes once S3 is back', async () => {
  const { runId, runner, victim } = await outagePastUploadBudget('ra', 2);
  // the API takes the failure as attempt 1 of 2 and queues the task again: not failed, not lost
  await waitFor(
    `task ${victim} back in the queue after its upload_failed attempt`,
    async () => {
      const t = (await tasksOf(stack)).find((x) => x.id === victim);
      return t?.status === 'pending' || (t?.attempt === 2 && t.status !== 'failed') ? t : undefined;
    },
    15_000,
  );
  expect((await client(stack.apiUrl).run(OPERATOR)).body).toMatchObject({
    status: 'running',
    tasks: { failed: 0 },
  });
  await stack.services.startS3();

  expect(await runner.exited).toBe(0);
  // every task completed, the victim on its second attempt, and the counters agree with a recount
  const tasks = await expectDrained(stack, runId, {});
  expect(tasks.find((t) => t.id === victim)).toMatchObject({ status: 'completed', attempt: 2 });
  expect(runner.lines.join('\n')).not.toMatch(/never acknowledged/);
}, 90_000);

it('with S3 down complete answers 503 unavailable and changes nothing, fail still lands; complete lands once S3 is back', async () => {
  await handClaimsOnly();
  const api = client(stack.apiUrl);
  const { run_id: runId } = (await api.start({ runs_per_instance_type: 2, local: ['lm'] })).body;
  const claimed: Array<{ runner: string; id: number; result: string }> = [];
  for (const runner of ['probe-1', 'probe-2']) {
    const c = ClaimResponse.parse((await api.claim(runId, 'lm', runner)).body);
    if (c.status !== 'assigned') throw new Error(`expected a task, got ${c.status}`);
    claimed.push({ runner, id: c.task.id, result: c.presigned_urls.result });
  }
  const [done, broken] = claimed as [(typeof claimed)[0], (typeof claimed)[0]];
  await upload(done.result);
  await stack.services.stopS3();

  // the tasks are still their runners': heartbeats and fresh upload URLs need no S3
  expect((await api.heartbeat(done.id, done.runner)).body).toEqual({ action: 'continue' });
  const fresh = await api.call('POST', `/tasks/${broken.id}/upload-urls`, {
    key: RUNNER,
    body: { runner_id: broken.runner },
  });
  expect(fresh.status).toBe(200);
  // S3 cannot say whether the result is there: 503, which the runner retries; never
  // result_not_uploaded (a 409 the runner takes as final), nor a bare 500
  const refused = await api.complete(done.id, done.runner);
  expect(refused.status).toBe(503);
  expect(refused.body).toEqual({
    error: 'unavailable',
    message: expect.stringMatching(/^S3 did not answer HeadObject/),
  });
  expect((await api.run(OPERATOR)).body).toMatchObject({
    status: 'running',
    tasks: { completed: 0, failed: 0 },
  });
  // a failure needs no S3: the error tarball it could not look for is simply not listed
  expect((await api.fail(broken.id, broken.runner, 'upload_failed')).status).toBe(200);
  expect((await api.run(OPERATOR)).body).toMatchObject({
    status: 'running',
    tasks: { completed: 0, failed: 1 },
  });

  await stack.services.startS3();
  expect((await api.complete(done.id, done.runner)).status).toBe(200);
  await expectDrained(stack, runId, { [broken.id]: 'upload_failed' });
}, 60_000);

/** A run of two 'ls' tasks, one completed; S3 goes down and the operator stops the run (no S3 needed). */
async function stopDuringOutage(): Promise<{ runId: number; cancelled: number }> {
  const api = client(stack.apiUrl);
  const { run_id: runId } = (await api.start({ runs_per_instance_type: 2, local: ['ls'] })).body;
  const first = ClaimResponse.parse((await api.claim(runId, 'ls', 'stop-1')).body);
  const second = ClaimResponse.parse((await api.claim(runId, 'ls', 'stop-2')).body);
  if (first.status !== 'assigned' || second.status !== 'assigned') throw new Error('expected two tasks');
  await upload(first.presigned_urls.result);
  expect((await api.complete(first.task.id, 'stop-1')).status).toBe(200);
  await stack.services.stopS3();
  // the stop needs no S3; the assembly it starts does (the task listing and the archive live there)
  expect((await api.call('POST', '/run/stop', { key: OPERATOR })).status).toBe(200);
  await new Promise((r) => setTimeout(r, 1500)); // the outage, past the assembly's first S3 call
  return { runId, cancelled: second.task.id };
}

// The assembly's S3 and DynamoDB calls fail as TransientError while S3 is down (adapters/
// unavailable.ts), which the workflow's Retry matches: the run waits in `assembling`, never
// `assembly_failed`, and ends by itself once S3 is back.
it('S3 down when the run drains: the assembly retries and ends by itself once S3 is back', async () => {
  await handClaimsOnly();
  const api = client(stack.apiUrl);
  const { runId, cancelled } = await stopDuringOutage();
  expect((await api.run(OPERATOR)).body).toMatchObject({ status: 'assembling' });
  await stack.services.startS3();
  await expectDrained(stack, runId, {}, { runStatus: 'cancelled', cancelled: [cancelled] });
}, 60_000);
