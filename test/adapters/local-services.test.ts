// startLocalServices without a data dir keeps s3rver's objects in a temp dir of its own: stop()
// removes it, so tests and benchmarks that start many stacks leave nothing behind in /tmp.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalServices } from '../../lambdas/adapters/local/services';
import { startLocalStack } from '../../lambdas/adapters/local/stack';

/** The S3 directory the stand-ins were started with (their argv[2] is their JSON config). */
function s3DirOf(pid: number | undefined): string {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const config = JSON.parse(argv.find((a) => a.startsWith('{')) ?? '{}') as { s3?: { directory?: string } };
  if (!config.s3?.directory) throw new Error(`no s3 directory in ${argv.join(' ')}`);
  return config.s3.directory;
}

it('removes the temp S3 dir it made when stopped', async () => {
  const services = await startLocalServices();
  const dir = s3DirOf(services.standInsPid);
  expect(dir).toMatch(/benchfleet-s3-/);
  await services.s3.send(new PutObjectCommand({ Bucket: services.bucket, Key: 'k', Body: 'v' }));
  expect(existsSync(dir)).toBe(true);
  await services.stop();
  expect(existsSync(dir)).toBe(false);
}, 60_000);

it('leaves a data dir it was given in place', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bf-services-'));
  try {
    const services = await startLocalServices({ dataDir });
    expect(s3DirOf(services.standInsPid)).toBe(join(dataDir, 's3'));
    await services.stop();
    expect(readdirSync(dataDir).sort()).toEqual(['dynamodb', 's3']);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);

it('refuses to start on a data dir whose DynamoDB another server holds, and says so', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bf-services-'));
  const first = await startLocalServices({ dataDir });
  try {
    await expect(startLocalServices({ dataDir })).rejects.toThrow(
      /cannot start the local DynamoDB\/S3 stand-ins: the local DynamoDB data in .* cannot be opened .*another benchfleet local/,
    );
  } finally {
    await first.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);

it('stops its stand-ins when the stack cannot start: the data dir is free for the next try', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bf-services-'));
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as AddressInfo).port;
  try {
    await expect(startLocalStack({ dataDir, port })).rejects.toThrow(/EADDRINUSE/);
    // the stand-ins of the failed start are gone: their DynamoDB lock no longer holds the data dir
    const stack = await startLocalStack({ dataDir });
    await stack.stop();
  } finally {
    busy.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
