// `benchfleet start` end to end against the real local API stack: fake cdk/terraform/az on PATH,
// AWS SDK calls mocked. The test plays the runners, so the run assembles and start downloads it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeInstancesCommand,
  DescribeInstanceTypeOfferingsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type LocalStack, startLocalStack } from '../../lambdas/adapters/local/stack';
import { tempDir } from '../helpers/temp-dir';
import { installZones } from './fake-zones';
import {
  argv,
  type FakeCall,
  fakeOutputs,
  playerApi,
  type RunAnswer,
  runCli,
  type Sandbox,
  sandbox,
  startFiles,
} from './helpers';

const OPERATOR = 'cli-test-operator';
const RUNNER = 'cli-test-runner';
const sm = mockClient(SecretsManagerClient);
const sq = mockClient(ServiceQuotasClient);
const ec2 = mockClient(EC2Client);

let stack: LocalStack;
let box: Sandbox;
let tarball: Buffer;
let keyFile: string;
let configFile: string;

const usage = JSON.stringify([
  { currentValue: 4, limit: 100, name: { value: 'cores', localizedValue: 'Total Regional vCPUs' } },
  {
    currentValue: 0,
    limit: 20,
    name: { value: 'standardDPLSv6Family', localizedValue: 'Standard DPLSv6 Family vCPUs' },
  },
  {
    currentValue: 0,
    limit: 10,
    name: { value: 'standardBSFamily', localizedValue: 'Standard BS Family vCPUs' },
  },
]);

beforeAll(async () => {
  // The in-process API would print its CloudWatch metric lines into the CLI's stdout.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  stack = await startLocalStack({ operatorKey: OPERATOR, runnerKey: RUNNER, reaperIntervalS: 3600 });
  const files = startFiles('bf-start-');
  const dir = files.dir;
  ({ tarball, keyFile } = files);
  configFile = join(dir, 'run.json');
  writeFileSync(
    configFile,
    '{\n  // one type per cloud\n  "ruby_version": "3.4.7",\n  "runs_per_instance_type": 2,\n  "aws": ["c7g.medium"],\n  "azure": ["Standard_D2pls_v6"]\n}\n',
  );
});
afterAll(() => stack.stop());

/** `benchfleet start` on the test's config and SSH key, with `--yes`, and any further flags. */
const runStart = (...extra: string[]) =>
  runCli(['start', '--config', configFile, '--yes', '--ssh-public-key', keyFile, ...extra]);

beforeEach(() => {
  box = sandbox({
    FAKE_SLEEP_MS: '100',
    FAKE_RENDEZVOUS: tempDir('bf-rendezvous-'),
    FAKE_AZ_USAGE: usage,
    FAKE_CDK_OUTPUTS: JSON.stringify(fakeOutputs(stack.apiUrl)),
  });
  sm.reset();
  sq.reset();
  ec2.reset();
  sm.on(GetSecretValueCommand, {
    SecretId: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:operator',
  }).resolves({ SecretString: OPERATOR });
  sm.on(GetSecretValueCommand, {
    SecretId: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:runner',
  }).resolves({ SecretString: RUNNER });
  sq.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 32 } });
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  // c7g.medium is missing from us-east-1a, as new families are from some zones.
  installZones(ec2, {
    'us-east-1a': ['c7a.large', 'm7g.large'],
    'us-east-1b': ['c7a.large', 'c7g.medium'],
    'us-east-1c': ['c7g.medium', 'm7g.large'],
  });
});
afterEach(() => box.restore());

const api = playerApi(() => stack.apiUrl);

/** Plays one runner per instance type: claims every task, uploads a result and completes it. */
async function playRunners(): Promise<number> {
  let run: RunAnswer = {};
  for (let i = 0; i < 600 && run.status !== 'running'; i++) {
    run = await api('GET', '/run', OPERATOR).catch(() => ({}));
    if (run.status !== 'running') await new Promise((r) => setTimeout(r, 50));
  }
  for (const [provider, type] of [
    ['aws', 'c7g.medium'],
    ['azure', 'Standard_D2pls_v6'],
  ] as const) {
    for (let n = 0; n < 2; n++) {
      const claim = await api('POST', `/runs/${run.run_id}/tasks/claim`, RUNNER, {
        provider,
        instance_type: type,
        runner_id: `r-${type}`,
      });
      expect(claim.status).toBe('assigned');
      const put = await fetch(String(claim.presigned_urls?.result), {
        method: 'PUT',
        body: new Uint8Array(tarball),
      });
      expect(put.status).toBe(200);
      await api('POST', `/tasks/${claim.task?.id}/complete`, RUNNER, { runner_id: `r-${type}` });
    }
  }
  return run.run_id as number;
}

