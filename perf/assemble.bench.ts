// `npm run perf -- assemble`: builds results.tar.gz from 200 and from 2,000 synthetic results of
// about 256 KB each (gzipped tarballs) in a local s3rver, and a plain streamed copy of the same
// objects through the same s3rver into one multipart upload as the reference. Each measurement
// runs in a fresh child process so its peak RSS is its own (s3rver stays in this process).
// JSON lines:
//   {"bench":"assemble","results":N,"seconds":...,"mb_per_s":...,"peak_rss_mb":...}
//   {"bench":"assemble-copy","results":N,...}   the reference
//   {"bench":"assemble-summary",...}            the two targets: RSS ratio and throughput ratio
// cpu_seconds is the child's CPU, s3rver_cpu_seconds this process's (s3rver) during the measurement,
// gc_full_count the child's full (mark-compact) GCs. On a busy 2-core box the wall-time ratio follows
// the CPU ratio, so the summary also gives cpu_vs_copy: copy's CPU (both processes) over assembly's.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants as perf } from 'node:perf_hooks';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { pack } from 'tar-stream';
import { S3ResultStore, s3ClientConfig } from '../lambdas/adapters/s3-result-store';
import { buildArchive } from '../lambdas/core/assembly/builder';
import { useArchiveHeapPolicy } from '../lambdas/core/assembly/heap';
import { type ListedTask, readListing } from '../lambdas/core/assembly/listing';
import { storageKeys, taskIdOf } from '../lambdas/shared/contract';

const BUCKET = 'bench';
const RUN_ID = 1_700_000_000;
const SIZES = [200, 2000];
const MB = 1024 * 1024;

interface Measure {
  seconds: number;
  cpu_seconds: number;
  s3rver_cpu_seconds: number;
  gc_full_count: number;
  bytes: number;
  peak_rss_mb: number;
}

function client(endpoint: string): S3Client {
  return new S3Client(
    s3ClientConfig({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    }),
  );
}

/** A result.tar.gz of about 256 KB: ruby-bench-like text whose timings are random digits. */
async function syntheticResult(i: number): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((resolve) => p.on('end', () => resolve()));
  const lines: string[] = [];
  const noise = randomBytes(225 * 1024).toString('base64');
  for (let k = 0, o = 0; o < noise.length; k += 1, o += 60) {
    lines.push(`bench_${k % 97}  ${noise.slice(o, o + 60)}  ms`);
  }
  const text = lines.join('\n');
  p.entry({ name: './', type: 'directory' });
  p.entry({ name: './output.txt' }, text);
  p.entry({ name: './output.csv' }, text.slice(0, 20_000).replace(/ {2}/g, ','));
  p.entry({ name: './meta.json' }, JSON.stringify({ task_id: i, runner_id: 'bench' }));
  p.entry({ name: './logs/run.log' }, `run ${i}\n`.repeat(500));
  p.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks));
}

async function seed(s3: S3Client, count: number): Promise<number> {
  let bytes = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next;
      next += 1;
      if (i >= count) return;
      const body = await syntheticResult(i);
      bytes += body.length;
      await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: storageKeys.result(RUN_ID, taskIdOf(RUN_ID, i)),
          Body: body,
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return bytes;
}

function listed(i: number): ListedTask {
  return {
    id: taskIdOf(RUN_ID, i),
    index: i,
    provider: 'local',
    instance_type: `type-${i % 50}`,
    run: Math.floor(i / 50) + 1,
    status: 'completed',
    attempt: 1,
    runner_id: 'bench',
    claimed_at: null,
    finished_at: null,
    error_type: null,
    error_message: null,
    s3_result_key: storageKeys.result(RUN_ID, taskIdOf(RUN_ID, i)),
    s3_error_key: null,
  };
}

