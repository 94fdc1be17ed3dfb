// The archive builder against a real s3rver: a 12-task run with every kind of good and bad
// tarball, read back from S3 entry by entry, and built again to the same bytes. A store that fails
// and a retried task's stale objects: archive-failures.test.ts.
import { buildArchive } from '../../lambdas/core/assembly/builder';
import { DEFAULT_LIMITS } from '../../lambdas/core/assembly/entries';
import { readListing, writeListing } from '../../lambdas/core/assembly/listing';
import type { TaskRecord } from '../../lambdas/core/ports';
import { Manifest, storageKeys } from '../../lambdas/shared/contract';
import {
  type ArchiveEntry,
  completeRun,
  makeTarball,
  makeTarballWithTar,
  putBytes,
  readArchive,
  readArchiveAt,
  startS3,
  type TestS3,
  taskRecord,
} from './helpers';

const RUN_ID = 1_763_940_000;
const NOW = new Date('2026-11-24T02:00:00.000Z');
const RUN = completeRun(RUN_ID);
const LIMITS = { ...DEFAULT_LIMITS, maxLogFileBytes: 1000 };

let s3: TestS3;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await s3.close();
});

/** Writes each task's tarball (if any) and returns the 12 task records in index order. */
async function seedRun(): Promise<TaskRecord[]> {
  const result = (i: number): string => storageKeys.result(RUN_ID, RUN_ID * 100_000 + i + 1);
  const error = (i: number): string => storageKeys.error(RUN_ID, RUN_ID * 100_000 + i + 1);
  const t = (i: number, instance_type: string, run: number, f: Partial<TaskRecord> = {}): TaskRecord =>
    taskRecord(RUN_ID, i, {
      instance_type,
      run,
      s3_result_key: f.status === 'completed' || !f.status ? result(i) : null,
      ...f,
    });
  const tasks = [
    t(0, 'c7g.large', 1),
    t(1, 'c7g.large', 2, { attempt: 2 }),
    t(2, 'c7g.large', 3),
    t(3, 'm7i.large', 1),
    t(4, 'm7i.large', 2, {
      status: 'failed',
      error_type: 'benchmark_failed',
      error_message: 'exit 1',
      s3_error_key: error(4),
    }),
    t(5, 'm7i.large', 3, {
      status: 'failed',
      error_type: 'heartbeat_timeout',
      error_message: 'no heartbeat for 120 s',
    }),
    t(6, 'Standard_D2s_v5', 1, { provider: 'azure' }),
    t(7, 'Standard_D2s_v5', 2, { provider: 'azure' }),
    t(8, 'Standard_D2s_v5', 3, { provider: 'azure' }),
    t(9, 'local-1', 1, { provider: 'local' }),
    t(10, 'local-1', 2, { provider: 'local', status: 'cancelled', error_type: 'cancelled', runner_id: null }),
    t(11, 'local-1', 3, { provider: 'local' }),
  ];
  const good = await makeTarball([
    { name: 'output.txt', data: 'fib 1.0\n' },
    { name: 'output.json', data: '{"fib":1}' },
    { name: 'output.csv', data: 'bench,time\nfib,1\n' },
    { name: 'meta.json', data: '{"runner_id":"runner-a"}' },
    { name: 'logs/', type: 'directory' },
    { name: 'logs/bench.log', data: 'running fib\n' },
    { name: 'notes.txt', data: 'not an expected name' },
  ]);
  await putBytes(s3, result(0), good);
  await putBytes(
    s3,
    result(1),
    // a reaped first attempt's late upload replaced the second attempt's result
    makeTarballWithTar({
      'output.txt': 'tar made\n',
      'meta.json': '{"runner_id":"runner-old","attempt":1}',
      'logs/run.log': 'log\n',
    }),
  );
  await putBytes(s3, result(2), Buffer.from('this is not gzip at all'));
  await putBytes(
    s3,
    result(3),
    await makeTarball([
      { name: '../evil.txt', data: 'EVIL-CONTENT' },
      { name: '/etc/evil.txt', data: 'EVIL-CONTENT' },
      { name: 'logs/../../evil2.txt', data: 'EVIL-CONTENT' },
      { name: 'output.txt', data: 'fine\n' },
      { name: 'output.csv', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'meta.json', type: 'link', linkname: 'output.txt' },
    ]),
  );
  await putBytes(
    s3,
    error(4),
    await makeTarball([
      { name: 'logs/stderr.log', data: 'boom\n' },
      { name: 'meta.json', data: '{"exit_code":1}' },
      { name: 'output.txt', data: 'partial output is not kept from an error tarball' },
    ]),
  );
  // 6: no object at all
  await putBytes(s3, result(7), Buffer.alloc(0));
  await putBytes(
    s3,
    result(8),
    await makeTarball([
      { name: './output_003.txt', data: 'raw name\n' },
      { name: './output_003.json', data: '{}' },
      { name: './output_003.csv', data: 'a\n' },
    ]),
  );
  await putBytes(
    s3,
    result(9),
    await makeTarball([
      { name: 'output.txt', data: 'ok\n' },
      { name: 'logs/huge.log', data: `${'x'.repeat(4000)}${'y'.repeat(990)}the error\n` },
      { name: 'dev-null', type: 'character-device' },
    ]),
  );
  const whole = await makeTarball([{ name: 'output.txt', data: 'y'.repeat(50_000) }]);
  await putBytes(s3, result(11), whole.subarray(0, Math.floor(whole.length / 2)));
  return tasks;
}

