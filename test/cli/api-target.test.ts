// Which API the CLI talks to and with which key: the deployment's operator key (Secrets Manager)
// goes only to the deployment's own API; any other API needs --api-key, asked for before anything
// is sent. Also the hints that follow `stop` and `watch`, and polls that survive a 429 or 408.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { ApiClient, NO_RUN_YET } from '../../cli/lib/api';
import { MAX_FAILED_POLLS, watchRun } from '../../cli/lib/progress';
import { fakeOutputs, runCli, type Sandbox, sandbox } from './helpers';

const SECRET = 'CLOUD-OPERATOR-SECRET';
const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:operator';
const RUN_ID = 1700000700;
const sm = mockClient(SecretsManagerClient);

interface Seen {
  method: string;
  path: string;
  auth: string;
}
type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** A stand-in run API on 127.0.0.1 that logs every request; `handle` answers them. */
class FakeApi {
  seen: Seen[] = [];
  handle: Handler = (_req, res) => json(res, 200, view('complete'));
  url = '';
  private server?: Server;
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        auth: String(req.headers.authorization ?? ''),
      });
      this.handle(req, res, this.seen.length);
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  stop(): Promise<void> {
    return new Promise((r) => this.server?.close(() => r()));
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function view(status: string): Record<string, unknown> {
  const done = status !== 'running';
  return {
    run_id: RUN_ID,
    status,
    ruby_version: '3.4.7',
    runs_per_instance_type: 1,
    max_attempts: 1,
    created_at: '2026-01-01T00:00:00Z',
    completed_at: done ? '2026-01-01T00:01:00Z' : null,
    finished_at: done ? '2026-01-01T00:01:00Z' : null,
    tasks: {
      total: 1,
      pending: done ? 0 : 1,
      claimed: 0,
      running: 0,
      completed: done ? 1 : 0,
      failed: 0,
      cancelled: 0,
    },
    instance_types: [],
    gzip_url: null,
    assembly_error: null,
  };
}

/** POST /run/stop that accepts only `Bearer <key>`, as the real API does. */
function stopAccepting(key: string): Handler {
  return (req, res) => {
    if (req.headers.authorization !== `Bearer ${key}`) {
      return json(res, 401, { error: 'unauthorized', message: 'the API key is wrong' });
    }
    json(res, 200, { message: `run ${RUN_ID} is stopping`, run_id: RUN_ID });
  };
}

function writeOutputs(dir: string, apiUrl: string): void {
  mkdirSync(join(dir, '.benchfleet'), { recursive: true });
  writeFileSync(join(dir, '.benchfleet', 'outputs.json'), JSON.stringify(fakeOutputs(apiUrl, ARN)));
}

const CLOUD = 'https://cloud-api.example.invalid';
let api: FakeApi;
let box: Sandbox;

beforeEach(async () => {
  api = new FakeApi();
  await api.start();
  box = sandbox();
  delete process.env.BENCHFLEET_API_KEY;
  delete process.env.BENCHFLEET_API_URL;
  sm.reset();
  sm.on(GetSecretValueCommand).resolves({ SecretString: SECRET });
});
afterEach(async () => {
  box.restore();
  await api.stop();
});

describe('the operator key goes only where it belongs', () => {
  it('stop --api-url <another API> asks for --api-key and sends nothing', async () => {
    writeOutputs(box.dir, CLOUD);
    const r = await runCli(['stop', '--api-url', api.url]);
    expect(r.code).toBe(1);
    expect(api.seen).toEqual([]);
    expect(sm.calls()).toHaveLength(0);
    expect(r.stderr).toContain(
      `the API at ${api.url} (from --api-url) is not this folder's deployment (${CLOUD})`,
    );
    expect(r.stderr).toContain("pass that API's key with --api-key KEY or set BENCHFLEET_API_KEY");
    expect(r.stderr).toContain("drop --api-url to use the deployment's API");
  });

  it('a BENCHFLEET_API_URL left over from another API gets the same refusal, naming the variable', async () => {
    writeOutputs(box.dir, CLOUD);
    process.env.BENCHFLEET_API_URL = `${api.url}/`;
    const r = await runCli(['stop']);
    expect(r.code).toBe(1);
    expect(api.seen).toEqual([]);
    expect(sm.calls()).toHaveLength(0);
    expect(r.stderr).toContain(`the API at ${api.url} (from BENCHFLEET_API_URL)`);
    expect(r.stderr).toContain("unset BENCHFLEET_API_URL to use the deployment's API");
  });

  it("without a deployment, stop --api-url asks for that API's key by URL", async () => {
    const r = await runCli(['stop', '--api-url', api.url]);
    expect(r.code).toBe(1);
    expect(api.seen).toEqual([]);
    expect(r.stderr).toContain(`the API at ${api.url} (from --api-url) needs its operator key`);
    expect(r.stderr).toContain('--api-key KEY');
  });

  it.each([
    ['outputs with a trailing slash', (u: string) => `${u}/`, (u: string) => u],
    ['--api-url with trailing slashes', (u: string) => u, (u: string) => `${u}//`],
  ])("the deployment's own API gets its Secrets Manager key (%s)", async (_name, inOutputs, inFlag) => {
    writeOutputs(box.dir, inOutputs(api.url));
    api.handle = stopAccepting(SECRET);
    const r = await runCli(['stop', '--api-url', inFlag(api.url)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(api.seen).toEqual([{ method: 'POST', path: '/run/stop', auth: `Bearer ${SECRET}` }]);
    expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: ARN });
    expect(r.stdout).toContain(`follow it with \`benchfleet watch --api-url ${api.url}\``);
    expect(r.stdout).toContain(`Get the results with \`benchfleet download ${RUN_ID}\``);
  });

  it('another API with --api-key gets that key, and stop points watch and the results at it', async () => {
    writeOutputs(box.dir, CLOUD);
    api.handle = stopAccepting('local-key');
    const r = await runCli(['stop', '--api-url', api.url, '--api-key', 'local-key']);
    expect(r.code).toBe(0);
    expect(sm.calls()).toHaveLength(0);
    expect(api.seen.map((s) => s.auth)).toEqual(['Bearer local-key']);
    expect(r.stdout).toContain(`follow it with \`benchfleet watch --api-url ${api.url}\``);
    expect(r.stdout).not.toContain(`benchfleet download ${RUN_ID}`);
    expect(r.stdout).toContain(`\`benchfleet status --api-url ${api.url} --api-key <operator key>\``);
  });

  it('stop without --api-url suggests a plain `benchfleet watch`', async () => {
    process.env.BENCHFLEET_API_URL = api.url;
    process.env.BENCHFLEET_API_KEY = 'env-key';
    api.handle = stopAccepting('env-key');
    const r = await runCli(['stop']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('follow it with `benchfleet watch`.');
  });
});

it('refuses an API URL that is not an http(s) URL before sending anything, naming where it came from', async () => {
  for (const bad of ['notaurl', 'ftp://example.com', 'http://']) {
    const r = await runCli(['status', '--api-url', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`--api-url gives ${JSON.stringify(bad)}, which is not an http(s) URL`);
    expect(r.stderr).not.toContain('cannot reach');
  }
  process.env.BENCHFLEET_API_URL = 'api.example.com/prod';
  try {
    const env = await runCli(['watch']);
    expect(env.stderr).toContain(
      'BENCHFLEET_API_URL gives "api.example.com/prod", which is not an http(s) URL',
    );
  } finally {
    delete process.env.BENCHFLEET_API_URL;
  }
});

describe('an API that does not answer', () => {
  /** A port nothing listens on: one the system just handed out, closed again. */
  async function closedPort(): Promise<number> {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const { port } = s.address() as AddressInfo;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  it('on this machine: says why (the refused connection) and points at `benchfleet local`', async () => {
    const port = await closedPort();
    const local = await runCli(['status', '--api-url', `http://127.0.0.1:${port}`]);
    expect(local.code).toBe(1);
    expect(local.stderr).toContain(
      `cannot reach the API at http://127.0.0.1:${port} (connection refused: ECONNREFUSED 127.0.0.1:${port}); check the URL or that \`benchfleet local\` is still serving it`,
    );
    expect(local.stderr).not.toContain('fetch failed');
    expect(local.stderr).not.toContain('meta stack');
  });

  it('elsewhere: points at the meta stack; a port fetch blocks is named as such', async () => {
    // refused at once, without a DNS look-up or a connection; not a name `local` serves on
    const remote = await runCli(['status', '--api-url', 'http://0.0.0.0:1']);
    expect(remote.code).toBe(1);
    expect(remote.stderr).toContain(
      'cannot reach the API at http://0.0.0.0:1 (bad port: fetch will not connect to port 1, pick another); check the URL or that the meta stack is deployed',
    );
  });

  it('https to a server that speaks http: a TLS error, with its code', async () => {
    const url = api.url.replace('http:', 'https:');
    const r = await runCli(['status', '--api-url', url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach the API at ${url} (TLS error: ERR_SSL_`);
    expect(r.stderr).not.toContain('fetch failed');
  });
});

describe('a 404 from GET /run', () => {
  const NO_RUN = { error: 'not_found', message: 'no run has been started yet: POST /run/start creates one' };
  const WHERE = 'use ApiUrl from .benchfleet/outputs.json or the URL `benchfleet local` printed';

  it.each(['status', 'watch'])("%s: the API's own no-run answer means no run yet", async (command) => {
    api.handle = (_req, res) => json(res, 404, NO_RUN);
    const r = await runCli([command, '--api-url', api.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no run has been started on this API yet: start one with');
  });

  it.each([
    [
      'a Benchfleet API at another path',
      { error: 'not_found', message: 'no route GET /prod/run' },
      'no route GET /prod/run',
    ],
    ["API Gateway's own", { message: 'Not Found' }, 'Not Found'],
  ])('status and watch: %s is not taken for "no run"', async (_name, body, said) => {
    api.handle = (_req, res) => json(res, 404, body);
    for (const command of ['status', 'watch']) {
      const r = await runCli([command, '--api-url', api.url]);
      expect(r.code).toBe(1);
      expect(r.stderr).not.toContain('no run has been started');
      expect(r.stderr).toContain(
        `benchfleet ${command}: GET ${api.url}/run answered 404 (${said}): this is not a Benchfleet API URL (from --api-url); ${WHERE}`,
      );
    }
  });

  it("a page that is not JSON (another web server's), named as the wrong URL too", async () => {
    api.handle = (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html>\n  <h1>404 Not Found</h1>\n</html>');
    };
    process.env.BENCHFLEET_API_URL = api.url;
    const r = await runCli(['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `GET ${api.url}/run answered 404 (<html> <h1>404 Not Found</h1> </html>): this is not a Benchfleet API URL (from BENCHFLEET_API_URL)`,
    );
  });

  it("the deployment's recorded URL: says `benchfleet deploy` records it again", async () => {
    writeOutputs(box.dir, api.url);
    api.handle = (_req, res) => json(res, 404, { message: 'Not Found' });
    const r = await runCli(['status']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `GET ${api.url}/run answered 404 (Not Found): the ApiUrl in .benchfleet/outputs.json is not a Benchfleet API URL: \`benchfleet deploy\` records the deployment's`,
    );
  });
});

describe('the operator key read from Secrets Manager with no AWS region set', () => {
  beforeEach(() => {
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_DEFAULT_PROFILE'])
      delete process.env[name];
    process.env.AWS_CONFIG_FILE = join(box.dir, 'no-aws-config');
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(box.dir, 'no-aws-credentials');
  });

  /** This folder's deployment at the fake API, its operator key secret named `secret`. */
  const deployment = (secret: string): void => {
    mkdirSync(join(box.dir, '.benchfleet'), { recursive: true });
    writeFileSync(join(box.dir, '.benchfleet', 'outputs.json'), JSON.stringify(fakeOutputs(api.url, secret)));
  };

  it("asks Secrets Manager in the region the secret's ARN names", async () => {
    deployment('arn:aws:secretsmanager:eu-west-2:000000000000:secret:operator');
    api.handle = stopAccepting(SECRET);
    const r = await runCli(['stop']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const client = sm.commandCalls(GetSecretValueCommand)[0]?.thisValue as SecretsManagerClient;
    expect(await client.config.region()).toBe('eu-west-2');
  });

  it('no AWS credentials either: says none were found and how to sign in, not that AWS refused them', async () => {
    deployment('arn:aws:secretsmanager:eu-west-2:000000000000:secret:operator');
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
    );
    const r = await runCli(['stop']);
    expect(r.code).toBe(1);
    expect(api.seen).toEqual([]);
    expect(r.stderr).toContain(
      'cannot read the operator key from Secrets Manager (arn:aws:secretsmanager:eu-west-2:000000000000:secret:operator): no AWS credentials were found',
    );
    expect(r.stderr).toContain('sign in with `aws sso login` (or `aws configure`)');
    expect(r.stderr).toContain('Or pass --api-key.');
    expect(r.stderr).not.toContain('Could not load credentials');
  });

  it('a secret name that gives no region: says no AWS region is set and how to set one', async () => {
    deployment('benchfleet-operator');
    sm.on(GetSecretValueCommand).rejects(new Error('Region is missing'));
    const r = await runCli(['stop']);
    expect(r.code).toBe(1);
    expect(api.seen).toEqual([]);
    expect(r.stderr).not.toContain('Region is missing');
    expect(r.stderr).toContain(
      "cannot read the operator key from Secrets Manager: no AWS region is set, and the secret's name benchfleet-operator is not an ARN that gives one; set AWS_REGION (or AWS_PROFILE, for a profile with a region), or run `aws configure`, or pass --api-key",
    );
  });
});

describe('a 401 names the key that was sent', () => {
  it("the deployment's key from Secrets Manager: says so, does not blame --api-key", async () => {
    writeOutputs(box.dir, api.url);
    api.handle = stopAccepting('rotated');
    const r = await runCli(['stop']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('401');
    expect(r.stderr).toContain(`the deployment's key from Secrets Manager (${ARN})`);
    expect(r.stderr).not.toContain('check --api-key');
  });

  it('BENCHFLEET_API_KEY: names the variable, not the flag', async () => {
    process.env.BENCHFLEET_API_URL = api.url;
    process.env.BENCHFLEET_API_KEY = 'stale';
    api.handle = stopAccepting('right');
    const r = await runCli(['stop']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the API at ${api.url} refused the operator key from BENCHFLEET_API_KEY (401 unauthorized: the API key is wrong): check BENCHFLEET_API_KEY (set in your environment)`,
    );
    expect(r.stderr).not.toContain('given with --api-key');
  });

  it('a key given with surrounding whitespace (pasted, or read from a CRLF file) is sent trimmed', async () => {
    process.env.BENCHFLEET_API_URL = api.url;
    process.env.BENCHFLEET_API_KEY = ' right\r\n';
    api.handle = stopAccepting('right');
    expect((await runCli(['stop'])).code).toBe(0);
    delete process.env.BENCHFLEET_API_KEY;
    expect((await runCli(['stop', '--api-key', '  right '])).code).toBe(0);
  });

  it('--api-key: names the flag', async () => {
    api.handle = stopAccepting('right');
    const r = await runCli(['stop', '--api-url', api.url, '--api-key', 'wrong']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the API at ${api.url} refused the operator key given with --api-key (401 unauthorized: the API key is wrong): check --api-key: pass that API's operator key`,
    );
  });
});

it('a field this CLI sends that an older API does not know: says the API is likely older, and how to line them up', async () => {
  writeOutputs(box.dir, api.url);
  // the answer of an API deployed before POST /run/stop took a run id
  api.handle = (_req, res) =>
    json(res, 400, { error: 'invalid_request', message: 'unknown field(s): run_id; allowed: none' });
  const r = await runCli(['stop', String(RUN_ID)]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('400 invalid_request: unknown field(s): run_id; allowed: none');
  expect(r.stderr).toContain(
    `The API at ${api.url} is likely older than this CLI: deploy this checkout (\`benchfleet deploy\`), or use the CLI of the checkout that deployed it`,
  );
});

describe('stop after the run has ended', () => {
  /** POST /run/stop answers the API's 404 for a run that ended; GET /run the run as `status` says. */
  const ended =
    (said: string, status = 'complete'): Handler =>
    (req, res) =>
      req.method === 'POST'
        ? json(res, 404, { error: 'not_found', message: said })
        : json(res, 200, view(status));

  beforeEach(() => {
    writeOutputs(box.dir, api.url);
    api.handle = ended(`no run in progress: run ${RUN_ID} is already assembly_failed`);
  });

  it('assembly_failed: nothing to stop, exit 0, and no `download` of an archive that was not built', async () => {
    const r = await runCli(['stop']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `nothing to stop: run ${RUN_ID} is already assembly_failed (its archive could not be built): see \`benchfleet status\`\n`,
    );
  });

  it('assembling: points at `watch`, on the same API', async () => {
    api.handle = ended(`no run in progress: run ${RUN_ID} is already assembling`);
    const r = await runCli(['stop', '--api-url', api.url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `nothing to stop: run ${RUN_ID} has already ended and its archive is being built: follow it with \`benchfleet watch --api-url ${api.url}\`\n`,
    );
  });

  it('"just finished": asks GET /run how it ended', async () => {
    api.handle = ended(`no run in progress: run ${RUN_ID} just finished`, 'complete');
    const r = await runCli(['stop', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      message: `nothing to stop: run ${RUN_ID} is already complete; \`benchfleet download ${RUN_ID}\` fetches its results`,
      run_id: RUN_ID,
      status: 'complete',
      stopped: false,
    });
  });

  it('another 404 (no run at all, another run current) is still an error', async () => {
    api.handle = ended('no run has been started yet: POST /run/start creates one');
    const none = await runCli(['stop']);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain(NO_RUN_YET);
  });
});

describe('the runner key, which reads a finished run without its archive link', () => {
  /** GET /run as the API answers the runner key: a finished run with an archive, but no link. */
  const ended = (): Record<string, unknown> => ({
    ...view('complete'),
    archive_key: `runs/${RUN_ID}/results.tar.gz`,
  });

  it("for the deployment's API: says to drop --api-key, naming the operator key's secret", async () => {
    writeOutputs(box.dir, api.url);
    api.handle = (_req, res) => json(res, 200, ended());
    const r = await runCli(['status', '--api-key', 'the-runner-key']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `benchfleet status: the key given with --api-key is the runner key of the API at ${api.url}, which gets no archive link (run ${RUN_ID} has an archive; GET /run gives its link to the operator key only): drop --api-key to use the deployment's operator key (in Secrets Manager, ${ARN}), or pass that key\n`,
    );
  });

  it('watch: a runner key that read the run while it went is not taken for a rotated key at its end', async () => {
    process.env.BENCHFLEET_API_URL = api.url;
    api.handle = (_req, res, n) => json(res, 200, n === 1 ? view('running') : ended());
    const r = await runCli(['watch', '--api-key', 'the-runner-key']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('rotated');
    expect(r.stderr).toContain(
      `benchfleet watch: the key given with --api-key is the runner key of the API at ${api.url}, which gets no archive link`,
    );
  });
});

describe('watch: where the results are', () => {
  it('against another API it does not point at `benchfleet download`', async () => {
    writeOutputs(box.dir, CLOUD);
    const r = await runCli(['watch', '--api-url', api.url]);
    expect(r.code).toBe(0);
    expect(api.seen.every((s) => s.auth === '')).toBe(true);
    expect(r.stdout).not.toContain(`benchfleet download ${RUN_ID}`);
    expect(r.stdout).toContain(`\`benchfleet status --api-url ${api.url} --api-key <operator key>\``);
    expect(r.stdout).toContain("GET /run's gzip_url");
    expect(r.stdout).toContain(`reads the bucket of this folder's deployment at ${CLOUD}, not this API's`);
  });

  it("against the deployment's API (trailing slash or not) it points at `benchfleet download`", async () => {
    writeOutputs(box.dir, `${api.url}/`);
    const r = await runCli(['watch']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Get the results with \`benchfleet download ${RUN_ID}\``);
  });
});

describe('polling rides out throttling', () => {
  /** Answers `status` to the polls listed in `bad`, a running run before `doneAt`, then complete. */
  const flaky =
    (status: number, bad: number[], doneAt: number): Handler =>
    (_req, res, n) => {
      if (bad.includes(n)) return json(res, status, { message: 'Too Many Requests' });
      json(res, 200, view(n >= doneAt ? 'complete' : 'running'));
    };

  it.each([429, 408])('one %i is retried and watch follows the run to its end', async (status) => {
    process.env.BENCHFLEET_API_URL = api.url;
    api.handle = flaky(status, [2], 3);
    const r = await runCli(['watch']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`run ${RUN_ID} complete`);
    expect(r.stderr).toMatch(/retrying \(1 failed in a row; the watch gives up after 12\)/);
    expect(api.seen).toHaveLength(3);
  });

  it('throttling that never ends gives up after MAX_FAILED_POLLS polls in a row', async () => {
    expect(MAX_FAILED_POLLS).toBeGreaterThan(2);
    process.env.BENCHFLEET_API_URL = api.url;
    api.handle = flaky(
      429,
      Array.from({ length: 100 }, (_, i) => i + 1),
      1000,
    );
    const r = await runCli(['watch']);
    expect(r.code).toBe(1);
    expect(api.seen).toHaveLength(MAX_FAILED_POLLS);
    expect(r.stderr).toContain('GET /run answered 429');
  });

  it('failures count only in a row: a poll that works resets them', async () => {
    expect(MAX_FAILED_POLLS).toBeGreaterThan(2);
    process.env.BENCHFLEET_API_URL = api.url;
    const bad = [
      ...Array.from({ length: MAX_FAILED_POLLS - 1 }, (_, i) => i + 2),
      ...Array.from({ length: MAX_FAILED_POLLS - 1 }, (_, i) => i + MAX_FAILED_POLLS + 2),
    ];
    api.handle = flaky(429, bad, 2 * MAX_FAILED_POLLS + 2);
    const r = await runCli(['watch']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`run ${RUN_ID} complete`);
  });

  it("start's watch waits out a network down past MAX_FAILED_POLLS, then up to its patience, polling slower", async () => {
    const failing = MAX_FAILED_POLLS + 3;
    api.handle = flaky(
      503,
      Array.from({ length: failing }, (_, i) => i + 1),
      failing + 1,
    );
    let stderr = '';
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    try {
      const client = new ApiClient({ url: api.url, key: async () => 'k' });
      const t0 = Date.now();
      const run = await watchRun(client, { runId: RUN_ID, patienceMs: 3_600_000 });
      expect(run.status).toBe('complete');
      expect(api.seen).toHaveLength(failing + 1);
      // the polls after the MAX_FAILED_POLLS-th failure come MAX_FAILED_POLLS times slower
      expect(Date.now() - t0).toBeGreaterThanOrEqual((MAX_FAILED_POLLS - 1 + 3 * MAX_FAILED_POLLS) * 50);
      expect(stderr).toMatch(
        /\(1 failed in a row; the watch keeps trying until \d{4}-\d\d-\d\d \d\d:\d\d UTC, the VMs' maximum life; Ctrl-C leaves the run going\)/,
      );
      // and past its patience it gives up as any watch does
      api.seen.length = 0;
      api.handle = flaky(
        503,
        Array.from({ length: 1000 }, (_, i) => i + 1),
        1000,
      );
      const lost = await watchRun(client, { runId: RUN_ID, patienceMs: 1 }).catch((e: Error) => e);
      expect(String(lost)).toContain('503');
      expect(api.seen).toHaveLength(MAX_FAILED_POLLS);
    } finally {
      write.mockRestore();
    }
  });

  it('other 4xx answers stay final: a 400 ends watch at once', async () => {
    process.env.BENCHFLEET_API_URL = api.url;
    api.handle = (_req, res) => json(res, 400, { error: 'bad_request', message: 'nope' });
    const r = await runCli(['watch']);
    expect(r.code).toBe(1);
    expect(api.seen).toHaveLength(1);
    expect(r.stderr).toContain('GET /run answered 400');
  });
});
