// A large tarball is streamed from its file with its length (S3 takes no chunked PUT), never read
// whole: reading it cost its size in memory several times over and failed past 2 GiB.
import { createHash } from 'node:crypto';
import { createReadStream, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { PresignedUrls } from '../../lambdas/shared/contract';
import type { ApiClient } from '../../runner/api-client';
import { createLogger } from '../../runner/log';
import { putFile } from '../../runner/put-file';
import { uploadTarball } from '../../runner/upload';
import { testRunner } from './helpers';

const sha = async (s: AsyncIterable<Buffer>): Promise<string> => {
  const h = createHash('sha256');
  for await (const c of s) h.update(c);
  return h.digest('hex');
};

it('streams a large tarball with its content-length, holding little of it in memory', async () => {
  const size = 256 * 1024 * 1024;
  const file = join(testRunner('http://unused').workDir, 'result.tar.gz');
  writeFileSync(file, 'start');
  truncateSync(file, size); // sparse: no disk used
  let got: { headers: IncomingHttpHeaders; bytes: number; sha: string } | undefined;
  const server = createServer((req, res) => {
    let bytes = 0;
    const counted = (async function* () {
      for await (const c of req) {
        bytes += (c as Buffer).length;
        yield c as Buffer;
      }
    })();
    void sha(counted).then((h) => {
      got = { headers: req.headers, bytes, sha: h };
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const urls: PresignedUrls = {
      result: `${base}/result`,
      error: `${base}/error`,
      result_upload_url: `${base}/result`,
      error_upload_url: `${base}/error`,
      result_key: 'runs/1/tasks/1/result.tar.gz',
      error_key: 'runs/1/tasks/1/error.tar.gz',
      expires_in_seconds: 3600,
    };
    const before = process.memoryUsage().arrayBuffers;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    }, 5);
    const out = await uploadTarball(
      {
        api: {} as ApiClient,
        taskId: 1,
        runnerId: 'r-0',
        attempt: 1,
        claimUrls: urls,
        claimUrlsUntil: Date.now() + 3600_000,
        log: createLogger({ json: true, write: () => undefined }),
      },
      'result',
      file,
      { attempts: 1, budgetS: 0, urlBudgetS: 1 },
    ).finally(() => clearInterval(sampler));
    expect(out).toEqual({ ok: true, key: urls.result_key });
    expect(got?.headers['content-length']).toBe(String(size));
    expect(got?.headers['transfer-encoding']).toBeUndefined();
    expect(got?.bytes).toBe(size);
    expect(got?.sha).toBe(await sha(createReadStream(file)));
    // half the file: chunks not yet collected may add up, a whole copy may not
    expect(peak - before).toBeLessThan(size / 2);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}, 60_000);

describe('putFile', () => {
  const size = 64 * 1024 * 1024;
  let file: string;
  beforeEach(() => {
    file = join(testRunner('http://unused').workDir, 'result.tar.gz');
    writeFileSync(file, 'start');
    truncateSync(file, size);
  });

  async function serve(handler: Parameters<typeof createServer>[1], run: (base: string) => Promise<void>) {
    const server = createServer(handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }

  it('stops sending the file once S3 refuses it, so a retry never races the refused PUT', async () => {
    let closedAfter: number | undefined;
    await serve(
      (req, res) => {
        // refuses at once and keeps the connection, reading on, as a server may
        res.writeHead(403);
        res.end('<Error>AccessDenied</Error>');
        let bytes = 0;
        req.on('data', (c: Buffer) => {
          bytes += c.length;
        });
        req.socket.on('close', () => {
          closedAfter = bytes;
        });
      },
      async (base) => {
        expect(
          await putFile(`${base}/r`, file, size, 'application/gzip', AbortSignal.timeout(10_000)),
        ).toEqual({ status: 403 });
        await new Promise((r) => setTimeout(r, 300));
      },
    );
    // the connection was dropped well before the 64 MiB were sent
    expect(closedAfter).toBeDefined();
    expect(closedAfter).toBeLessThan(size);
  });

  it('follows a 307 from S3 once, sending the whole file again there', async () => {
    const got: Record<string, number> = {};
    await serve(
      (req, res) => {
        let bytes = 0;
        req.on('data', (c: Buffer) => {
          bytes += c.length;
        });
        req.on('end', () => {
          got[req.url ?? ''] = bytes;
          if (req.url === '/moved') res.writeHead(307, { location: '/here' }).end();
          else res.writeHead(200).end();
        });
      },
      async (base) => {
        expect(
          (await putFile(`${base}/moved`, file, size, 'application/gzip', AbortSignal.timeout(20_000)))
            .status,
        ).toBe(200);
      },
    );
    expect(got['/here']).toBe(size);
  });
});