async function* pages(tasks: TaskRecord[], size: number): AsyncGenerator<TaskRecord[]> {
  for (let i = 0; i < tasks.length; i += size) yield tasks.slice(i, i + size);
}

describe('the archive builder', () => {
  let entries: ArchiveEntry[];
  let manifest: Manifest;
  let records: TaskRecord[];
  const byName = (name: string): string | undefined =>
    entries.find((e) => e.name === name)?.data.toString('utf8');

  beforeAll(async () => {
    const tasks = await seedRun();
    records = tasks;
    const listingKey = storageKeys.assemblyScratch(RUN_ID, 'tasks.jsonl');
    expect(await writeListing(s3.store, listingKey, pages(tasks, 5))).toBe(12);
    const progress: number[] = [];
    const summary = await buildArchive(s3.store, RUN, readListing(s3.store, listingKey), {
      archiveKey: storageKeys.archive(RUN_ID),
      now: NOW,
      limits: LIMITS,
      progressEvery: 5,
      onProgress: (p) => progress.push(p.tasks),
    });
    expect(progress).toEqual([5, 10, 12]);
    expect(summary).toMatchObject({
      tasks: 12,
      assembly_errors: 7,
      archive_key: storageKeys.archive(RUN_ID),
    });
    entries = await readArchiveAt(s3, storageKeys.archive(RUN_ID));
    manifest = Manifest.parse(JSON.parse(byName('manifest.json') ?? 'null'));
    expect(summary.files).toBe(entries.length - 1);
  });

  it('holds exactly the expected entries, regular files only, with no ./ prefix and no run-id folder', () => {
    expect(entries.map((e) => e.name).sort()).toEqual(
      [
        'manifest.json',
        'c7g.large-1/output.txt',
        'c7g.large-1/output.json',
        'c7g.large-1/output.csv',
        'c7g.large-1/meta.json',
        'c7g.large-1/logs/bench.log',
        'c7g.large-2/output.txt',
        'c7g.large-2/meta.json',
        'c7g.large-2/logs/run.log',
        'm7i.large-1/output.txt',
        'm7i.large-2/error/logs/stderr.log',
        'm7i.large-2/error/meta.json',
        'Standard_D2s_v5-3/output.txt',
        'Standard_D2s_v5-3/output.json',
        'Standard_D2s_v5-3/output.csv',
        'local-1-1/output.txt',
        'local-1-1/logs/huge.log',
      ].sort(),
    );
    expect(entries.every((e) => e.type === 'file')).toBe(true);
    expect(byName('c7g.large-2/output.txt')).toBe('tar made\n');
    expect(byName('Standard_D2s_v5-3/output.txt')).toBe('raw name\n');
    expect(byName('m7i.large-1/output.txt')).toBe('fine\n');
  });

  it('never lets an entry escape its task folder', () => {
    const folders = new Set(manifest.tasks.map((t) => `${t.instance_type}-${t.run}`));
    for (const { name } of entries) {
      expect(name.startsWith('/')).toBe(false);
      expect(name.split('/')).not.toContain('..');
      expect(name.split('/')).not.toContain('.');
      if (name !== 'manifest.json') expect(folders.has(name.split('/')[0] ?? '')).toBe(true);
    }
    expect(entries.some((e) => e.data.toString().includes('EVIL-CONTENT'))).toBe(false);
  });

  it('writes a manifest describing every task, its files and what went wrong', () => {
    expect(manifest).toMatchObject({
      run_id: RUN_ID,
      ruby_version: '3.4.7',
      status: 'complete',
      finished_at: RUN.finished_at,
    });
    expect(manifest.tasks.map((t) => t.id)).toEqual(
      Array.from({ length: 12 }, (_, i) => RUN_ID * 100_000 + i + 1),
    );
    const task = (i: number): Manifest['tasks'][number] => manifest.tasks[i]!;
    // Every record field the manifest carries is the store's, for every task (a cancelled one too).
    const fields = ['id', 'provider', 'instance_type', 'run', 'status', 'attempt', 'runner_id'] as const;
    const more = ['claimed_at', 'finished_at', 'error_type', 'error_message'] as const;
    const recorded = (t: TaskRecord | Manifest['tasks'][number]) => [...fields, ...more].map((f) => t[f]);
    expect(manifest.tasks.map(recorded)).toEqual(records.map(recorded));
    expect(task(0)).toMatchObject({ status: 'completed', runner_id: 'runner-a', assembly_error: null });
    expect(task(0).files).toHaveLength(5);
    expect(task(1).files).toHaveLength(3);
    expect(task(1).assembly_error).toMatch(
      /^result\.tar\.gz comes from attempt 1 of runner runner-old, not from attempt 2 of runner runner-a/,
    );
    expect(task(2)).toMatchObject({ files: [], assembly_error: expect.stringMatching(/^corrupt tarball/) });
    expect(task(3).files).toEqual(['m7i.large-1/output.txt']);
    expect(task(3).assembly_error).toMatch(/skipped 5 entries/);
    expect(task(3).assembly_error).toMatch(/path escapes its folder: \.\.\/evil\.txt/);
    expect(task(3).assembly_error).toMatch(/absolute path/);
    expect(task(3).assembly_error).toMatch(/symlink refused/);
    expect(task(4)).toMatchObject({
      status: 'failed',
      error_type: 'benchmark_failed',
      error_message: 'exit 1',
      files: ['m7i.large-2/error/logs/stderr.log', 'm7i.large-2/error/meta.json'],
      assembly_error: null,
    });
    expect(task(5)).toMatchObject({
      status: 'failed',
      error_type: 'heartbeat_timeout',
      files: [],
      assembly_error: null,
    });
    expect(task(6)).toMatchObject({ provider: 'azure', files: [], assembly_error: 'result tarball missing' });
    expect(task(7)).toMatchObject({ files: [], assembly_error: 'empty or truncated tarball' });
    expect(task(8).assembly_error).toBeNull();
    // a log over its cap keeps its tail, where the error is, and says what was cut
    expect(task(9).files).toEqual(['local-1-1/output.txt', 'local-1-1/logs/huge.log']);
    expect(task(9).assembly_error).toMatch(
      /logs\/huge\.log cut to its last 1000 bytes: it is 5000 bytes, over the cap per log/,
    );
    expect(byName('local-1-1/logs/huge.log')).toBe(
      `[benchfleet: the first 4000 bytes of this log were left out; it was over the 1000-byte cap per log]\n${'y'.repeat(990)}the error\n`,
    );
    expect(task(9).assembly_error).toMatch(/character-device refused/);
    const cancelled = { status: 'cancelled', error_type: 'cancelled', files: [], assembly_error: null };
    expect(task(10)).toMatchObject(cancelled);
    expect(task(11)).toMatchObject({ files: [], assembly_error: 'empty or truncated tarball' });
    // Every file the manifest names is in the archive, and the reverse.
    const listed = manifest.tasks.flatMap((t) => t.files).sort();
    expect(listed).toEqual(
      entries
        .map((e) => e.name)
        .filter((n) => n !== 'manifest.json')
        .sort(),
    );
  });
});

describe('a re-assembly', () => {
  it('dates entries by the records, not the clock, so building the run again gives the same bytes', async () => {
    const tasks = await seedRun();
    const listingKey = storageKeys.assemblyScratch(RUN_ID, 'again.jsonl');
    await writeListing(s3.store, listingKey, pages(tasks, 5));
    const build = async (key: string, now: Date): Promise<Buffer> => {
      await buildArchive(s3.store, RUN, readListing(s3.store, listingKey), {
        archiveKey: key,
        now,
        limits: LIMITS,
      });
      const chunks: Buffer[] = [];
      for await (const c of (await s3.store.getStream(key)) ?? []) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    };
    const first = await build('runs/again/1.tar.gz', NOW);
    const second = await build('runs/again/2.tar.gz', new Date(NOW.getTime() + 3_600_000));
    expect(second.equals(first)).toBe(true);
    const dated = await readArchive(first);
    const mtime = (name: string): string | undefined =>
      dated.find((e) => e.name === name)?.mtime?.toISOString();
    expect(mtime('c7g.large-1/output.txt')).toBe(tasks[0]?.finished_at);
    expect(mtime('manifest.json')).toBe(RUN.finished_at);
  });
});
