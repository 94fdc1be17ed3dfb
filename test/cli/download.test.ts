// `benchfleet download RUN_ID` reads runs/<id>/results.tar.gz with the operator's own AWS
// credentials (S3 mocked here), unpacks it into results/<id>/ and builds the site; the unpacker
// refuses entries that would land outside that folder.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { downloadAndUnpack, unpackArchive } from '../../cli/lib/archive';
import { tarGzEntries } from '../helpers/tar-gz';
import { argv, fakeOutputs, runCli, type Sandbox, sandbox, stackGone } from './helpers';

// deploy first asks whether a run is at work on the deployment: none is deployed here
const metaStack = mockClient(CloudFormationClient);
beforeEach(() => {
  metaStack.reset();
  metaStack.on(DescribeStacksCommand).rejects(stackGone('Benchfleet'));
});

const s3 = mockClient(S3Client);
let box: Sandbox;

const tarGz = tarGzEntries;

/** The first half of `body`, then the connection drops, as a real download can. */
function brokenOff(body: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(body.subarray(0, Math.floor(body.length / 2)));
      } else this.destroy(new Error('socket hang up'));
    },
  });
}

const manifest = JSON.stringify({
  run_id: 1700000001,
  ruby_version: '3.4.7',
  status: 'complete',
  config: {},
  created_at: '2026-01-01T00:00:00Z',
  finished_at: '2026-01-01T01:00:00Z',
  tasks: [],
});

beforeEach(() => {
  box = sandbox();
  s3.reset();
});
afterEach(() => box.restore());

it('says how to set AWS up when the SDK has no region or no credentials', async () => {
  s3.on(GetObjectCommand).rejects(new Error('Region is missing'));
  const noRegion = await runCli(['download', '1700000001', '--bucket', 'my-results']);
  expect(noRegion.code).toBe(1);
  expect(noRegion.stderr).toContain(
    'no AWS region to reach s3://my-results in: set AWS_REGION (or AWS_PROFILE, for a profile with a region), or run `aws configure`',
  );
  // none found, and found but not loadable (an SSO session that ended: `aws sso login` renews it)
  for (const [sdkSaid, said] of [
    ['Could not load credentials from any providers', 'no AWS credentials were found (looked in AWS_PROFILE'],
    [
      'The SSO session associated with this profile has expired',
      'the AWS credentials could not be loaded (The SSO session associated with this profile has expired). Sign in (`aws sso login`',
    ],
  ]) {
    s3.reset();
    s3.on(GetObjectCommand).rejects(Object.assign(new Error(sdkSaid), { name: 'CredentialsProviderError' }));
    const refused = await runCli(['download', '1700000001', '--bucket', 'my-results']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`cannot read s3://my-results/runs/1700000001/results.tar.gz: ${said}`);
  }
  expect(existsSync(join(box.dir, 'results', '1700000001'))).toBe(false);
});

it('fetches the archive from the results bucket, unpacks it and builds the site', async () => {
  const body = await tarGz([
    { name: 'manifest.json', body: manifest },
    { name: 'c7g.medium-1/', type: 'directory' },
    { name: 'c7g.medium-1/output.txt', body: 'fib 1.0\n' },
  ]);
  s3.on(GetObjectCommand).resolves({ Body: Readable.from([body]) as never });
  const r = await runCli(['download', '1700000001', '--bucket', 'my-results', '--json']);
  expect(r.stderr).not.toContain('could not');
  expect(r.code).toBe(0);
  expect(s3).toHaveReceivedCommandWith(GetObjectCommand, {
    Bucket: 'my-results',
    Key: 'runs/1700000001/results.tar.gz',
  });
  const dir = join(box.dir, 'results', '1700000001');
  expect(JSON.parse(r.stdout)).toMatchObject({ run_id: 1700000001, results_dir: dir, files: 2 });
  expect(readFileSync(join(dir, 'c7g.medium-1', 'output.txt'), 'utf8')).toBe('fib 1.0\n');
  expect(existsSync(join(dir, 'site', 'index.html'))).toBe(true);
});

