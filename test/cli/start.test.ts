// `benchfleet start` end to end against the real local API stack: fake cdk/terraform/az on PATH,
// AWS SDK calls mocked. The test plays the runners, so the run assembles and start downloads it.
// Also the launch when EC2 will not say which zones offer the types, and a fleet that cannot be
// launched. What stops start before any fleet launches is in start-before-launch.test.ts.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeInstanceTypeOfferingsCommand } from '@aws-sdk/client-ec2';
import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import 'aws-sdk-client-mock-jest';
import { argv, claimAssigned, type FakeCall, type RunAnswer, runCli } from './helpers';
import { OPERATOR, RUNNER, startSetup } from './start-setup';

const setup = startSetup();
const { sq, ec2, api, runStart } = setup;

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
      const claim = await claimAssigned(api, run.run_id, RUNNER, {
        provider,
        instance_type: type,
        runner_id: `r-${type}`,
      });
      expect(claim.status).toBe('assigned');
      const put = await fetch(String(claim.presigned_urls?.result), {
        method: 'PUT',
        body: new Uint8Array(setup.tarball),
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
      setup.configFile,
      '--yes',
      '--json',
      '--ssh-public-key',
      setup.keyFile,
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

  const results = join(setup.box.dir, 'results', String(runId));
  expect(summary.results_dir).toBe(results);
  for (const t of ['c7g.medium-1', 'c7g.medium-2', 'Standard_D2pls_v6-1', 'Standard_D2pls_v6-2']) {
    expect(readFileSync(join(results, t, 'output.txt'), 'utf8')).toBe('fib 1.0\n');
  }
  expect(JSON.parse(readFileSync(join(results, 'manifest.json'), 'utf8')).tasks).toHaveLength(4);
  expect(existsSync(join(results, 'site', 'index.html'))).toBe(true);

  const calls = setup.box.calls().filter((c) => c.args[0] !== '--version');
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
    apiUrl: setup.stack.apiUrl,
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
      `terraform -chdir=terraform-azure workspace select run-${runId}`,
      expect.stringMatching(
        /^terraform -chdir=terraform-azure destroy -input=false -auto-approve -var-file=/,
      ),
    ].sort(),
  );
  // The run's var file held the runner key: gone with its fleet.
  expect(existsSync(join(setup.box.dir, '.benchfleet', `azure-${runId}.tfvars.json`))).toBe(false);
  // terraform's state of each run holds the runner key: every terraform call found its folder private
  const terraform = calls.filter((c) => c.tool === 'terraform');
  expect(terraform.length).toBeGreaterThan(0);
  for (const c of terraform) expect(c.stateDirMode).toBe(0o700);
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
  const deploy = setup.box.calls().find((c) => argv(c).startsWith('cdk deploy BenchfleetFleet'));
  expect(deploy?.fleetPlan?.availabilityZones).toBeUndefined();
  expect(deploy?.fleetPlan?.plan).toEqual([
    expect.not.objectContaining({ availability_zone: expect.anything() }),
  ]);
});

it('tears both fleets down and names the run that started on the deployment while they launched', async () => {
  const party = String(process.env.FAKE_RENDEZVOUS);
  process.env.FAKE_SLOW = 'cdk deploy BenchfleetFleet';
  process.env.FAKE_SLOW_MS = '2000';
  const cli = runStart();
  // the fleet stack's deploy has begun: the preflight's look at the deployment is behind us
  for (let i = 0; i < 400 && !existsSync(join(party, 'cdk')); i++)
    await new Promise((r) => setTimeout(r, 50));
  const other = await api('POST', '/run/start', OPERATOR, {
    ruby_version: '3.4.7',
    runs_per_instance_type: 1,
    local: ['x'],
  });
  try {
    const r = await cli;
    expect(r.code).toBe(1);
    const runId = Number(/Run (\d+): deploying/.exec(r.stderr)?.[1]);
    expect(r.stderr).toContain(
      `run ${runId} was not started, and its fleets are torn down: run ${other.run_id} started on this deployment meanwhile and is running; wait for it (\`benchfleet watch\`) or end it (\`benchfleet stop\`), then start again`,
    );
    const lines = setup.box.calls().map(argv);
    expect(lines).toContainEqual(expect.stringMatching(/^cdk destroy BenchfleetFleet /));
    expect(lines).toContainEqual(expect.stringMatching(/^terraform -chdir=terraform-azure destroy /));
    expect((await api('GET', '/run', OPERATOR)).run_id).toBe(other.run_id);
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
    setup.configFile,
    '--yes',
    '--keep-fleet',
    '--ssh-public-key',
    setup.keyFile,
  ]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('the azure fleet could not be launched; the run was not started');
  const lines = setup.box.calls().map(argv);
  expect(lines).toContainEqual(
    expect.stringMatching(/^cdk destroy BenchfleetFleet -c fleetPlan=.* --force$/),
  );
  expect(lines).toContainEqual(expect.stringMatching(/^terraform -chdir=terraform-azure destroy /));
  expect((await api('GET', '/run', OPERATOR)).run_id).toBe(before.run_id);
});
