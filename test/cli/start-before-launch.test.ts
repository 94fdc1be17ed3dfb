// What stops `benchfleet start` before any fleet launches, against the real local API stack with
// fake cdk/terraform/az on PATH and AWS SDK calls mocked: a short vCPU quota, an AWS type no zone
// offers, a bad --ssh-cidr, a missing tool, no Azure subscription, a run already in progress, a
// blank --results-dir, and an API key given by --api-key or BENCHFLEET_API_KEY checked against the
// deployment's. The run itself is in start.test.ts.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeStacksCommand, type StackStatus } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import { PROJECT_ROOT } from '../../cli/lib/exec';
import { installZones } from './fake-zones';
import { argv, fakeOutputs, type RunAnswer, stackGone } from './helpers';
import { OPERATOR, RUNNER, startSetup } from './start-setup';

const setup = startSetup();
const { sm, sq, ec2, api, runStart } = setup;

/** Another run on the deployment, of one local task (nothing claims it), with `extra` over it. */
const startLocalRun = (extra: Record<string, unknown> = {}): Promise<RunAnswer> =>
  api('POST', '/run/start', OPERATOR, {
    ruby_version: '3.4.7',
    runs_per_instance_type: 1,
    local: ['x'],
    ...extra,
  });

it('stops before launching anything when a vCPU quota is short', async () => {
  sq.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 1 } });
  const r = await runStart();
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('SHORT aws Running On-Demand Standard');
  expect(r.stderr).toContain('not enough vCPU quota, nothing was launched');
  expect(setup.box.calls().filter((c) => c.tool === 'cdk' || c.args.includes('apply'))).toEqual([]);
});

it('names the Azure fleets of earlier runs still recorded here, which bill beside the new one', async () => {
  const state = join(setup.box.dir, '.benchfleet');
  mkdirSync(state, { recursive: true });
  for (const id of [1_700_000_100, 1_700_000_200])
    writeFileSync(join(state, `azure-${id}.tfvars.json`), '{}');
  sq.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 1 } }); // stop right after the preflight
  const r = await runStart();
  expect(r.stderr).toContain(
    `note: the Azure fleets of runs 1700000100, 1700000200 may still be up and billing (recorded in ${state}): \`benchfleet teardown 1700000100\`, \`benchfleet teardown 1700000200\` remove them (bare \`benchfleet teardown\` leaves a run the API has not seen, whose start may still be launching it)`,
  );
  expect(r.code).toBe(1);
});

it("names the Azure fleets this checkout's terraform state holds that no record here names", async () => {
  const held = 1_999_999_002;
  const state = join(PROJECT_ROOT, 'terraform-azure', 'terraform.tfstate.d', `run-${held}`);
  mkdirSync(state, { recursive: true });
  try {
    writeFileSync(join(state, 'terraform.tfstate'), JSON.stringify({ resources: [{}] }));
    sq.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 1 } }); // stop right after the preflight
    const r = await runStart();
    expect(r.code).toBe(1);
    // other tests may hold states of their own at the same time: this one's id is among those named
    const note = r.stderr.split('\n').find((l) => l.includes('still holds the Azure fleet'));
    expect(note).toMatch(
      /^ {2}note: this checkout's terraform-azure\/ still holds the Azure fleets? of runs? [\d, ]+, which .* has no record of: they may be up and billing; `benchfleet teardown` in the folder that started them removes them$/,
    );
    expect(note).toContain(String(held));
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

it('names an AWS type no zone of the region offers, and launches nothing', async () => {
  installZones(ec2, { 'us-east-1a': ['c7a.large'], 'us-east-1b': ['m7g.large'] });
  const r = await runStart();
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('not offered in any availability zone of us-east-1: aws:c7g.medium.');
  expect(setup.box.calls().filter((c) => c.tool === 'cdk' || c.args.includes('apply'))).toEqual([]);
});

it('refuses an --ssh-cidr that is not a range before launching anything', async () => {
  const r = await runStart('--ssh-cidr', '203.0.113.7');
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('--ssh-cidr 203.0.113.7 is not a CIDR range');
  expect(setup.box.calls().filter((c) => c.tool === 'cdk' || c.tool === 'terraform')).toEqual([]);
});

