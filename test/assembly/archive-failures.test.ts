// The archive builder against a real s3rver when what the store gives it cannot be taken as it is:
// a result stream that breaks mid-read (a TransientError, and no archive left behind), and a
// retried task's error.tar.gz left by an earlier attempt (left out, and the manifest says why).
import { Readable } from 'node:stream';
import { buildArchive } from '../../lambdas/core/assembly/builder';
import { TransientError } from '../../lambdas/core/errors';
import type { ResultStore } from '../../lambdas/core/ports';
import { Manifest, storageKeys } from '../../lambdas/shared/contract';
import {
  completeRun,
  makeTarball,
  putBytes,
  readArchiveAt,
  startS3,
  type TestS3,
  taskRecord,
} from './helpers';

const NOW = new Date('2026-11-24T02:00:00.000Z');

let s3: TestS3;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.close();
});

describe('failures of the store', () => {
  it('turns a result stream that breaks mid-read into a TransientError and leaves no archive', async () => {
    const key = 'runs/1/tasks/1/result.tar.gz';
    await putBytes(s3, key, await makeTarball([{ name: 'output.txt', data: 'z'.repeat(100_000) }]));
    const flaky: ResultStore = {
      ...s3.store,
      presignGet: (k, e) => s3.store.presignGet(k, e),
      presignPut: (k, e) => s3.store.presignPut(k, e),
      exists: (k) => s3.store.exists(k),
      getText: (k) => s3.store.getText(k),
      putText: (k, t, c) => s3.store.putText(k, t, c),
      putStream: (k, b, c) => s3.store.putStream(k, b, c),
      getStream: async () => {
        const bytes = await makeTarball([{ name: 'output.txt', data: 'z'.repeat(100_000) }]);
        return new Readable({
          read() {
            this.push(bytes.subarray(0, 100));
            this.destroy(new Error('socket hang up'));
          },
        });
      },
    };
    const tasks = (async function* () {
      yield { ...taskRecord(1, 0, { s3_result_key: key }) };
    })();
    await expect(
      buildArchive(flaky, completeRun(1), tasks, { archiveKey: 'runs/1/results.tar.gz', now: NOW }),
    ).rejects.toBeInstanceOf(TransientError);
    expect(await s3.store.exists('runs/1/results.tar.gz')).toBe(false);
  });
});

describe('a retried task', () => {
  it("leaves out an earlier attempt's error.tar.gz when the last attempt uploaded none", async () => {
    // error keys are per task: attempt 1 (docker_error) uploaded its logs; attempt 2 failed with
    // upload_failed and uploaded nothing, so the object is still attempt 1's
    const runId = 3;
    const stale = taskRecord(runId, 0, {
      status: 'failed',
      attempt: 2,
      runner_id: 'runner-2',
      error_type: 'upload_failed',
      s3_result_key: null,
      s3_error_key: storageKeys.error(runId, runId * 100_000 + 1),
    });
    const own = taskRecord(runId, 1, {
      status: 'failed',
      attempt: 2,
      runner_id: 'runner-3',
      error_type: 'benchmark_failed',
      s3_result_key: null,
      s3_error_key: storageKeys.error(runId, runId * 100_000 + 2),
    });
    const meta = (runner_id: string, attempt: number) => JSON.stringify({ runner_id, attempt });
    await putBytes(
      s3,
      storageKeys.error(runId, runId * 100_000 + 1),
      await makeTarball([
        { name: 'logs/docker.log', data: 'attempt 1: pull failed\n' },
        { name: 'meta.json', data: meta('runner-1', 1) },
      ]),
    );
    await putBytes(
      s3,
      storageKeys.error(runId, runId * 100_000 + 2),
      await makeTarball([
        { name: 'logs/stderr.log', data: 'attempt 2: exit 1\n' },
        { name: 'meta.json', data: meta('runner-3', 2) },
      ]),
    );
    const archiveKey = storageKeys.archive(runId);
    await buildArchive(
      s3.store,
      completeRun(runId),
      (async function* () {
        yield stale;
        yield own;
      })(),
      { archiveKey, now: NOW },
    );
    const got = await readArchiveAt(s3, archiveKey);
    const manifest = Manifest.parse(JSON.parse(got.find((e) => e.name === 'manifest.json')!.data.toString()));
    expect(manifest.tasks[0]).toMatchObject({ files: [], error_type: 'upload_failed' });
    expect(manifest.tasks[0]?.assembly_error).toMatch(
      /^error\.tar\.gz comes from attempt 1 of runner runner-1, not from the last attempt \(attempt 2 of runner runner-2\)/,
    );
    // the last attempt's own error files are kept as before
    expect(manifest.tasks[1]).toMatchObject({ assembly_error: null });
    expect(got.map((e) => e.name).sort()).toEqual([
      `${manifest.tasks[1]?.instance_type}-${manifest.tasks[1]?.run}/error/logs/stderr.log`,
      `${manifest.tasks[1]?.instance_type}-${manifest.tasks[1]?.run}/error/meta.json`,
      'manifest.json',
    ]);
  });
});
