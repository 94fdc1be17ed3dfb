// A key the API refuses is an error for every command that sends one, against the real local API:
// one line naming the API, the key that was refused and where keys come from, and exit code 1.
// `status` and `watch` only read: GET /run refuses a wrong key (401), and the runner key is a right
// one that gets no archive link, so an archive shown without its link is an error naming that key.
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';
import { type CliResult, runCli, type Sandbox, sandbox } from './helpers';

const OPERATOR = 'refused-operator-key';
const RUNNER = 'refused-runner-key';
const SOURCES =
  "Keys are taken from --api-key, else BENCHFLEET_API_KEY, else (for this folder's deployment, .benchfleet/outputs.json) its Secrets Manager secret; `benchfleet local` prints its keys when it starts.";
let stack: LocalStack;
let box: Sandbox;
let runId: number;

const api = async (method: string, path: string, key = OPERATOR, body?: unknown): Promise<Response> =>
  fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });

/** The run as the operator sees it. */
const run = async (): Promise<{ status: string; gzip_url: string | null; tasks: { pending: number } }> =>
  (await api('GET', '/run')).json() as never;

/** The one line on stderr, and nothing on stdout. */
function oneLine(r: CliResult): string {
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0] as string;
}

beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  stack = await startLocalStack({ operatorKey: OPERATOR, runnerKey: RUNNER, reaperIntervalS: 3600 });
  const res = await api('POST', '/run/start', OPERATOR, {
    ruby_version: '3.4.7',
    runs_per_instance_type: 1,
    local: ['local-a'],
  });
  runId = ((await res.json()) as { run_id: number }).run_id;
});
afterAll(() => stack.stop());
beforeEach(() => {
  box = sandbox({ BENCHFLEET_API_URL: stack.apiUrl });
  delete process.env.BENCHFLEET_API_KEY;
});
afterEach(() => box.restore());

/** What the API answers a read (GET /run) sent a wrong key. */
const READ_REFUSED = 'the API key is wrong (a read needs no key, but a key sent with one is checked)';

describe('while the run is going', () => {
  it('status --api-key WRONG says the API refused the key; the right key changes nothing', async () => {
    expect(oneLine(await runCli(['status', '--api-key', 'WRONG']))).toBe(
      `benchfleet status: the API at ${stack.apiUrl} refused the operator key given with --api-key (401 unauthorized: ${READ_REFUSED}): check --api-key: pass that API's operator key. ${SOURCES}`,
    );
    const before = await run();
    const ok = await runCli(['status', '--api-key', OPERATOR]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`run ${runId} running: 0/1 finished`);
    expect(await run()).toEqual(before);
    // without a key, nothing is checked and nothing refused
    expect((await runCli(['status'])).code).toBe(0);
  });

  it('a wrong BENCHFLEET_API_KEY is named as the variable, for status, watch and stop alike', async () => {
    process.env.BENCHFLEET_API_KEY = 'stale';
    for (const command of ['status', 'watch', 'stop']) {
      const refusal =
        command === 'stop' ? 'the API key is wrong: this route takes the operator key' : READ_REFUSED;
      expect(oneLine(await runCli([command]))).toBe(
        `benchfleet ${command}: the API at ${stack.apiUrl} refused the operator key from BENCHFLEET_API_KEY (401 unauthorized: ${refusal}): check BENCHFLEET_API_KEY (set in your environment): set it to that API's operator key, or unset it. ${SOURCES}`,
      );
    }
    expect((await run()).status).toBe('running'); // the refused stop changed nothing
  });

  it('watch --api-key WRONG fails at once, before showing the run', async () => {
    const line = oneLine(await runCli(['watch', '--api-key', 'WRONG', '--json']));
    expect(line).toContain(
      `benchfleet watch: the API at ${stack.apiUrl} refused the operator key given with --api-key`,
    );
  });
});

describe('once the run has an archive', () => {
  beforeAll(async () => {
    expect((await api('POST', '/run/stop', OPERATOR, {})).status).toBe(200);
    for (let i = 0; i < 200 && !(await run()).gzip_url; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await run()).gzip_url).toEqual(expect.any(String));
  });

  /** Where the operator key of an API that is not this folder's deployment is found. */
  const WHERE =
    "`benchfleet local` prints it when it starts; a deployment's is in Secrets Manager, OperatorKeySecretArn in .benchfleet/outputs.json";

  it('status with the runner key says it is the runner key, which gets no archive link; the operator key gets it', async () => {
    const line = oneLine(await runCli(['status', '--api-key', RUNNER]));
    expect(line).toBe(
      `benchfleet status: the key given with --api-key is the runner key of the API at ${stack.apiUrl}, which gets no archive link (run ${runId} has an archive; GET /run gives its link to the operator key only): pass the operator key with --api-key instead (${WHERE})`,
    );
    // the key was not refused, nor called the operator key
    expect(line).not.toContain('refused');
    expect(line).not.toContain('operator key given with --api-key');
    const ok = await runCli(['status', '--api-key', OPERATOR]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('  archive: http');
  });

  it('the runner key in BENCHFLEET_API_KEY: names the variable and says to set it to the operator key', async () => {
    process.env.BENCHFLEET_API_KEY = RUNNER;
    expect(oneLine(await runCli(['status']))).toBe(
      `benchfleet status: the key in BENCHFLEET_API_KEY (set in your environment) is the runner key of the API at ${stack.apiUrl}, which gets no archive link (run ${runId} has an archive; GET /run gives its link to the operator key only): set BENCHFLEET_API_KEY to the operator key instead (${WHERE})`,
    );
  });

  it('watch with the runner key is told the same; with the operator key it ends with the link', async () => {
    expect(oneLine(await runCli(['watch', '--api-key', RUNNER]))).toContain(
      `benchfleet watch: the key given with --api-key is the runner key of the API at ${stack.apiUrl}, which gets no archive link (run ${runId} has an archive;`,
    );
    const ok = await runCli(['watch', '--api-key', OPERATOR, '--json']);
    expect(ok.code).toBe(0);
    const last = JSON.parse(ok.stdout.trim().split('\n').at(-1) as string) as { gzip_url: string | null };
    expect(last.gzip_url).toContain(`runs/${runId}/results.tar.gz`);
  });
});