it('says which tool is missing before launching anything', async () => {
  process.env.BENCHFLEET_TERRAFORM = 'terraform-not-installed-here';
  const r = await runStart();
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('terraform was not found');
  expect(setup.box.calls().filter((c) => c.tool === 'cdk')).toEqual([]);
});

it('stops before deploying when az has no subscription for the Azure fleet', async () => {
  delete process.env.ARM_SUBSCRIPTION_ID;
  process.env.FAKE_AZ_LOGGED_OUT = '1';
  const r = await runStart();
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/needs an Azure subscription id.*run `az login`.*or set ARM_SUBSCRIPTION_ID/);
  // only the probe that terraform is installed ran
  const launched = setup.box
    .calls()
    .filter((c) => c.tool === 'cdk' || (c.tool === 'terraform' && c.args[0] !== '--version'));
  expect(launched).toEqual([]);
});

it('refuses to launch while another run is in progress on the deployment', async () => {
  const outputs = JSON.parse(String(process.env.FAKE_CDK_OUTPUTS));
  mkdirSync(join(setup.box.dir, '.benchfleet'), { recursive: true });
  writeFileSync(join(setup.box.dir, '.benchfleet', 'outputs.json'), JSON.stringify(outputs));
  const started = await startLocalRun();
  try {
    const r = await runStart();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`run ${started.run_id} is still running`);
    expect(setup.box.calls().filter((c) => c.tool === 'cdk' || c.args[0] === 'vm')).toEqual([]);
  } finally {
    await api('POST', '/run/stop', OPERATOR, {});
  }
});

/** No fleet stack, no Azure apply: only `cdk deploy Benchfleet` ran (to learn the API), or nothing. */
function expectOnlyTheMetaStackDeployed(): void {
  const launched = setup.box
    .calls()
    .filter((c) => (c.tool === 'terraform' || c.tool === 'cdk') && c.args[0] !== '--version')
    .map(argv);
  expect(launched).toEqual([expect.stringMatching(/^cdk deploy Benchfleet --require-approval never/)]);
}

/** The fleet stack as CloudFormation describes it: in `status`, tagged with run `runId`. */
function fleetStackAs(status: StackStatus, runId: number): void {
  setup.cfn.on(DescribeStacksCommand, { StackName: 'BenchfleetFleet' }).resolves({
    Stacks: [
      {
        StackName: 'BenchfleetFleet',
        StackStatus: status,
        CreationTime: new Date(),
        Tags: [{ Key: 'benchfleet:run-id', Value: String(runId) }],
      },
    ],
  });
}

/** Waits until the deployment's latest run (a stopped one assembles for a moment) has ended. */
async function lastRunEnded(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const run: RunAnswer = await api('GET', '/run', OPERATOR).catch(() => ({}));
    if (run.status !== 'running' && run.status !== 'assembling') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the last run did not end');
}

it('refuses to launch, once the meta stack is deployed, while a run is in progress on a deployment this folder has no record of', async () => {
  await lastRunEnded();
  // no .benchfleet/outputs.json: another machine, or a teammate's clone, of the same deployment
  const started = await startLocalRun();
  try {
    const r = await runStart();
    expect(r.stderr).toContain(`run ${started.run_id} is still running`);
    expect(r.stderr).toContain('Nothing was launched');
    expect(r.code).toBe(1);
    // the meta stack (idempotent) was deployed to learn the API; no fleet stack, which would have
    // replaced the running run's VMs, and no Azure fleet
    expectOnlyTheMetaStackDeployed();
    expect(await api('GET', '/run', OPERATOR)).toMatchObject({ run_id: started.run_id, status: 'running' });
  } finally {
    await api('POST', '/run/stop', OPERATOR, {});
  }
});

it('launches nothing when the deployed API will not say whether a run is in progress', async () => {
  // an API that answers every request with a 503, as one can while it is being replaced
  const { createServer } = await import('node:http');
  let asked = 0;
  const broken = createServer((_req, res) => {
    asked++;
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end('{"message":"Service Unavailable"}');
  });
  await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
  const { port } = broken.address() as import('node:net').AddressInfo;
  process.env.FAKE_CDK_OUTPUTS = JSON.stringify(fakeOutputs(`http://127.0.0.1:${port}`));
  try {
    const r = await runStart();
    expect(r.stderr).toMatch(
      /could not tell whether a run is in progress on this deployment \(.*503.*\), so no fleet was launched/,
    );
    expect(r.code).toBe(1);
    expect(asked).toBe(5); // tried again before giving up
    expectOnlyTheMetaStackDeployed();
  } finally {
    broken.close();
  }
});

