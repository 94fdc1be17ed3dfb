// A 10,000-task run through the local workflow: ListTasks and BuildArchive are the real listing
// and archive code over s3rver (behind the real taskStep chain); every state's payload is
// measured by LocalAssembly and must stay far below Step Functions' 256 KB limit.
import { LocalAssembly } from '../../lambdas/adapters/local/local-assembly';
import { buildArchive } from '../../lambdas/core/assembly/builder';
import { readListing, writeListing } from '../../lambdas/core/assembly/listing';
import type { TaskRecord } from '../../lambdas/core/ports';
import { MAX_TASKS_PER_RUN, Manifest, storageKeys } from '../../lambdas/shared/contract';
import { localContext, taskStep } from '../../lambdas/shared/task';
import {
  BuildArchiveInput,
  FinalizeInput,
  ListTasksInput,
  MarkFailedInput,
} from '../../lambdas/shared/workflow';
import { makeTarball, putBytes, readArchive, startS3, type TestS3, taskRecord } from './helpers';

const RUN_ID = 1_763_950_000;
const STATE_LIMIT = 256 * 1024;

let s3: TestS3;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.close();
});

/** 10,000 tasks: one in 500 completed (all sharing one small result object), the rest failed without a tarball. */
async function* taskPages(resultKey: string): AsyncGenerator<TaskRecord[]> {
  for (let start = 0; start < MAX_TASKS_PER_RUN; start += 500) {
    yield Array.from({ length: 500 }, (_, k) => {
      const i = start + k;
      return i % 500 === 0
        ? taskRecord(RUN_ID, i, {
            instance_type: `t${i % 100}`,
            run: Math.floor(i / 100) + 1,
            s3_result_key: resultKey,
          })
        : taskRecord(RUN_ID, i, {
            instance_type: `t${i % 100}`,
            run: Math.floor(i / 100) + 1,
            status: 'failed',
            error_type: 'no_runner',
            error_message: 'no runner claimed any task of this instance type within 30 minutes',
          });
    });
  }
}

it('keeps every state payload of a 10,000-task assembly far below 256 KB', async () => {
  const resultKey = `runs/${RUN_ID}/shared-result.tar.gz`;
  await putBytes(s3, resultKey, await makeTarball([{ name: './output.txt', data: 'ok\n' }]));
  const ctx = (name: string) => localContext(name, 900);
  const list = taskStep(ListTasksInput, async (input) => {
    const key = storageKeys.assemblyScratch(input.run_id, 'tasks.jsonl');
    return {
      run_id: input.run_id,
      listing_key: key,
      task_count: await writeListing(s3.store, key, taskPages(resultKey)),
    };
  });
  const build = taskStep(BuildArchiveInput, async (input) => {
    const run = {
      run_id: input.run_id,
      ruby_version: '3.4.7',
      status: 'complete' as const,
      config: {},
      created_at: '',
      finished_at: null,
    };
    const archiveKey = storageKeys.archive(input.run_id);
    const s = await buildArchive(s3.store, run, readListing(s3.store, input.listing_key), {
      archiveKey,
      now: new Date(),
    });
    return {
      run_id: input.run_id,
      archive_key: archiveKey,
      task_count: s.tasks,
      files: s.files,
      bytes: s.bytes,
      assembly_errors: s.assembly_errors,
    };
  });
  const finalize = taskStep(FinalizeInput, async (input) => ({ run_id: input.run_id, status: 'complete' }));
  const markFailed = taskStep(MarkFailedInput, async (input) => ({
    run_id: input.run_id,
    status: 'assembly_failed',
  }));
  const local = new LocalAssembly({
    ListTasks: (i) => list(i, ctx('ListTasks')),
    BuildArchive: (i) => build(i, ctx('BuildArchive')),
    Finalize: (i) => finalize(i, ctx('Finalize')),
    MarkFailed: (i) => markFailed(i, ctx('MarkFailed')),
  });

  await local.start(RUN_ID, String(RUN_ID));
  await local.idle();

  const exec = local.execution(String(RUN_ID));
  expect(exec).toMatchObject({ status: 'succeeded', output: { run_id: RUN_ID, status: 'complete' } });
  expect(exec?.max_payload_bytes).toBeGreaterThan(0);
  expect(exec?.max_payload_bytes).toBeLessThan(1024); // keys and counts only
  expect(exec?.max_payload_bytes).toBeLessThan(STATE_LIMIT);
  // The listing itself would never have fitted in a state.
  const listing = await s3.store.getText(storageKeys.assemblyScratch(RUN_ID, 'tasks.jsonl'));
  expect(Buffer.byteLength(listing ?? '')).toBeGreaterThan(STATE_LIMIT);

  const stream = await s3.store.getStream(storageKeys.archive(RUN_ID));
  const entries = await readArchive(stream!);
  const manifest = Manifest.parse(
    JSON.parse(entries.find((e) => e.name === 'manifest.json')!.data.toString()),
  );
  expect(manifest.tasks).toHaveLength(MAX_TASKS_PER_RUN);
  expect(entries).toHaveLength(1 + MAX_TASKS_PER_RUN / 500);
});
