// A config's run_id must be greater than the latest run's (run ids only grow). One that is not is
// refused before anything is launched or started, naming the config file, the line and column of
// run_id, and the latest run it collided with: for `start` on the deployment's API, for `local` in
// its --data-dir. A config without run_id, on a deployment whose latest run is ahead of the clock,
// gets the id after it instead of one the API would refuse.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';
import { runCli as runCliProcess } from '../helpers/cli';
import { fakeOutputs, runCli, type Sandbox, sandbox, stackGone, startFiles } from './helpers';

jest.setTimeout(60_000);

const LATEST = Math.floor(Date.now() / 1000) + 1000; // ahead of the clock, as a config's run_id may be
let dir: string;

/** A config on several lines, run_id (if any) on line 5 at column 13. */
function config(name: string, types: string, runId?: number): string {
  const file = join(dir, name);
  const id = runId === undefined ? '' : `,\n  "run_id": ${runId}`;
  writeFileSync(file, `{\n  "ruby_version": "3.4.7",\n  "runs_per_instance_type": 1,\n  ${types}${id}\n}\n`);
  return file;
}

/** Starts run LATEST where `dataDir` (or memory) keeps it, and ends it; answers the stack, still up. */
async function stackWithLatestRun(dataDir?: string): Promise<LocalStack> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const stack = await startLocalStack({ ...(dataDir && { dataDir }), reaperIntervalS: 3600 });
  const call = (method: string, path: string, body: unknown) =>
    fetch(`${stack.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${stack.operatorKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const body = { ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['solo'], run_id: LATEST };
  expect((await call('POST', '/run/start', body)).status).toBe(201);
  expect((await call('POST', '/run/stop', {})).status).toBe(200);
  for (let i = 0; i < 100; i++) {
    const run = (await (await fetch(`${stack.apiUrl}/run`)).json()) as { status: string };
    if (run.status === 'cancelled') return stack;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`run ${LATEST} did not end`);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-config-run-id-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('start', () => {
  let stack: LocalStack;
  let box: Sandbox;
  let keyFile: string;
  beforeAll(async () => {
    stack = await stackWithLatestRun();
    ({ keyFile } = startFiles('bf-run-id-'));
  });
  afterAll(() => stack.stop());
  // start asks whether another start holds the fleet stack before it deploys: not this account's
  const cfn = mockClient(CloudFormationClient);
  beforeEach(() => {
    cfn.reset();
    cfn.on(DescribeStacksCommand).rejects(stackGone());
    box = sandbox({ FAKE_CDK_OUTPUTS: JSON.stringify(fakeOutputs(stack.apiUrl)) });
    mkdirSync(join(box.dir, '.benchfleet'));
    writeFileSync(join(box.dir, '.benchfleet', 'outputs.json'), JSON.stringify(fakeOutputs(stack.apiUrl)));
  });
  afterEach(() => box.restore());

  const start = (file: string) => runCli(['start', '--config', file, '--yes', '--ssh-public-key', keyFile]);

  it.each([
    ['below', LATEST - 10],
    ['equal to', LATEST],
  ])(
    'refuses a run_id %s the latest run, naming the file, line and field, before any fleet',
    async (_, id) => {
      const file = config('run.json', '"aws": ["c7g.medium"]', id);
      const r = await start(file);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `benchfleet start: invalid run config ${file}:\n  ${file}:5:13: run_id: must be greater than every earlier run's id (latest is ${LATEST}) on this folder's deployment, and ${id} is not: set a run_id greater than ${LATEST}, or remove run_id to take the next free id\n`,
      );
      expect(box.calls()).toEqual([]);
    },
  );

  it('without run_id, takes the id after a latest run that is ahead of the clock', async () => {
    process.env.FAKE_FAIL = 'cdk deploy'; // the run id is all this test needs to see
    const r = await start(config('run.json', '"aws": ["c7g.medium"]'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`\nRun ${LATEST + 1}: deploying\n`);
  });
});

it('local --data-dir refuses a run_id not above the data dir latest run, naming the file, line and field', async () => {
  const data = join(dir, 'data');
  await (await stackWithLatestRun(data)).stop();
  const file = config('local.json', '"local": ["solo"]', LATEST - 1);
  const results = join(dir, 'results');
  const args = ['local', '-c', file, '--data-dir', data, '--results-dir', results, '--synthetic-size', '0'];
  const r = await runCliProcess(args);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(
    `\nbenchfleet local: invalid run config ${file}:\n  ${file}:5:13: run_id: must be greater than every earlier run's id (latest is ${LATEST}) in the data dir ${data}, and ${LATEST - 1} is not: set a run_id greater than ${LATEST}, or remove run_id to take the next free id\n`,
  );
  expect(existsSync(join(results, String(LATEST - 1)))).toBe(false);
});