/** Not even the meta stack: its deploy would swap the API and runner.js under another start's VMs. */
function expectNothingDeployed(): void {
  const deployed = setup.box
    .calls()
    .filter((c) => (c.tool === 'cdk' || c.tool === 'terraform') && c.args[0] !== '--version');
  expect(deployed.map(argv)).toEqual([]);
}

/** This folder's record of the deployment: the local API, which answers GET /run. */
function recordTheDeployment(): void {
  mkdirSync(join(setup.box.dir, '.benchfleet'), { recursive: true });
  writeFileSync(join(setup.box.dir, '.benchfleet', 'outputs.json'), String(process.env.FAKE_CDK_OUTPUTS));
}

it('deploys nothing while another start deploys the fleet stack: its run has not started, so the API cannot tell', async () => {
  // no record and no meta stack in CloudFormation: a stack at work is reason enough all the same
  fleetStackAs('UPDATE_IN_PROGRESS', 1_800_000_000);
  const r = await runStart();
  expect(r.stderr).toMatch(
    /the fleet stack BenchfleetFleet is UPDATE_IN_PROGRESS with run 1800000000's fleet: another start or teardown is at work on this deployment, so run \d+ deployed nothing and launched nothing/,
  );
  expect(r.code).toBe(1);
  expectNothingDeployed();
});

it('deploys nothing over the fleet of a run the API has not seen: another start is launching it', async () => {
  await lastRunEnded();
  recordTheDeployment(); // a teammate's checkout of the same deployment, whose API answers
  fleetStackAs('UPDATE_COMPLETE', 2_000_000_000);
  const r = await runStart();
  expect(r.stderr).toMatch(
    /the fleet stack BenchfleetFleet holds run 2000000000's fleet, and that run has not started: another start is launching it, so run \d+ deployed nothing and launched nothing\..*`benchfleet teardown 2000000000` from the folder that launched it, or `benchfleet nuke`, removes it/,
  );
  expect(r.code).toBe(1);
  expectNothingDeployed();
});

it('deploys nothing over the fleet of a run the API has not seen, even on its first run', async () => {
  // the deployment's API has no run yet: its 404 that says so counts as no run, not as unknown
  const { createServer } = await import('node:http');
  const fresh = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"not_found","message":"no run has been started yet: POST /run/start creates one"}');
  });
  await new Promise<void>((r) => fresh.listen(0, '127.0.0.1', r));
  const { port } = fresh.address() as import('node:net').AddressInfo;
  try {
    process.env.FAKE_CDK_OUTPUTS = JSON.stringify(fakeOutputs(`http://127.0.0.1:${port}`));
    recordTheDeployment();
    fleetStackAs('CREATE_COMPLETE', 2_000_000_000);
    const r = await runStart();
    expect(r.stderr).toContain('another start is launching it, so run');
    expect(r.code).toBe(1);
    expectNothingDeployed();
  } finally {
    fresh.close();
  }
});

it('looks again once the meta stack is deployed: another start may have begun its launch meanwhile', async () => {
  await lastRunEnded();
  recordTheDeployment();
  setup.cfn
    .on(DescribeStacksCommand, { StackName: 'BenchfleetFleet' })
    .rejectsOnce(stackGone()) // before the deploy: free
    .resolves({
      Stacks: [
        {
          StackName: 'BenchfleetFleet',
          StackStatus: 'CREATE_IN_PROGRESS',
          CreationTime: new Date(),
          Tags: [{ Key: 'benchfleet:run-id', Value: '2000000000' }],
        },
      ],
    });
  const r = await runStart();
  expect(r.stderr).toMatch(
    /the fleet stack BenchfleetFleet is CREATE_IN_PROGRESS with run 2000000000's fleet: another start or teardown is at work on this deployment, so run \d+ launched nothing\./,
  );
  expect(r.code).toBe(1);
  expectOnlyTheMetaStackDeployed();
});

