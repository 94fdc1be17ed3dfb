// A PUT has a stall limit, not a total timeout: one that keeps moving runs as long as it takes (a
// total 120 s capped result tarballs near 2 GiB and failed slow links), one whose server stops
// reading, or never answers, fails once nothing has moved for the limit. The limit is shortened
// here by putFile's option; real servers read slowly or stop.
import { truncateSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { putFile } from '../../runner/put-file';
import { testRunner, waitFor } from './helpers';

const MiB = 1024 * 1024;
const STALL_MS = 1500;

function sparseFile(size: number): string {
  const file = join(testRunner('http://unused').workDir, 'result.tar.gz');
  writeFileSync(file, 'start');
  truncateSync(file, size); // sparse: no disk used
  return file;
}

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  run: (url: string) => Promise<void>,
): Promise<void> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/result`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

/** Reads at `bytesPerS`, answering 200 at the end; `pause.at` bytes in, it stops for `pause.ms`. */
function slowReader(
  bytesPerS: number,
  seen: { bytes: number },
  pause?: { at: number; ms: number },
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const t0 = Date.now();
    let paused = 0;
    req.on('data', (c: Buffer) => {
      seen.bytes += c.length;
      if (pause && !paused && seen.bytes >= pause.at) paused = pause.ms;
      const ahead = (seen.bytes / bytesPerS) * 1000 + paused - (Date.now() - t0);
      if (ahead > 0) {
        req.pause();
        setTimeout(() => req.resume(), ahead).unref();
      }
    });
    req.on('end', () => res.writeHead(200).end());
  };
}

/** putFile with the shortened limit; the signal is only the test's own backstop. */
async function put(
  url: string,
  file: string,
  size: number,
): Promise<{ status?: number; error?: Error; ms: number }> {
  const t0 = Date.now();
  try {
    const { status } = await putFile(url, file, size, 'application/gzip', AbortSignal.timeout(30_000), {
      stallMs: STALL_MS,
    });
    return { status, ms: Date.now() - t0 };
  } catch (err) {
    return { error: err as Error, ms: Date.now() - t0 };
  }
}

it.each([
  ['stops reading a few MiB in', 'stops', 64],
  ['reads it all but never answers', 'silent', 1],
])(
  'fails a PUT whose server %s once nothing moved for the stall limit, and drops it',
  async (_, kind, mib) => {
    const size = mib * MiB;
    const file = sparseFile(size);
    const seen = { bytes: 0, closed: false };
    let reader: IncomingMessage | undefined;
    await serve(
      (req) => {
        req.socket.on('close', () => {
          seen.closed = true;
        });
        req.on('data', (c: Buffer) => {
          seen.bytes += c.length;
          if (kind === 'stops' && !reader && seen.bytes >= 4 * MiB) {
            reader = req; // paused until the PUT has failed
            req.pause();
          }
        });
      },
      async (url) => {
        const out = await put(url, file, size);
        expect(out.status).toBeUndefined();
        expect(out.error?.name).toBe('PutStalledError');
        expect(out.error?.message).toMatch(
          new RegExp(
            `^the PUT to 127\\.0\\.0\\.1:\\d+ stalled: nothing sent and no answer for 1\\.5 s, after \\d+ of ${size} bytes$`,
          ),
        );
        expect(out.ms).toBeGreaterThanOrEqual(STALL_MS);
        expect(out.ms).toBeLessThan(STALL_MS + 5000);
        // reading again, the server finds the connection closed, short of the file
        reader?.resume();
        await waitFor(() => seen.closed, 5000, 'the connection to close');
      },
    );
    expect(seen.closed).toBe(true);
    if (kind === 'silent') expect(seen.bytes).toBe(size);
    else expect(seen.bytes).toBeLessThan(size);
  },
);

it('lets a slowly read PUT run for several stall limits, and fails it only when it stops moving', async () => {
  const size = 256 * MiB;
  const file = sparseFile(size);
  // ~6 s at 40 MiB/s, four stall limits: the socket buffers it keeps filling drain well within one
  const seen = { bytes: 0 };
  await serve(slowReader(40 * MiB, seen), async (url) => {
    const out = await put(url, file, size);
    expect(out.error).toBeUndefined();
    expect(out.status).toBe(200);
    expect(out.ms).toBeGreaterThan(4 * STALL_MS);
  });
  expect(seen.bytes).toBe(size);
  // the same slow server, pausing halfway for longer than the limit: nothing moves, and it fails
  const paused = { bytes: 0 };
  await serve(slowReader(40 * MiB, paused, { at: size / 2, ms: 2 * STALL_MS + 2000 }), async (url) => {
    const out = await put(url, file, size);
    expect(out.error?.name).toBe('PutStalledError');
  });
  expect(paused.bytes).toBeLessThan(size);
}, 60_000);