it('says when the run has no archive', async () => {
  s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no such key', $metadata: {} }));
  const r = await runCli(['download', '1700000002', '--bucket', 'my-results']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('s3://my-results/runs/1700000002/results.tar.gz does not exist');
});

it('needs a deployment or --bucket', async () => {
  const r = await runCli(['download', '1700000003']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('run `benchfleet deploy` first');
  expect(s3.calls()).toHaveLength(0);
});

describe('unpackArchive', () => {
  it.each([
    ['a parent path', [{ name: '../evil.txt', body: 'x' }]],
    ['an absolute path', [{ name: '/tmp/evil.txt', body: 'x' }]],
    ['a symlink', [{ name: 'link', type: 'symlink' as const, linkname: '/etc/passwd' }]],
  ])('refuses %s', async (_what, entries) => {
    const dir = join(box.dir, 'unpack');
    await expect(unpackArchive(Readable.from([await tarGz(entries)]), dir)).rejects.toThrow(/refused/);
    expect(existsSync(join(box.dir, 'evil.txt'))).toBe(false);
  });

  it('refuses a directory entry outside the folder, and makes no folder there', async () => {
    const dir = join(box.dir, 'unpack-dir');
    const entries = [{ name: '../evil-dir/', type: 'directory' as const }];
    await expect(unpackArchive(Readable.from([await tarGz(entries)]), dir)).rejects.toThrow(/refused/);
    expect(existsSync(join(box.dir, 'evil-dir'))).toBe(false);
  });

  it('a stop while an entry is being set up ends it with a CliError, not an uncaught stream error', async () => {
    // the exact window: the entry's stream is open, its file's pipeline not yet listening (a
    // Ctrl-C of `start` there crashed the CLI before it tore the fleets down)
    const body = await tarGz([
      { name: 't-0/output.txt', body: 'x'.repeat(20_000) },
      { name: 't-1/output.txt', body: 'y' },
    ]);
    const stop = new AbortController();
    const fsp = require('node:fs/promises') as typeof import('node:fs/promises'); // not a copy
    const realMkdir = fsp.mkdir;
    const made: string[] = [];
    const spy = jest.spyOn(fsp, 'mkdir').mockImplementation(((path: string, opts: never) => {
      made.push(String(path));
      if (String(path).endsWith('t-0')) stop.abort();
      return realMkdir(path, opts);
    }) as typeof fsp.mkdir);
    const dir = join(box.dir, 'unpack-stopped');
    try {
      await expect(unpackArchive(Readable.from([body]), dir, { signal: stop.signal })).rejects.toThrow(
        `the download into ${dir} was stopped`,
      );
    } finally {
      spy.mockRestore();
    }
    expect(made).toContainEqual(expect.stringMatching(/t-0$/)); // the stop came where meant
    expect(readdirSync(box.dir).filter((f) => f.startsWith('unpack-stopped'))).toEqual([]);
  });

  it('accepts ./-prefixed entries as tar -C dir . makes them', async () => {
    const dir = join(box.dir, 'unpack-ok');
    const res = await unpackArchive(
      Readable.from([
        await tarGz([
          { name: './', type: 'directory' },
          { name: './a/output.txt', body: 'ok' },
        ]),
      ]),
      dir,
    );
    expect(res.files).toBe(1);
    expect(readFileSync(join(dir, 'a', 'output.txt'), 'utf8')).toBe('ok');
  });

  /** A complete earlier copy of the run, as a previous download left it. */
  function previousCopy(dir: string): void {
    mkdirSync(join(dir, 'site'), { recursive: true });
    mkdirSync(join(dir, 'old.type-1'), { recursive: true });
    writeFileSync(join(dir, 'manifest.json'), manifest);
    writeFileSync(join(dir, 'old.type-1', 'output.txt'), 'old\n');
    writeFileSync(join(dir, 'site', 'index.html'), '<html>old</html>');
  }

  it('keeps the previous results when the download breaks off half-way', async () => {
    const dir = join(box.dir, 'results', '1700000001');
    previousCopy(dir);
    const whole = await tarGz([
      { name: 'new.type-1/output.txt', body: 'x'.repeat(200_000) },
      { name: 'manifest.json', body: manifest },
    ]);
    await expect(unpackArchive(brokenOff(whole), dir)).rejects.toThrow(
      `socket hang up; the previous results in ${dir} were kept`,
    );
    expect(readFileSync(join(dir, 'old.type-1', 'output.txt'), 'utf8')).toBe('old\n');
    expect(readFileSync(join(dir, 'site', 'index.html'), 'utf8')).toBe('<html>old</html>');
    expect(existsSync(join(dir, 'manifest.json'))).toBe(true);
    expect(existsSync(join(dir, 'new.type-1'))).toBe(false);
    expect(readdirSync(join(box.dir, 'results'))).toEqual(['1700000001']);
  });

  it('an expired archive link (403) says how to get a fresh one and keeps the previous results', async () => {
    const dir = join(box.dir, 'results', '1700000001');
    previousCopy(dir);
    const server = createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      await expect(downloadAndUnpack(`http://127.0.0.1:${port}/results.tar.gz`, dir)).rejects.toThrow(
        /HTTP 403 from its link\. Links expire after an hour: `benchfleet status --api-key <operator key>` prints a fresh one/,
      );
    } finally {
      server.close();
    }
    expect(readFileSync(join(dir, 'old.type-1', 'output.txt'), 'utf8')).toBe('old\n');
  });

  it('keeps the previous results when the archive is refused', async () => {
    const dir = join(box.dir, 'results', '1700000001');
    previousCopy(dir);
    const bad = await tarGz([
      { name: 'new.type-1/output.txt', body: 'new' },
      { name: '../evil.txt', body: 'x' },
    ]);
    await expect(unpackArchive(Readable.from([bad]), dir)).rejects.toThrow(
      /refused; the previous results in .* were kept/,
    );
    expect(readFileSync(join(dir, 'old.type-1', 'output.txt'), 'utf8')).toBe('old\n');
    expect(readdirSync(join(box.dir, 'results'))).toEqual(['1700000001']);
  });

  it('replaces the previous results only with a complete archive', async () => {
    const dir = join(box.dir, 'results', '1700000001');
    previousCopy(dir); // an older copy of the same run: its files are all in the new one
    const res = await unpackArchive(
      Readable.from([
        await tarGz([
          { name: 'old.type-1/output.txt', body: 'new' },
          { name: 'manifest.json', body: manifest },
        ]),
      ]),
      dir,
    );
    expect(res).toEqual({ dir, files: 2 });
    expect(readdirSync(dir).sort()).toEqual(['manifest.json', 'old.type-1']);
    expect(readFileSync(join(dir, 'old.type-1', 'output.txt'), 'utf8')).toBe('new');
    expect(readdirSync(join(box.dir, 'results'))).toEqual(['1700000001']);
  });
});

it('a download that breaks off keeps the earlier copy and its site', async () => {
  const dir = join(box.dir, 'results', '1700000001');
  mkdirSync(join(dir, 'site'), { recursive: true });
  writeFileSync(join(dir, 'manifest.json'), manifest);
  writeFileSync(join(dir, 'site', 'index.html'), '<html>old</html>');
  const whole = await tarGz([
    { name: 'c7g.medium-1/output.txt', body: 'y'.repeat(200_000) },
    { name: 'manifest.json', body: manifest },
  ]);
  s3.on(GetObjectCommand).resolves({ Body: brokenOff(whole) as never });
  const r = await runCli(['download', '1700000001', '--bucket', 'my-results']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`the previous results in ${dir} were kept`);
  expect(readFileSync(join(dir, 'site', 'index.html'), 'utf8')).toBe('<html>old</html>');
  expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toBe(manifest);
});

it('a second download replaces the first copy of the same run and builds its site again', async () => {
  const dir = join(box.dir, 'results', '1700000001');
  mkdirSync(join(dir, 'site'), { recursive: true });
  mkdirSync(join(dir, 'c7g.medium-1'), { recursive: true });
  writeFileSync(join(dir, 'manifest.json'), manifest);
  writeFileSync(join(dir, 'c7g.medium-1', 'output.txt'), 'fib 9.9\n');
  writeFileSync(join(dir, 'site', 'index.html'), '<html>old</html>');
  writeFileSync(join(dir, 'site', 'data.csv'), 'old');
  const body = await tarGz([
    { name: 'manifest.json', body: manifest },
    { name: 'c7g.medium-1/output.txt', body: 'fib 1.0\n' },
  ]);
  s3.on(GetObjectCommand).resolves({ Body: Readable.from([body]) as never });
  const r = await runCli(['download', '1700000001', '--bucket', 'my-results', '--json']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ results_dir: dir, site_error: null, previous_results: null });
  expect(readFileSync(join(dir, 'c7g.medium-1', 'output.txt'), 'utf8')).toBe('fib 1.0\n');
  expect(readFileSync(join(dir, 'site', 'index.html'), 'utf8')).not.toBe('<html>old</html>');
  // the old copy held nothing the new one lacks (the site is written again): nothing is kept aside
  expect(readdirSync(join(box.dir, 'results'))).toEqual(['1700000001']);
});