it("deploys the meta stack, and looks again after, when no API answered to tell whether a settled fleet's run has started", async () => {
  // no record and no meta stack in CloudFormation: the run may be one that ended (a kept fleet)
  fleetStackAs('UPDATE_COMPLETE', 2_000_000_000);
  const r = await runStart();
  expect(r.stderr).toMatch(
    /the fleet stack BenchfleetFleet holds run 2000000000's fleet, and that run has not started: another start is launching it, so run \d+ launched nothing\./,
  );
  expect(r.code).toBe(1);
  expectOnlyTheMetaStackDeployed();
});

it("asks CloudFormation for the deployment's API when this folder has no record, and deploys nothing under a run at work", async () => {
  await lastRunEnded();
  setup.cfn.on(DescribeStacksCommand, { StackName: 'Benchfleet' }).resolves({
    Stacks: [
      {
        StackName: 'Benchfleet',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [{ OutputKey: 'ApiUrl', OutputValue: setup.stack.apiUrl }],
      },
    ],
  });
  const started = await startLocalRun();
  try {
    const r = await runStart();
    expect(r.stderr).toContain(`run ${started.run_id} is still running`);
    expect(r.code).toBe(1);
    // not even the meta stack: this checkout's Lambdas would have replaced the running run's
    const deployed = setup.box
      .calls()
      .filter((c) => (c.tool === 'cdk' || c.tool === 'terraform') && c.args[0] !== '--version');
    expect(deployed.map(argv)).toEqual([]);
  } finally {
    await api('POST', '/run/stop', OPERATOR, {});
  }
});

it("asks this region's CloudFormation, not a record of another region's deployment, and says that record is replaced", async () => {
  await lastRunEnded();
  const state = join(setup.box.dir, '.benchfleet');
  mkdirSync(state, { recursive: true });
  const eu = 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:operator';
  writeFileSync(join(state, 'outputs.json'), JSON.stringify(fakeOutputs('http://127.0.0.1:9', eu)));
  const started = await startLocalRun(); // at work on this region's deployment: start stops once deployed
  try {
    const r = await runStart();
    expect(r.code).toBe(1);
    const asked = setup.cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input.StackName);
    expect(asked).toContain('Benchfleet');
    expect(r.stderr).toContain(
      `note: ${join(state, 'outputs.json')} recorded the deployment in eu-west-1; it now records the one in us-east-1. The eu-west-1 stacks stay up: \`AWS_REGION=eu-west-1 benchfleet nuke\` removes them, with their results bucket`,
    );
    expect(r.stderr).toContain(`run ${started.run_id} is still running`);
  } finally {
    await api('POST', '/run/stop', OPERATOR, {});
  }
});

it('takes the next free run id when this folder has no record of the deployment and its latest id is ahead', async () => {
  // an earlier run whose config set a run id ahead of the clock
  const ahead = Math.floor(Date.now() / 1000) + 100_000;
  await lastRunEnded();
  await startLocalRun({ run_id: ahead });
  await api('POST', '/run/stop', OPERATOR, {});
  await lastRunEnded();
  const stopNext = (async () => {
    for (let i = 0; i < 600; i++) {
      // the stored status: GET /run says running while the start still writes the tasks, and a
      // stop then ends the start itself in a 409 (a case of its own, not this test's)
      const run = await setup.stack.deps.store.getRun(ahead + 1);
      if (run?.status === 'running') return api('POST', '/run/stop', OPERATOR, {});
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`run ${ahead + 1} never started`);
  })();
  const [r] = await Promise.all([runStart(), stopNext]);
  expect(r.stderr).toContain(`run ids up to ${ahead} are taken on this deployment: this run is ${ahead + 1}`);
  expect(r.stderr).not.toContain('must be greater than every earlier run');
  expect(r.stderr).toContain(`Run ${ahead + 1} ended cancelled`);
  const fleet = setup.box
    .calls()
    .map(argv)
    .find((l) => l.startsWith('cdk deploy BenchfleetFleet'));
  expect(fleet).toContain(`fleet-${ahead + 1}.json`);
});

it('refuses a blank --results-dir before anything is deployed or launched', async () => {
  const r = await runStart('--results-dir', ' ');
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('--results-dir must be a non-blank folder');
  expect(setup.box.calls()).toEqual([]);
});

describe('a key given by --api-key or BENCHFLEET_API_KEY, checked before the fleets launch', () => {
  const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:operator';
  const launched = (): string[] =>
    setup.box
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
    expect(setup.box.calls().map(argv)).toContainEqual(expect.stringMatching(/^cdk destroy BenchfleetFleet/));
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