const overlap = (a: FakeCall, b: FakeCall): boolean => a.started < b.ended && b.started < a.ended;

it('deploys, launches both fleets in parallel, runs, downloads, builds the site and tears the fleets down', async () => {
  const [r, runId] = await Promise.all([
    runCli([
      'start',
      '--config',
      configFile,
      '--yes',
      '--json',
      '--ssh-public-key',
      keyFile,
      '--ssh-cidr',
      '203.0.113.7/32',
      '--ssh-cidr',
      '2001:db8::/48',
    ]),
    playRunners(),
  ]);
  expect(r.stderr).toContain('vCPU quotas:');
  expect(r.code).toBe(0);
  // The in-process local stack prints metric lines (EMF) on stdout too; the summary is the last object.
  const summary = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('{\n  "run_id"')));
  expect(summary).toMatchObject({ run_id: runId, status: 'complete', fleets_kept: false });
  expect(summary.tasks).toMatchObject({ total: 4, completed: 4 });

  const results = join(box.dir, 'results', String(runId));
  expect(summary.results_dir).toBe(results);
  for (const t of ['c7g.medium-1', 'c7g.medium-2', 'Standard_D2pls_v6-1', 'Standard_D2pls_v6-2']) {
    expect(readFileSync(join(results, t, 'output.txt'), 'utf8')).toBe('fib 1.0\n');
  }
  expect(JSON.parse(readFileSync(join(results, 'manifest.json'), 'utf8')).tasks).toHaveLength(4);
  expect(existsSync(join(results, 'site', 'index.html'))).toBe(true);

  const calls = box.calls().filter((c) => c.args[0] !== '--version');
  const lines = calls.map(argv);
  // Preflight reads the Azure quota (and the mocked AWS one) before anything is launched.
  expect(lines[0]).toBe('az vm list-usage --location eastus --output json');
  expect(sq).toHaveReceivedCommandWith(GetServiceQuotaCommand, {
    ServiceCode: 'ec2',
    QuotaCode: 'L-1216C47A',
  });
  expect(lines[1]).toMatch(/^cdk deploy Benchfleet --require-approval never --outputs-file .*outputs\.json$/);
  const fleetDeploy = calls.find((c) =>
    /^cdk deploy BenchfleetFleet -c fleetPlan=.*fleet-\d+\.json --require-approval never$/.test(argv(c)),
  );
  const apply = calls.find((c) => c.tool === 'terraform' && c.args[1] === 'apply');
  expect(fleetDeploy?.fleetPlan).toMatchObject({
    runId,
    apiUrl: stack.apiUrl,
    runnerKeySecretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:runner',
    artifactBucket: 'artifact-bucket',
    artifactKey: 'runner/runner.js',
    rubyVersion: '3.4.7',
    // Every standard zone gets a subnet; the type goes to the first zone that offers it.
    availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    plan: [
      expect.objectContaining({ instance_type: 'c7g.medium', vm_count: 2, availability_zone: 'us-east-1b' }),
    ],
  });
  expect(r.stderr).toMatch(/aws {3}c7g\.medium .* in us-east-1b\n/);
  expect(apply?.tfvars).toMatchObject({
    run_id: runId,
    api_key: RUNNER,
    fleet: { Standard_D2pls_v6: 1 },
    region: 'eastus',
    ssh_source_cidrs: ['203.0.113.7/32', '2001:db8::/48'],
  });
  expect(String(apply?.tfvars?.runner_artifact_url)).toMatch(
    /^https:\/\/artifact-bucket\.s3\..*runner\/runner\.js\?/,
  );
  // The two fleets go up at the same time, after the meta stack and before the run starts.
  // The fakes only finish when each saw the other running (FAKE_RENDEZVOUS); check it in the log too.
  expect(fleetDeploy && apply && overlap(fleetDeploy, apply)).toBe(true);
  expect(lines.slice(2, 6).sort()).toEqual(
    [
      expect.stringMatching(/^cdk deploy BenchfleetFleet/),
      'terraform -chdir=terraform-azure init -input=false',
      `terraform -chdir=terraform-azure workspace select -or-create run-${runId}`,
      expect.stringMatching(
        /^terraform -chdir=terraform-azure apply -input=false -auto-approve -var-file=.*azure-\d+\.tfvars\.json$/,
      ),
    ].sort(),
  );
  expect(lines.slice(6).sort()).toEqual(
    [
      expect.stringMatching(/^cdk destroy BenchfleetFleet -c fleetPlan=.* --force$/),
      'terraform -chdir=terraform-azure init -input=false',
      `terraform -chdir=terraform-azure workspace select -or-create run-${runId}`,
      expect.stringMatching(
        /^terraform -chdir=terraform-azure destroy -input=false -auto-approve -var-file=/,
      ),
    ].sort(),
  );
  // The run's var file held the runner key: gone with its fleet.
  expect(existsSync(join(box.dir, '.benchfleet', `azure-${runId}.tfvars.json`))).toBe(false);
});