it('deploy runs cdk deploy of the meta stack and prints its outputs', async () => {
  process.env.FAKE_CDK_OUTPUTS = JSON.stringify(fakeOutputs('https://api.example.invalid/'));
  const r = await runCli(['deploy']);
  expect(r.code).toBe(0);
  expect(box.calls().map(argv)).toEqual([
    `cdk deploy Benchfleet --require-approval never --outputs-file ${join(box.dir, '.benchfleet', 'outputs.json')}`,
  ]);
  expect(r.stderr).toContain('== deploy the meta stack Benchfleet');
  expect(r.stderr).toContain('  fake cdk: done');
  expect(r.stdout).toContain('API:       https://api.example.invalid/');
});

it('deploy explains a missing AWS login and a missing tool', async () => {
  process.env.FAKE_FAIL = 'cdk deploy';
  process.env.FAKE_FAIL_MESSAGE =
    'Unable to resolve AWS account to use. It must be either configured when you define your CDK Stack, or through the environment';
  const login = await runCli(['deploy']);
  expect(login.code).toBe(1);
  expect(login.stderr).toContain(
    'benchfleet deploy: cdk deploy failed: AWS credentials are missing or expired: sign in',
  );

  process.env.BENCHFLEET_CDK = 'no-such-cdk-anywhere';
  const missing = await runCli(['deploy']);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('no-such-cdk-anywhere was not found (needed for cdk)');
});
