// Which API the CLI talks to and with which key: the deployment's operator key (Secrets Manager)
// goes only to the deployment's own API; any other API needs --api-key, asked for before anything
// is sent. Also the hints that follow `stop` and `watch`, and polls that survive a 429 or 408.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { MAX_FAILED_POLLS } from '../../cli/lib/progress';
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

describe('an API that does not answer', () => {
  it('on this machine: points at `benchfleet local`; elsewhere: at the meta stack', async () => {
    const local = await runCli(['status', '--api-url', 'http://127.0.0.1:1']);
    expect(local.code).toBe(1);
    expect(local.stderr).toContain(
      'cannot reach the API at http://127.0.0.1:1 (fetch failed); check the URL or that `benchfleet local` is still serving it',
    );
    expect(local.stderr).not.toContain('meta stack');
    // refused at once like any closed port, without a DNS look-up; not a name `local` serves on
    const remote = await runCli(['status', '--api-url', 'http://0.0.0.0:1']);
    expect(remote.code).toBe(1);
    expect(remote.stderr).toContain('check the URL or that the meta stack is deployed');
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
    expect(r.stderr).toMatch(/retrying/);
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

  it('other 4xx answers stay final: a 400 ends watch at once', async () => {
    process.env.BENCHFLEET_API_URL = api.url;
    api.handle = (_req, res) => json(res, 400, { error: 'bad_request', message: 'nope' });
    const r = await runCli(['watch']);
    expect(r.code).toBe(1);
    expect(api.seen).toHaveLength(1);
    expect(r.stderr).toContain('GET /run answered 400');
  });
});
