// A transfer that goes quiet is given up after the idle timeout (BENCHFLEET_IDLE_TIMEOUT_MS here,
// 60 s by default) with a message that says to retry, and a Ctrl-C or SIGTERM while an archive is
// unpacked removes the half-written results/<id>.partial-<pid>/ before exiting 130 or 143. The S3
// endpoint and the archive link are real HTTP servers that stop sending half-way, or never answer.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { downloadAndUnpack, TransferStalledError, unpackArchive } from '../../cli/lib/archive';
import { ROOT } from '../helpers/cli';
import { CliProcess, type Exit } from '../helpers/cli-process';

const RUN = '1700000001';
let dir: string;
let results: string;
const servers: Server[] = [];
const clis: CliProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-stall-'));
  results = join(dir, 'results');
});
afterEach(() => {
  for (const c of clis.splice(0)) c.kill();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A results.tar.gz of 20 folders, stored (not compressed) so half of it unpacks to about half. */
async function archive(): Promise<Buffer> {
  const p = pack();
  for (let i = 0; i < 20; i++) p.entry({ name: `local-a-${i}/output.txt` }, `${'x'.repeat(4000)}${i}`);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return gzipSync(Buffer.concat(chunks), { level: 0 });
}

/** `half`: headers and the first half of the body, then nothing. `silent`: never answers. */
async function stallingServer(mode: 'half' | 'silent'): Promise<string> {
  const body = await archive();
  const server = createServer((_req, res) => {
    if (mode === 'silent') return;
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length });
    res.write(body.subarray(0, Math.floor(body.length / 2)));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function download(endpoint: string, env: Record<string, string> = {}): CliProcess {
  const cli = new CliProcess(['download', RUN, '--bucket', 'my-results', '--results-dir', results], {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'x',
    AWS_SECRET_ACCESS_KEY: 'y',
    ...env,
  });
  clis.push(cli);
  return cli;
}

/** The exit, or a failure naming what it printed if it is still running after `ms`. */
async function exitWithin(cli: CliProcess, ms: number): Promise<Exit> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((r) => {
    timer = setTimeout(() => r('late'), ms);
  });
  const outcome = await Promise.race([cli.exited, late]);
  clearTimeout(timer);
  if (outcome === 'late') throw new Error(`still running after ${ms / 1000} s; stderr:\n${cli.stderr}`);
  return outcome;
}

const leftovers = (): string[] => (existsSync(results) ? readdirSync(results) : []);

it('download gives up on a transfer that stops half-way, says to retry, and leaves no partial folder', async () => {
  const cli = download(await stallingServer('half'), { BENCHFLEET_IDLE_TIMEOUT_MS: '1000' });
  const exit = await exitWithin(cli, 30_000);
  expect(exit.code).toBe(1);
  expect(cli.stderr).toMatch(
    /benchfleet download: the download stalled: no data arrived for 1 s \([\d.]+ KB received\), so it was given up; nothing was written to .*; retry with `benchfleet download 1700000001`\n$/,
  );
  expect(leftovers()).toEqual([]);
}, 40_000);

it('download gives up on an S3 endpoint that never answers, and says to retry', async () => {
  const cli = download(await stallingServer('silent'), { BENCHFLEET_IDLE_TIMEOUT_MS: '700' });
  const exit = await exitWithin(cli, 30_000);
  expect(exit.code).toBe(1);
  expect(cli.stderr).toMatch(
    /^benchfleet download: s3:\/\/my-results\/runs\/1700000001\/results\.tar\.gz did not answer within 0\.7 s \(\d tries\), so the download was given up; check the network and retry with `benchfleet download 1700000001`\n$/,
  );
  expect(leftovers()).toEqual([]);
}, 40_000);

it.each([
  ['SIGINT', 130, 'Interrupted'],
  ['SIGTERM', 143, 'Terminated'],
] as const)(
  '%s while unpacking removes the half-written copy and exits %i',
  async (signal, code, what) => {
    // a complete earlier copy: it must survive the interrupted re-download
    const previous = join(results, RUN);
    mkdirSync(previous, { recursive: true });
    writeFileSync(join(previous, 'manifest.json'), '{"old":true}');
    const cli = download(await stallingServer('half'));
    const partial = join(results, `${RUN}.partial-${cli.pid}`);
    for (const deadline = Date.now() + 30_000; !existsSync(join(partial, 'local-a-0')); ) {
      if (Date.now() > deadline || cli.child.exitCode !== null)
        throw new Error(`the unpacking never started; stderr:\n${cli.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    cli.signal(signal);
    const exit = await exitWithin(cli, 10_000);
    expect(exit).toEqual({ code, signal: null });
    expect(cli.stderr).toContain(
      `${what}: unpacking stopped and its half-written copy removed; the previous results in ${previous} were kept`,
    );
    expect(leftovers()).toEqual([RUN]);
    expect(readFileSync(join(previous, 'manifest.json'), 'utf8')).toBe('{"old":true}');
  },
  45_000,
);

it("a signal that the command answers itself (local's quit, then process.exit) still removes the copy", async () => {
  const half = await archive();
  const halfFile = join(dir, 'half.tar.gz');
  writeFileSync(halfFile, half.subarray(0, Math.floor(half.length / 2)));
  const target = join(results, RUN);
  // like LocalSignals: its own SIGTERM listener, which quits a little later with process.exit
  const script = `
    require('tsx/cjs');
    const { PassThrough } = require('node:stream');
    const { unpackArchive } = require(${JSON.stringify(join(ROOT, 'cli', 'lib', 'archive.ts'))});
    setInterval(() => undefined, 1000); // as local's servers do, keeps the process up
    process.on('SIGTERM', () => {
      process.stderr.write('owner: quitting\\n');
      setTimeout(() => process.exit(143), 200);
    });
    const source = new PassThrough();
    source.write(require('node:fs').readFileSync(${JSON.stringify(halfFile)}));
    unpackArchive(source, ${JSON.stringify(target)}).catch((e) => process.stderr.write(e.message));
  `;
  const child = spawn(process.execPath, ['-e', script], {
    cwd: ROOT,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') },
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  try {
    const partial = join(results, `${RUN}.partial-${child.pid}`);
    for (const deadline = Date.now() + 30_000; !existsSync(join(partial, 'local-a-0')); ) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`never unpacked; stderr:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
  } finally {
    child.kill('SIGKILL');
  }
  expect(stderr).toBe('owner: quitting\n');
  expect(leftovers()).toEqual([]);
}, 40_000);

describe('downloadAndUnpack (the archive link that start and local fetch)', () => {
  it('gives up on a body that stops half-way within the idle timeout', async () => {
    const url = await stallingServer('half');
    const target = join(results, RUN);
    const started = Date.now();
    const err = await downloadAndUnpack(`${url}/results.tar.gz`, target, { idleMs: 500 }).catch((e) => e);
    expect(err).toBeInstanceOf(TransferStalledError);
    expect(err.message).toMatch(
      /^the download stalled: no data arrived for 0\.5 s \([\d.]+ KB received\), so it was given up; nothing was written to /,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(leftovers()).toEqual([]);
  }, 10_000);

  it('keeps a slow but steady body: the idle timeout counts from the last data, not the start', async () => {
    const body = await archive();
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length });
      // ten pieces 150 ms apart: 1.5 s in all, three times the idle timeout, never 0.5 s quiet
      const piece = Math.ceil(body.length / 10);
      let sent = 0;
      const next = (): void => {
        res.write(body.subarray(sent, sent + piece));
        sent += piece;
        if (sent >= body.length) res.end();
        else setTimeout(next, 150);
      };
      next();
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const target = join(results, RUN);
    const started = Date.now();
    await downloadAndUnpack(`${url}/results.tar.gz`, target, { idleMs: 500 });
    expect(Date.now() - started).toBeGreaterThan(1_000);
    expect(readdirSync(target).filter((n) => n.startsWith('local-a-'))).toHaveLength(20);
  }, 10_000);

  it('gives up on a link that never answers', async () => {
    const url = await stallingServer('silent');
    const err = await downloadAndUnpack(`${url}/results.tar.gz`, join(results, RUN), { idleMs: 500 }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(TransferStalledError);
    expect(err.message).toMatch(
      /^the archive link did not answer within 0\.5 s, so the download was given up; nothing was written to /,
    );
  }, 10_000);
});

it('unpacking removes the partial folders of processes that are gone, not those of live ones', async () => {
  const gone = spawn(process.execPath, ['-e', '']);
  const deadPid = await new Promise<number>((r) => gone.on('exit', () => r(gone.pid as number)));
  const dead = join(results, `${RUN}.partial-${deadPid}`);
  const live = join(results, `${RUN}.partial-${process.ppid}`);
  const other = join(results, `1700000002.partial-${deadPid}`);
  for (const d of [dead, live, other]) mkdirSync(join(d, 'half'), { recursive: true });
  const res = await unpackArchive(Readable.from([await archive()]), join(results, RUN));
  expect(res.files).toBe(20);
  expect(leftovers().sort()).toEqual([
    RUN,
    `${RUN}.partial-${process.ppid}`,
    `1700000002.partial-${deadPid}`,
  ]);
});
