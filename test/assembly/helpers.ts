// Test helpers of the assembly suite: a real s3rver on loopback, tarball makers (tar-stream and
// the real `tar` binary) and an archive reader that returns every entry as it is in the tar.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip, gzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { extract, pack } from 'tar-stream';
import { S3ResultStore, s3ClientConfig } from '../../lambdas/adapters/s3-result-store';
import type { ArchiveRun } from '../../lambdas/core/assembly/builder';
import type { TaskRecord } from '../../lambdas/core/ports';
import { taskIdOf } from '../../lambdas/shared/contract';

export const BUCKET = 'assembly-test';

export interface TestS3 {
  client: S3Client;
  store: S3ResultStore;
  endpoint: string;
  dir: string;
  close(): Promise<void>;
}

export async function startS3(): Promise<TestS3> {
  const S3rver = require('s3rver') as new (
    o: Record<string, unknown>,
  ) => {
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  };
  const dir = mkdtempSync(join(tmpdir(), 'assembly-s3-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: dir,
    configureBuckets: [{ name: BUCKET }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client(
    s3ClientConfig({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    }),
  );
  return {
    client,
    store: new S3ResultStore(client, BUCKET, 5 * 1024 * 1024),
    endpoint,
    dir,
    async close() {
      client.destroy();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface FakeEntry {
  name: string;
  data?: string | Buffer;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  linkname?: string;
  /** header size that disagrees with the data (tar-stream pads/cuts; used for oversize claims) */
  size?: number;
}

/** A gzipped tar with exactly these entries (names untouched: `../x`, `/etc/x` and all). */
export async function makeTarball(entries: FakeEntry[]): Promise<Buffer> {
  const p = pack();
  const out: Buffer[] = [];
  p.on('data', (c: unknown) => {
    out.push(c as Buffer);
  });
  const ended = new Promise<void>((resolve, reject) => {
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const data = e.data === undefined ? undefined : Buffer.from(e.data);
    await new Promise<void>((resolve, reject) => {
      const header = { name: e.name, type, linkname: e.linkname, mode: type === 'directory' ? 0o755 : 0o644 };
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (type === 'file') p.entry({ ...header, size: data?.length ?? 0 }, data ?? Buffer.alloc(0), cb);
      else p.entry(header, cb);
    });
  }
  p.finalize();
  await ended;
  return gzipSync(Buffer.concat(out));
}

/** What `tar -czf x.tar.gz -C dir .` makes of these files: entries `./`, `./output.txt`, `./logs/`... */
export function makeTarballWithTar(files: Record<string, string>): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'assembly-tar-'));
  try {
    const src = join(dir, 'src');
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(src, name)), { recursive: true });
      writeFileSync(join(src, name), text);
    }
    execFileSync('tar', ['-czf', join(dir, 'x.tar.gz'), '-C', src, '.']);
    return readFileSync(join(dir, 'x.tar.gz'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ArchiveEntry {
  name: string;
  type: string;
  data: Buffer;
  mtime: Date | undefined;
}

/** Every entry of a tar.gz stream, in order. */
export async function readArchive(source: Readable | Buffer): Promise<ArchiveEntry[]> {
  const input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
  const ex = extract();
  input.pipe(createGunzip()).pipe(ex);
  const entries: ArchiveEntry[] = [];
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    entries.push({
      name: entry.header.name,
      type: entry.header.type ?? 'file',
      data: Buffer.concat(chunks),
      mtime: entry.header.mtime,
    });
  }
  return entries;
}

/** Every entry of the tar.gz the test store holds at `key`; fails when it holds none. */
export async function readArchiveAt(s3: TestS3, key: string): Promise<ArchiveEntry[]> {
  const stream = await s3.store.getStream(key);
  if (!stream) throw new Error(`${key} missing`);
  return readArchive(stream);
}

export async function putBytes(s3: TestS3, key: string, data: Buffer): Promise<void> {
  await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data }));
}

/** A task record as the store keeps it, finished, with the given fields. */
export function taskRecord(runId: number, index: number, fields: Partial<TaskRecord>): TaskRecord {
  return {
    run_id: runId,
    index,
    id: taskIdOf(runId, index),
    provider: 'aws',
    instance_type: 'c7g.large',
    run: 1,
    status: 'completed',
    attempt: 1,
    max_attempts: 1,
    gen: 0,
    runner_id: 'runner-a',
    claimed_at: '2026-11-24T01:00:00.000Z',
    heartbeat_at: null,
    heartbeat_status: null,
    heartbeat_message: null,
    current_benchmark: null,
    progress_pct: null,
    finished_at: '2026-11-24T01:10:00.000Z',
    error_type: null,
    error_message: null,
    s3_result_key: null,
    s3_error_key: null,
    requeued_at: null,
    requeued_by: null,
    refunds: 0,
    debug_mode: false,
    active: false,
    ...fields,
  };
}

/** A complete run (three runs per instance type) as the archive builder gets it. */
export function completeRun(runId: number): ArchiveRun {
  return {
    run_id: runId,
    ruby_version: '3.4.7',
    status: 'complete',
    config: { ruby_version: '3.4.7', runs_per_instance_type: 3 },
    created_at: '2026-11-24T00:00:00.000Z',
    finished_at: '2026-11-24T01:30:00.000Z',
  };
}
