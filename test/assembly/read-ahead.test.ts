// The archive builder reads tarballs ahead of the one it appends (BuildOptions.prefetch): reads that
// finish out of order must still be appended in listing order, no more than `prefetch` may be in
// flight (memory), and a failed read ahead must fail the step exactly as a failed read in turn does.
import type { Readable } from 'node:stream';
import { buildArchive } from '../../lambdas/core/assembly/builder';
import { TransientError } from '../../lambdas/core/errors';
import type { ResultStore, TaskRecord } from '../../lambdas/core/ports';
import { Manifest, storageKeys } from '../../lambdas/shared/contract';
import {
  type ArchiveEntry,
  makeTarball,
  putBytes,
  readArchive,
  startS3,
  type TestS3,
  taskRecord,
} from './helpers';

const RUN_ID = 1_763_950_000;
const NOW = new Date('2026-11-24T03:00:00.000Z');
const RUN = {
  run_id: RUN_ID,
  ruby_version: '3.4.7',
  status: 'complete' as const,
  config: {},
  created_at: '2026-11-24T00:00:00.000Z',
  finished_at: '2026-11-24T02:30:00.000Z',
};
const COUNT = 12;
const MISSING = 5; // no object in the store: an assembly_error, not a failure

let s3: TestS3;
let tasks: TaskRecord[];
beforeAll(async () => {
  s3 = await startS3();
  tasks = [];
  for (let i = 0; i < COUNT; i += 1) {
    const key = storageKeys.result(RUN_ID, RUN_ID * 100_000 + i + 1);
    tasks.push(taskRecord(RUN_ID, i, { instance_type: `t${i % 3}`, run: i + 1, s3_result_key: key }));
    if (i === MISSING) continue;
    await putBytes(
      s3,
      key,
      await makeTarball([
        { name: 'output.txt', data: `task ${i}\n`.repeat(2000) },
        { name: 'meta.json', data: JSON.stringify({ task: i }) },
      ]),
    );
  }
});
afterAll(async () => {
  await s3.close();
});

/** The test store with another getStream; `{ ...store }` would drop the class's methods. */
function withGetStream(store: ResultStore, getStream: ResultStore['getStream']): ResultStore {
  return {
    presignPut: (k, e) => store.presignPut(k, e),
    presignGet: (k, e) => store.presignGet(k, e),
    exists: (k) => store.exists(k),
    putStream: (k, b, c) => store.putStream(k, b, c),
    putText: (k, t, c) => store.putText(k, t, c),
    getText: (k) => store.getText(k),
    getStream,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function* listing(): AsyncGenerator<TaskRecord> {
  yield* tasks;
}

async function build(store: ResultStore, archiveKey: string, prefetch: number): Promise<ArchiveEntry[]> {
  await buildArchive(store, RUN, listing(), { archiveKey, now: NOW, prefetch });
  const stream = await s3.store.getStream(archiveKey);
  if (!stream) throw new Error(`${archiveKey} missing`);
  return readArchive(stream);
}

describe('reading ahead', () => {
  it('appends in listing order however the reads finish, with at most `prefetch` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const order: string[] = [];
    // Each read answers sooner than the one before it, so a window of reads finishes back to front.
    const slow = withGetStream(s3.store, async (key) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      const index = tasks.findIndex((t) => t.s3_result_key === key);
      await sleep((COUNT - index) * 15);
      let stream: Readable | undefined;
      try {
        stream = await s3.store.getStream(key);
      } finally {
        if (!stream) inFlight -= 1;
      }
      order.push(key);
      // In flight until the builder has read it to its end and let go of it.
      stream?.once('close', () => {
        inFlight -= 1;
      });
      return stream;
    });

    const ahead = await build(slow, 'runs/ahead/results.tar.gz', 3);
    const oneByOne = await build(s3.store, 'runs/sequential/results.tar.gz', 1);

    expect(most).toBe(3);
    expect(order).not.toEqual(tasks.map((t) => t.s3_result_key)); // the reads did finish out of order
    expect(ahead.map((e) => [e.name, e.data.toString('utf8')])).toEqual(
      oneByOne.map((e) => [e.name, e.data.toString('utf8')]),
    );
    const folders = ahead.filter((e) => e.name.endsWith('/output.txt')).map((e) => e.name.split('/')[0]);
    expect(folders).toEqual(
      tasks.filter((t) => t.index !== MISSING).map((t) => `t${t.index % 3}-${t.index + 1}`),
    );
    const manifest = Manifest.parse(JSON.parse(ahead.at(-1)?.data.toString('utf8') ?? 'null'));
    expect(manifest.tasks.map((t) => t.id)).toEqual(tasks.map((t) => t.id));
    expect(manifest.tasks[MISSING]).toMatchObject({ files: [], assembly_error: 'result tarball missing' });
  });

  it('fails the step with a TransientError when a read ahead fails, and leaves no archive', async () => {
    const failing = tasks[2]?.s3_result_key ?? '';
    // The failing read answers first, while the reads before it are still in flight.
    const flaky = withGetStream(s3.store, async (key) => {
      if (key === failing)
        throw Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' });
      await sleep(50);
      return s3.store.getStream(key);
    });
    const archiveKey = 'runs/flaky/results.tar.gz';
    const built = buildArchive(flaky, RUN, listing(), { archiveKey, now: NOW, prefetch: 4 });
    await expect(built).rejects.toBeInstanceOf(TransientError);
    await expect(built).rejects.toThrow(`reading ${failing} failed: Please reduce your request rate.`);
    expect(await s3.store.exists(archiveKey)).toBe(false);
  });
});