it('stops before launching anything when a vCPU quota is short', async () => {
  sq.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 1 } });
  const r = await runStart();
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('SHORT aws Running On-Demand Standard');
  expect(r.stderr).toContain('not enough vCPU quota, nothing was launched');
  expect(box.calls().filter((c) => c.tool === 'cdk' || c.args.includes('apply'))).toEqual([]);
});

it('names an AWS type no zone of the region offers, and launches nothing', async () => {
  installZones(ec2, { 'us-east-1a': ['c7a.large'], 'us-east-1b': ['m7g.large'] });
  const r = await runStart();
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('not offered in any availability zone of us-east-1: aws:c7g.medium.');
  expect(box.calls().filter((c) => c.tool === 'cdk' || c.args.includes('apply'))).toEqual([]);
});

it('launches without zones, with a warning, when EC2 will not say where types are offered', async () => {
  const denied = Object.assign(new Error('You are not authorized to perform this operation.'), {
    name: 'UnauthorizedOperation',
    $metadata: { httpStatusCode: 403 },
  });
  ec2.on(DescribeInstanceTypeOfferingsCommand).rejects(denied);
  process.env.FAKE_FAIL = 'terraform -chdir=terraform-azure apply';
  process.env.FAKE_RENDEZVOUS = '';
  const r = await runStart();
  expect(r.stderr).toContain(
    'warning: could not read which availability zones offer the AWS types (AWS call failed: UnauthorizedOperation',
  );
  const deploy = box.calls().find((c) => argv(c).startsWith('cdk deploy BenchfleetFleet'));
  expect(deploy?.fleetPlan?.availabilityZones).toBeUndefined();
  expect(deploy?.fleetPlan?.plan).toEqual([
    expect.not.objectContaining({ availability_zone: expect.anything() }),
  ]);
});

it('refuses an --ssh-cidr that is not a range before launching anything', async () => {
  const r = await runStart('--ssh-cidr', '203.0.113.7');
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('--ssh-cidr 203.0.113.7 is not a CIDR range');
  expect(box.calls().filter((c) => c.tool === 'cdk' || c.tool === 'terraform')).toEqual([]);
});

it('says which tool is missing before launching anything', async () => {
  process.env.BENCHFLEET_TERRAFORM = 'terraform-not-installed-here';
  const r = await runStart();
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('terraform was not found');
  expect(box.calls().filter((c) => c.tool === 'cdk')).toEqual([]);
});

it('stops before deploying when az has no subscription for the Azure fleet', async () => {
  delete process.env.ARM_SUBSCRIPTION_ID;
  process.env.FAKE_AZ_LOGGED_OUT = '1';
  const r = await runStart();
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/needs an Azure subscription id.*run `az login`.*or set ARM_SUBSCRIPTION_ID/);
  // only the probe that terraform is installed ran
  const launched = box
    .calls()
    .filter((c) => c.tool === 'cdk' || (c.tool === 'terraform' && c.args[0] !== '--version'));
  expect(launched).toEqual([]);
});

it('refuses to launch while another run is in progress on the deployment', async () => {
  const outputs = JSON.parse(String(process.env.FAKE_CDK_OUTPUTS));
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(box.dir, '.benchfleet'), { recursive: true });
  writeFileSync(join(box.dir, '.benchfleet', 'outputs.json'), JSON.stringify(outputs));
  const started = await api('POST', '/run/start', OPERATOR, {
    ruby_version: '3.4.7',
    runs_per_instance_type: 1,
    local: ['x'],
  });
  try {
    const r = await runStart();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`run ${started.run_id} is still running`);
    expect(box.calls().filter((c) => c.tool === 'cdk' || c.args[0] === 'vm')).toEqual([]);
  } finally {
    await api('POST', '/run/stop', OPERATOR, {});
  }
});

