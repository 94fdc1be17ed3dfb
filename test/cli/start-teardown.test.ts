// `benchfleet start` tears its fleets down whatever the end: the API refusing to start the run
// (even with --keep-fleet), a run whose archive could not be assembled, and a run that ended but
// whose archive could not be saved. Fake cdk on PATH, the real local API in this process (its
// assembly fails on demand), AWS SDK calls mocked.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { mockClient } from 'aws-sdk-client-mock';
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';
import { archiveSwitch } from '../helpers/archive-switch';
import { installZones } from './fake-zones';
import {
  argv,
  claimAssigned,
  fakeOutputs,
  playerApi,
  runCli,
  type Sandbox,
  sandbox,
  stackGone,
  startFiles,
} from './helpers';

const OPERATOR = 'cli-teardown-operator';
const RUNNER = 'cli-teardown-runner';
const OPERATOR_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:operator';
const sm = mockClient(SecretsManagerClient);
const sq = mockClient(ServiceQuotasClient);
const ec2 = mockClient(EC2Client);
const cfn = mockClient(CloudFormationClient);

let stack: LocalStack;
let box: Sandbox;
let tarball: Buffer;
let configFile: string;
/** While refused, the assembly's archive step meets a lasting failure, so the run ends assembly_failed. */
const archive = archiveSwitch();

beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  stack = await startLocalStack({
    operatorKey: OPERATOR,
    runnerKey: RUNNER,
    reaperIntervalS: 3600,
    assembly: archive.assembly,
  });
  const files = startFiles('bf-teardown-');
  tarball = files.tarball;
  configFile = join(files.dir, 'run.json');
  writeFileSync(
    configFile,
    '{"ruby_version": "3.4.7", "runs_per_instance_type": 1, "aws": ["c7g.medium"]}\n',
  );
});
afterAll(() => stack.stop());

beforeEach(() => {
  box = sandbox({ FAKE_SLEEP_MS: '50', FAKE_CDK_OUTPUTS: JSON.stringify(fakeOutputs(stack.apiUrl)) });
  for (const m of [sm, sq, ec2, cfn]) m.reset();
  cfn.on(DescribeStacksCommand).rejects(stackGone());
  sm.on(GetSecretValueCommand, { SecretId: OPERATOR_ARN }).resolves({ SecretString: OPERATOR });
  sm.on(GetSecretValueCommand, {
    SecretId: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:runner',
  }).resolves({ SecretString: RUNNER });
  sq.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 32 } });
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  installZones(ec2, { 'us-east-1a': ['c7g.medium'] });
});
afterEach(() => {
  archive.refused = false;
  box.restore();
});

const destroyed = (): string[] =>
  box
    .calls()
    .map(argv)
    .filter((l) => /^cdk destroy BenchfleetFleet /.test(l));

const call = playerApi(() => stack.apiUrl);

/** Plays the one runner: waits for the run, claims its task, uploads a result and completes it. */
async function playRunner(before: number | undefined): Promise<void> {
  let run: Awaited<ReturnType<typeof call>> = {};
  for (let i = 0; i < 600 && !(run.status === 'running' && run.run_id !== before); i++) {
    run = await call('GET', '/run', OPERATOR).catch(() => ({}));
    await new Promise((r) => setTimeout(r, 50));
  }
  const claim = await claimAssigned(call, run.run_id, RUNNER, {
    provider: 'aws',
    instance_type: 'c7g.medium',
    runner_id: 'r-1',
  });
  await fetch(String(claim.presigned_urls?.result), { method: 'PUT', body: new Uint8Array(tarball) });
  await call('POST', `/tasks/${claim.task?.id}/complete`, RUNNER, { runner_id: 'r-1' });
}

it('tears the fleet down, even with --keep-fleet, when the API refuses to start the run', async () => {
  // a key that cannot be checked against the deployment's is tried: the API refuses it
  sm.on(GetSecretValueCommand, { SecretId: OPERATOR_ARN }).rejects(
    Object.assign(new Error('not allowed to read it'), { name: 'AccessDeniedException' }),
  );
  process.env.BENCHFLEET_API_KEY = 'not-the-operator-key';
  const r = await runCli(['start', '--config', configFile, '--yes', '--keep-fleet']);
  expect(r.code).toBe(1);
  expect(box.calls().map(argv)).toContainEqual(expect.stringMatching(/^cdk deploy BenchfleetFleet/));
  expect(destroyed()).toHaveLength(1);
});

it('tears the fleet down when the run ended but its archive could not be saved', async () => {
  // the results root lies under a file: nothing can be unpacked there
  mkdirSync(box.dir, { recursive: true });
  writeFileSync(join(box.dir, 'not-a-folder'), '');
  const before = (await call('GET', '/run', OPERATOR).catch(() => ({ run_id: undefined }))).run_id;
  const [r] = await Promise.all([
    runCli([
      'start',
      '--config',
      configFile,
      '--yes',
      '--results-dir',
      join(box.dir, 'not-a-folder', 'results'),
    ]),
    playRunner(before),
  ]);
  expect(r.stderr).toContain('the download failed');
  expect(r.stderr).toMatch(/finished but its archive was not saved/);
  expect(r.code).toBe(1);
  expect(destroyed()).toHaveLength(1);
});