/** In the child: one measurement, printed as one JSON line on stdout. */
async function child(mode: string, endpoint: string, count: number): Promise<void> {
  const s3 = client(endpoint);
  const store = new S3ResultStore(s3, BUCKET);
  let fullGcs = 0;
  const gcs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const { detail } = e as { detail?: { kind?: number } };
      if (detail?.kind === perf.NODE_PERFORMANCE_GC_MAJOR) fullGcs += 1;
    }
  });
  gcs.observe({ entryTypes: ['gc'] });
  // As the BuildArchive Lambda does; the copy keeps Node's defaults (it is the plain reference).
  if (mode === 'assemble') useArchiveHeapPolicy();
  const started = process.hrtime.bigint();
  if (mode === 'assemble') {
    // The listing goes through S3 as in the workflow.
    const key = storageKeys.assemblyScratch(RUN_ID, `bench-${count}.jsonl`);
    const text = Array.from({ length: count }, (_, i) => JSON.stringify(listed(i))).join('\n');
    await store.putText(key, text, 'application/x-ndjson');
    await buildArchive(
      store,
      {
        run_id: RUN_ID,
        ruby_version: '3.4.7',
        status: 'complete',
        config: {},
        created_at: '',
        finished_at: null,
      },
      readListing(store, key),
      { archiveKey: `bench/archive-${count}.tar.gz`, now: new Date() },
    );
  } else {
    async function* concatenated(): AsyncGenerator<Buffer> {
      for (let i = 0; i < count; i += 1) {
        const body = await store.getStream(storageKeys.result(RUN_ID, taskIdOf(RUN_ID, i)));
        if (!body) throw new Error(`result ${i} missing`);
        for await (const chunk of body) yield chunk as Buffer;
      }
    }
    const body = new PassThrough();
    Readable.from(concatenated()).pipe(body);
    await store.putStream(`bench/copy-${count}.bin`, body, 'application/octet-stream');
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  s3.destroy();
  gcs.disconnect();
  const usage = process.resourceUsage();
  // CPU seconds of this process: less at the mercy of other load on the machine than wall time.
  const out = {
    seconds,
    peak_rss_mb: usage.maxRSS / 1024,
    cpu_seconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    gc_full_count: fullGcs,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function measure(mode: string, endpoint: string, count: number): Promise<Omit<Measure, 'bytes'>> {
  // This process's CPU while the child runs is s3rver's (the child is a separate process).
  const cpuBefore = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [require.resolve('tsx/cli'), __filename, 'child', mode, endpoint, String(count)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: {
          ...process.env,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          POWERTOOLS_LOG_LEVEL: 'SILENT',
        },
      },
    );
    let out = '';
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${mode} ${count} exited with ${code}`));
      const last = out.trim().split('\n').at(-1) ?? '';
      const s3rver = process.cpuUsage(cpuBefore);
      const m = JSON.parse(last) as Omit<Measure, 'bytes' | 's3rver_cpu_seconds'>;
      resolve({ ...m, s3rver_cpu_seconds: (s3rver.user + s3rver.system) / 1e6 });
    });
  });
}

export async function run(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const S3rver = require('s3rver') as new (
    o: Record<string, unknown>,
  ) => {
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  };
  const dir = mkdtempSync(join(tmpdir(), 'bench-assemble-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const s3 = client(endpoint);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const max = Math.max(...SIZES);
    const total = await seed(s3, max);
    const perResult = total / max;
    const results: Record<string, Measure> = {};
    for (const count of SIZES) {
      const bytes = perResult * count;
      for (const mode of ['copy', 'assemble']) {
        const m = { ...(await measure(mode, endpoint, count)), bytes };
        results[`${mode}-${count}`] = m;
        const bench = mode === 'assemble' ? 'assemble' : 'assemble-copy';
        console.log(
          JSON.stringify({
            bench,
            results: count,
            seconds: round(m.seconds),
            mb_per_s: round(bytes / MB / m.seconds),
            peak_rss_mb: round(m.peak_rss_mb),
            cpu_seconds: round(m.cpu_seconds),
            s3rver_cpu_seconds: round(m.s3rver_cpu_seconds),
            gc_full_count: m.gc_full_count,
            input_mb: round(bytes / MB),
          }),
        );
      }
    }
    const a200 = results['assemble-200'];
    const a2000 = results['assemble-2000'];
    const c2000 = results['copy-2000'];
    if (a200 && a2000 && c2000) {
      const rssRatio = a2000.peak_rss_mb / a200.peak_rss_mb;
      const speedRatio = a2000.bytes / a2000.seconds / (c2000.bytes / c2000.seconds);
      const cpu = (m: Measure): number => m.cpu_seconds + m.s3rver_cpu_seconds;
      console.log(
        JSON.stringify({
          bench: 'assemble-summary',
          result_kb: round(perResult / 1024),
          rss_2000_over_200: round(rssRatio),
          rss_target_met: rssRatio <= 1.2,
          throughput_vs_copy: round(speedRatio),
          throughput_target_met: speedRatio >= 0.5,
          cpu_vs_copy: round(cpu(c2000) / cpu(a2000)),
          load_average: round(loadavg()[0] ?? 0),
        }),
      );
    }
  } finally {
    s3.destroy();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (n: number): number => Math.round(n * 100) / 100;

if (require.main === module && process.argv[2] === 'child') {
  const [, , , mode = '', endpoint = '', count = '0'] = process.argv;
  child(mode, endpoint, Number(count)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