it('tears both fleets down, even with --keep-fleet, when one cannot be launched', async () => {
  process.env.FAKE_RENDEZVOUS = '';
  process.env.FAKE_FAIL = 'terraform -chdir=terraform-azure apply';
  const before = await api('GET', '/run', OPERATOR);
  const r = await runCli([
    'start',
    '--config',
    configFile,
    '--yes',
    '--keep-fleet',
    '--ssh-public-key',
    keyFile,
  ]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('the azure fleet could not be launched; the run was not started');
  const lines = box.calls().map(argv);
  expect(lines).toContainEqual(
    expect.stringMatching(/^cdk destroy BenchfleetFleet -c fleetPlan=.* --force$/),
  );
  expect(lines).toContainEqual(expect.stringMatching(/^terraform -chdir=terraform-azure destroy /));
  expect((await api('GET', '/run', OPERATOR)).run_id).toBe(before.run_id);
});

it('refuses a blank --results-dir before anything is deployed or launched', async () => {
  const r = await runStart('--results-dir', ' ');
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('--results-dir must be a non-blank folder');
  expect(box.calls()).toEqual([]);
});

describe('a key given by --api-key or BENCHFLEET_API_KEY, checked before the fleets launch', () => {
  const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:operator';
  const launched = (): string[] =>
    box
      .calls()
      .map(argv)
      .filter((l) => l.startsWith('cdk deploy BenchfleetFleet') || l.startsWith('terraform -chdir'));

  it('refuses a BENCHFLEET_API_KEY that is not the deployment key, naming it, and launches nothing', async () => {
    process.env.BENCHFLEET_API_KEY = 'a-key-printed-by-benchfleet-local';
    const before = await api('GET', '/run', OPERATOR);
    const r = await runStart();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /the operator key in BENCHFLEET_API_KEY \(set in your environment\) is not this deployment's/,
    );
    expect(r.stderr).toContain(ARN);
    expect(r.stderr).toMatch(/Run \d+ was not started and no fleet was launched/);
    expect(r.stderr).toContain("`unset BENCHFLEET_API_KEY` to use the deployment's key");
    expect(launched()).toEqual([]);
    expect((await api('GET', '/run', OPERATOR)).run_id).toBe(before.run_id);
  });

  it('refuses an --api-key that is not the deployment key, and says to drop it', async () => {
    const r = await runStart('--api-key', 'not-the-operator-key');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("the operator key from --api-key is not this deployment's");
    expect(r.stderr).toContain("drop --api-key to use the deployment's key");
    expect(r.stderr).not.toContain('BENCHFLEET_API_KEY');
    expect(launched()).toEqual([]);
  });

  it('names the runner key when that is what --api-key holds, and launches nothing', async () => {
    const r = await runStart('--api-key', RUNNER);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /the operator key from --api-key is this deployment's runner key \(the one its VMs get, in .*:secret:runner\), which may not start runs\. Run \d+ was not started and no fleet was launched: drop --api-key/,
    );
    expect(r.stderr).not.toContain('benchfleet local');
    expect(launched()).toEqual([]);
  });

  it('goes on with the given key, saying so in one line, when the secret cannot be read', async () => {
    sm.on(GetSecretValueCommand, { SecretId: ARN }).rejects(
      Object.assign(new Error('not allowed to read it'), { name: 'AccessDeniedException' }),
    );
    process.env.BENCHFLEET_API_KEY = 'a-key-printed-by-benchfleet-local';
    const r = await runStart();
    expect(r.stderr).toMatch(
      /\n {2}note: the operator key in BENCHFLEET_API_KEY was not checked against the deployment's: its secret .*:operator could not be read \(AccessDeniedException\); going on with it\n/,
    );
    // as before the check: launched, refused by the API, torn down
    expect(launched()).toContainEqual(expect.stringMatching(/^cdk deploy BenchfleetFleet/));
    expect(r.stderr).toContain('check BENCHFLEET_API_KEY');
    expect(box.calls().map(argv)).toContainEqual(expect.stringMatching(/^cdk destroy BenchfleetFleet/));
    expect(r.code).toBe(1);
  });

  it('launches with a given key that is the deployment key', async () => {
    process.env.BENCHFLEET_API_KEY = OPERATOR;
    process.env.FAKE_RENDEZVOUS = '';
    process.env.FAKE_FAIL = 'terraform -chdir=terraform-azure apply';
    const r = await runStart();
    expect(r.stderr).not.toContain("is not this deployment's");
    expect(r.stderr).not.toContain('was not checked');
    expect(launched()).toContainEqual(expect.stringMatching(/^cdk deploy BenchfleetFleet/));
    expect(r.stderr).toContain('the azure fleet could not be launched');
  });
});
