// A fail is never refused for its s3_error_key (a runner written from the spec makes one up, since
// the spec's claim hands out no keys): the failure is recorded, and the error file is the minted
// key's object when it exists, whatever key the runner named.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { TransientError } from '../../../lambdas/core/errors';
import type { Deps } from '../../../lambdas/core/ports';
import { startRun } from '../../../lambdas/core/runs';
import { claimTask, failTask } from '../../../lambdas/core/tasks';
import { storageKeys } from '../../../lambdas/shared/contract';
import { type CoreHarness, startCore } from './core-helpers';

let h: CoreHarness;
beforeEach(async () => {
  h = await startCore();
});
afterEach(() => h.stack.stop());

const SPEC_KEY = 'results/42/error.tar.gz'; // the spec's fail example, as written

/** Starts a run of `n` tasks and claims each, task i by runner `r<i>`. */
async function claimed(n = 1): Promise<{ runId: number; taskIds: number[] }> {
  const { run_id } = await startRun(h.deps, {
    ruby_version: '3.4.7',
    runs_per_instance_type: n,
    local: ['a'],
  });
  const taskIds: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = await claimTask(h.deps, { provider: 'local', instance_type: 'a', runner_id: `r${i}` }, run_id);
    if (c.status !== 'assigned') throw new Error(`expected a task, got ${JSON.stringify(c)}`);
    taskIds.push(c.task.id);
  }
  return { runId: run_id, taskIds };
}

const recorded = async (runId: number, taskId: number) =>
  (await h.allTasks(runId)).find((t) => t.id === taskId);

it('records a fail that names a made-up key, with no error file when none was uploaded', async () => {
  const {
    runId,
    taskIds: [taskId = 0],
  } = await claimed();
  const req = { runner_id: 'r0', error_type: 'benchmark_crash', s3_error_key: SPEC_KEY };
  await expect(failTask(h.deps, taskId, req)).resolves.toEqual({ message: `task ${taskId} failed` });
  expect(await recorded(runId, taskId)).toMatchObject({
    status: 'failed',
    error_type: 'benchmark_crash',
    s3_error_key: null,
  });
});

it('keeps the error file uploaded to the minted key even when the fail names another key', async () => {
  const {
    runId,
    taskIds: [taskId = 0],
  } = await claimed();
  const minted = storageKeys.error(runId, taskId);
  await h.stack.services.s3.send(
    new PutObjectCommand({ Bucket: h.stack.services.bucket, Key: minted, Body: 'logs' }),
  );
  await failTask(h.deps, taskId, { runner_id: 'r0', error_type: 'benchmark_failed', s3_error_key: SPEC_KEY });
  expect(await recorded(runId, taskId)).toMatchObject({ status: 'failed', s3_error_key: minted });
});

it("while S3 does not answer, takes the runner's word for the minted key only", async () => {
  const s3Down: Deps = {
    ...h.deps,
    results: {
      ...h.deps.results,
      exists: () => Promise.reject(new TransientError('S3 does not answer')),
    },
  };
  const {
    runId,
    taskIds: [madeUp = 0, named = 0],
  } = await claimed(2);
  const fail = (taskId: number, runner: string, key: string) =>
    failTask(s3Down, taskId, { runner_id: runner, error_type: 'benchmark_failed', s3_error_key: key });
  await fail(madeUp, 'r0', SPEC_KEY);
  await fail(named, 'r1', storageKeys.error(runId, named));
  expect(await recorded(runId, madeUp)).toMatchObject({ status: 'failed', s3_error_key: null });
  expect(await recorded(runId, named)).toMatchObject({
    status: 'failed',
    s3_error_key: storageKeys.error(runId, named),
  });
});