it('exits 1 and names the fleet left up when its teardown fails after a good run', async () => {
  process.env.FAKE_FAIL = 'cdk destroy';
  const before = (await call('GET', '/run', OPERATOR).catch(() => ({ run_id: undefined }))).run_id;
  const [r] = await Promise.all([
    runCli(['start', '--config', configFile, '--yes', '--json', '--results-dir', join(box.dir, 'results')]),
    playRunner(before),
  ]);
  expect(destroyed()).toHaveLength(1); // tried, and failed
  const summary = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('{\n  "run_id"'))) as Record<
    string,
    unknown
  >;
  expect(summary).toMatchObject({ status: 'complete', fleets_kept: false, fleets_left_up: ['aws'] });
  expect(r.stderr).toMatch(/aws fleet teardown failed/);
  expect(r.stderr).toMatch(/the aws fleet of run \d+ could not be torn down and may still be billing/);
  expect(r.code).toBe(1);
});

it('exits 1 with the assembly error and how to retry it when the archive could not be assembled, and tears the fleet down', async () => {
  archive.refused = true;
  const before = (await call('GET', '/run', OPERATOR).catch(() => ({ run_id: undefined }))).run_id;
  const results = join(box.dir, 'results');
  const [r] = await Promise.all([
    runCli(['start', '--config', configFile, '--yes', '--json', '--results-dir', results]),
    playRunner(before),
  ]);
  const summary = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('{\n  "run_id"'))) as Record<
    string,
    unknown
  >;
  expect(summary).toMatchObject({
    status: 'assembly_failed',
    assembly_error: expect.stringContaining('the results bucket refused the upload'),
    results_dir: null,
    site: null,
    fleets_left_up: [],
  });
  expect(r.stderr).toMatch(
    /the archive of run \d+ could not be assembled: .*the results bucket refused the upload.*; `benchfleet assemble` builds it again \(the uploaded results are kept\), then `benchfleet download \d+`/,
  );
  expect(r.stderr).not.toContain('ended without an archive URL');
  expect(r.code).toBe(1);
  expect(destroyed()).toHaveLength(1);
  // nothing was downloaded, so nothing was written where the results go
  expect(existsSync(results) ? readdirSync(results) : []).toEqual([]);
});

it("leaves the fleet stack up when another run's fleet was deployed over it since, and says so", async () => {
  // a teammate's start, while this one downloaded, deployed its own fleet: the stack is tagged with it
  const theirs = 1_800_000_000;
  cfn
    .on(DescribeStacksCommand, { StackName: 'BenchfleetFleet' })
    .rejectsOnce(stackGone()) // before the meta stack's deploy: no fleet yet
    .rejectsOnce(stackGone()) // at the launch: still none
    .resolves({
      Stacks: [
        {
          StackName: 'BenchfleetFleet',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(),
          Tags: [
            { Key: 'benchfleet:project', Value: 'benchfleet' },
            { Key: 'benchfleet:run-id', Value: String(theirs) },
          ],
        },
      ],
    });
  const before = (await call('GET', '/run', OPERATOR).catch(() => ({ run_id: undefined }))).run_id;
  const [r] = await Promise.all([
    runCli(['start', '--config', configFile, '--yes', '--json', '--results-dir', join(box.dir, 'results')]),
    playRunner(before),
  ]);
  expect(destroyed()).toEqual([]);
  expect(r.stderr).toMatch(
    new RegExp(
      `the fleet stack BenchfleetFleet holds run ${theirs}'s VMs now \\(deployed over run \\d+'s, which went with that deploy\\): left up, as destroying it would end run ${theirs}`,
    ),
  );
  const summary = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('{\n  "run_id"'))) as Record<
    string,
    unknown
  >;
  expect(summary).toMatchObject({ status: 'complete', fleets_left_up: [] });
  expect(r.code).toBe(0);
});

it("destroys the fleet stack when its tag names an older run: this run's own deploy, rolled back", async () => {
  cfn.on(DescribeStacksCommand, { StackName: 'BenchfleetFleet' }).resolves({
    Stacks: [
      {
        StackName: 'BenchfleetFleet',
        StackStatus: 'UPDATE_ROLLBACK_COMPLETE',
        CreationTime: new Date(),
        Tags: [{ Key: 'benchfleet:run-id', Value: '1700000000' }],
      },
    ],
  });
  const before = (await call('GET', '/run', OPERATOR).catch(() => ({ run_id: undefined }))).run_id;
  const [r] = await Promise.all([
    runCli(['start', '--config', configFile, '--yes', '--results-dir', join(box.dir, 'results')]),
    playRunner(before),
  ]);
  expect(destroyed()).toHaveLength(1);
  expect(r.stderr).not.toContain('left up, as destroying it would end');
  expect(r.code).toBe(0);
});
