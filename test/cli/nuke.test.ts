// `benchfleet nuke`: IaC destroy first, then a tagged sweep in dependency order, then a second
// look. Fake cdk/terraform/az on PATH; the AWS SDK answers from a small tagged inventory.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import 'aws-sdk-client-mock-jest';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeInstancesCommand,
  DescribeNatGatewaysCommand,
  DescribeSecurityGroupsCommand,
} from '@aws-sdk/client-ec2';
import { DeleteObjectsCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { confirm } from '../../cli/lib/preflight';
import { cfn, ec2, install, order, s3, type World, world } from './fake-aws';
import { argv, fakeOutputs, runCli, type Sandbox, sandbox } from './helpers';

let box: Sandbox;
let w: World;
const RUN = 1_700_000_000;

function azureGroups(): Array<{ name: string; properties?: { provisioningState: string } }> {
  return JSON.parse(readFileSync(join(box.dir, 'az.json'), 'utf8')).groups;
}

beforeEach(() => {
  box = sandbox({ FAKE_AZ_STATE: '' });
  process.env.FAKE_AZ_STATE = join(box.dir, 'az.json');
  writeFileSync(
    process.env.FAKE_AZ_STATE,
    JSON.stringify({
      groups: [
        {
          name: `benchfleet-${RUN}`,
          tags: { 'benchfleet:project': 'benchfleet', 'benchfleet:run-id': String(RUN) },
        },
        { name: 'payments-prod', tags: { team: 'payments' } },
        { name: 'another-bench', tags: { 'benchfleet:project': 'another' } },
      ],
    }),
  );
  const state = join(box.dir, '.benchfleet');
  mkdirSync(state);
  writeFileSync(join(state, `fleet-${RUN}.json`), '{}');
  writeFileSync(join(state, `azure-${RUN}.tfvars.json`), '{}');
  w = world();
  install(w);
});
afterEach(() => box.restore());

const VALID_ORDER = [
  'TerminateInstances',
  'DeleteNatGateway',
  'DisassociateAddress',
  'ReleaseAddress',
  'DeleteNetworkInterface',
  'DeleteVolume',
  'DeleteSecurityGroup',
  'DetachInternetGateway',
  'DeleteInternetGateway',
  'DeleteSubnet',
  'DeleteRouteTable',
  'DeleteVpc',
  'DeleteObjects',
  'DeleteBucket',
  'DeleteLogGroup',
  'DeleteLogGroup',
  'DeleteLogGroup',
];

it('destroys the stacks and the Azure run, then sweeps only tagged resources in dependency order', async () => {
  const r = await runCli(['nuke', '--yes']);
  expect(r.stderr).not.toContain('could not');
  expect(r.code).toBe(0);

  const tools = box
    .calls()
    .filter((c) => c.args[0] !== '--version')
    .map(argv);
  expect(tools[0]).toBe(
    `cdk destroy BenchfleetFleet -c fleetPlan=${join(box.dir, '.benchfleet', `fleet-${RUN}.json`)} Benchfleet --force`,
  );
  expect(tools.slice(1, 4)).toEqual([
    'terraform -chdir=terraform-azure init -input=false',
    `terraform -chdir=terraform-azure workspace select run-${RUN}`,
    `terraform -chdir=terraform-azure destroy -input=false -auto-approve -var-file=${join(box.dir, '.benchfleet', `azure-${RUN}.tfvars.json`)}`,
  ]);
  expect(tools).toContain(`az group delete --name benchfleet-${RUN} --yes --no-wait`);
  expect(tools.filter((t) => t.startsWith('az group delete'))).toHaveLength(1);

  expect(order).toEqual([
    'TerminateInstances i-ours',
    'DeleteNatGateway nat-ours',
    'DisassociateAddress eipassoc-1',
    'ReleaseAddress eipalloc-ours',
    'DeleteNetworkInterface eni-ours',
    'DeleteVolume vol-ours',
    'DeleteSecurityGroup sg-ours',
    'DetachInternetGateway igw-ours',
    'DeleteInternetGateway igw-ours',
    'DeleteSubnet subnet-ours',
    'DeleteRouteTable rtb-ours',
    'DeleteVpc vpc-ours',
    'DeleteObjects bf-results',
    'DeleteBucket bf-results',
    'DeleteLogGroup /benchfleet/api',
    'DeleteLogGroup /aws/lambda/BenchfleetFleet-CustomVpcRestrictDefaultSG-GhIjKl',
    'DeleteLogGroup /aws/lambda/Benchfleet-CustomCDKBucketDeployment8693BB-AbCdEf',
  ]);
  expect(order.map((o) => o.split(' ')[0])).toEqual(VALID_ORDER);
  // Nothing untagged, nothing of another project, no default group and no main route table.
  expect(order.join('\n')).not.toMatch(/theirs|another|payments|Staging|sg-default|rtb-main/);
  expect(w.logGroups.map((g) => g.name)).toEqual([
    '/aws/lambda/BenchfleetStaging-api',
    '/aws/lambda/payments-api',
  ]);
  expect(w.instances.find((i) => i.InstanceId === 'i-theirs')?.State.Name).toBe('running');
  // nuke waited for Azure's background delete of the group: it is gone, the others untouched
  expect(azureGroups().map((g) => [g.name, g.properties?.provisioningState])).toEqual([
    ['payments-prod', undefined],
    ['another-bench', undefined],
  ]);
  expect(r.stderr).toContain('waiting for Azure to delete 1 resource group(s)');
  expect(r.stdout).toMatch(/0 resources left\n/);
  expect(existsSync(join(box.dir, '.benchfleet', `azure-${RUN}.tfvars.json`))).toBe(false);
});

it('is safe to run twice: the second run finds nothing and deletes nothing', async () => {
  expect((await runCli(['nuke', '--yes'])).code).toBe(0);
  install(w);
  const before = box.calls().length;
  const again = await runCli(['nuke', '--yes']);
  expect(again.code).toBe(0);
  expect(order).toEqual([]);
  expect(again.stdout).toContain('deleted 0 of 0 tagged resource(s) found');
  expect(again.stdout).toContain('0 resources left');
  const later = box.calls().slice(before).map(argv);
  expect(later.filter((t) => /delete|destroy/.test(t) && !t.startsWith('cdk destroy'))).toEqual([]);
});

it('--dry-run lists what it would delete and changes nothing', async () => {
  const r = await runCli(['nuke', '--dry-run', '--json']);
  expect(r.code).toBe(0);
  expect(order).toEqual([]);
  const tools = box.calls().map(argv);
  expect(tools.filter((t) => /destroy|delete|apply/.test(t))).toEqual([]);
  const report = JSON.parse(r.stdout);
  expect(report.dry_run).toBe(true);
  expect(report.found.map((f: { id: string }) => f.id).sort()).toEqual(
    [
      'i-ours',
      'nat-ours',
      'eipalloc-ours',
      'eni-ours',
      'vol-ours',
      'sg-ours',
      'igw-ours',
      'subnet-ours',
      'rtb-ours',
      'vpc-ours',
      'bf-results',
      '/benchfleet/api',
      '/aws/lambda/Benchfleet-CustomCDKBucketDeployment8693BB-AbCdEf',
      '/aws/lambda/BenchfleetFleet-CustomVpcRestrictDefaultSG-GhIjKl',
      `benchfleet-${RUN}`,
    ].sort(),
  );
  expect(r.stderr).toContain(
    '  would delete aws log-group /aws/lambda/Benchfleet-CustomCDKBucketDeployment8693BB-AbCdEf (untagged,',
  );
  expect(r.stderr).toContain('would run: cdk destroy');
  expect(existsSync(join(box.dir, '.benchfleet', `azure-${RUN}.tfvars.json`))).toBe(true);
});

it('never deletes an untagged resource even when an API ignores the tag filter', async () => {
  install(w, { ignoreFilters: true });
  const r = await runCli(['nuke', '--yes']);
  expect(r.code).toBe(0);
  expect(order.join('\n')).not.toMatch(/theirs|another|payments|Staging/);
  expect(order).toContain('DeleteVpc vpc-ours');
});

it('never deletes a bucket, log group or resource group of another project even when the APIs ignore the tag filter', async () => {
  const another = w.instances.find((i) => i.InstanceId === 'i-another')?.Tags ?? [];
  w.buckets.push({ name: 'another-results', Tags: another, objects: 1 });
  w.logGroups.push({ name: '/another/api', Tags: another });
  install(w, { ignoreFilters: true });
  process.env.FAKE_AZ_IGNORE_FILTER = '1';
  const r = await runCli(['nuke', '--yes']);
  expect(r.code).toBe(0);
  expect(order.join('\n')).not.toMatch(/another/);
  expect(order).toContain('DeleteBucket bf-results');
  const deleted = box
    .calls()
    .map(argv)
    .filter((t) => t.startsWith('az group delete'));
  expect(deleted).toEqual([`az group delete --name benchfleet-${RUN} --yes --no-wait`]);
});

it("sweeps ARM_SUBSCRIPTION_ID's subscription, where terraform put the runs, not az's current one", async () => {
  const groups = azureGroups();
  const other = 'aaaaaaaa-0000-4000-8000-000000000001';
  groups.push({
    name: 'benchfleet-1700000001',
    tags: { 'benchfleet:project': 'benchfleet' },
    subscription: other,
  } as (typeof groups)[number]);
  writeFileSync(join(box.dir, 'az.json'), JSON.stringify({ groups }));
  process.env.ARM_SUBSCRIPTION_ID = other;
  const r = await runCli(['nuke', '--yes']);
  expect(r.code).toBe(0);
  const az = box
    .calls()
    .map(argv)
    .filter((t) => t.startsWith('az group'));
  expect(az).toContain(
    `az group list --tag benchfleet:project=benchfleet --subscription ${other} --output json`,
  );
  expect(az.filter((t) => t.startsWith('az group delete'))).toEqual([
    `az group delete --name benchfleet-1700000001 --subscription ${other} --yes --no-wait`,
  ]);
  expect(r.stdout + r.stderr).toContain(
    `the Azure sweep looked in subscription ${other} (ARM_SUBSCRIPTION_ID)`,
  );
});

it('terminates instances and NAT gateways in any state but gone: pending, stopped', async () => {
  const ours = w.instances[0]?.Tags ?? [];
  w.instances.push(
    { InstanceId: 'i-pending', State: { Name: 'pending' }, Tags: ours },
    { InstanceId: 'i-stopped', State: { Name: 'stopped' }, Tags: ours },
    { InstanceId: 'i-gone', State: { Name: 'terminated' }, Tags: ours },
  );
  w.nats.push({ NatGatewayId: 'nat-pending', State: 'pending', Tags: ours });
  install(w);
  const r = await runCli(['nuke', '--yes']);
  expect(r.code).toBe(0);
  for (const id of ['i-ours', 'i-pending', 'i-stopped']) expect(order).toContain(`TerminateInstances ${id}`);
  expect(order).not.toContain('TerminateInstances i-gone');
  expect(order).toContain('DeleteNatGateway nat-pending');
});

it('leaves what the provider is already deleting alone, and does not count it as left', async () => {
  const ours = w.instances[0]?.Tags ?? [];
  w.stacks = [{ StackName: 'Benchfleet', StackStatus: 'DELETE_IN_PROGRESS' }];
  w.volumes.push({ VolumeId: 'vol-going', State: 'deleting', Tags: ours });
  install(w);
  const r = await runCli(['nuke', '--yes']);
  expect(r.code).toBe(0);
  expect(order.join('\n')).not.toMatch(/DeleteStack|vol-going/);
  // the volume EC2 is deleting (the Azure group nuke deleted itself is waited for, and gone)
  expect(r.stdout).toMatch(/0 resources left \(1 still being deleted by the provider\)/);
});

it('goes on with the other steps when one cannot list, prepare or wait', async () => {
  const boom = (what: string) => Object.assign(new Error(`${what} went wrong`), { name: 'InternalError' });
  install(w);
  ec2.on(DescribeNatGatewaysCommand).rejects(boom('listing NAT gateways'));
  ec2.on(DescribeSecurityGroupsCommand, { GroupIds: ['sg-ours'] }).rejects(boom('reading the groups'));
  ec2.on(DescribeInstancesCommand, { InstanceIds: ['i-ours'] }).rejects(boom('waiting'));
  const r = await runCli(['nuke', '--yes']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('could not list aws nat-gateway');
  for (const done of [
    'DeleteSecurityGroup sg-ours',
    'DeleteVpc vpc-ours',
    'DeleteBucket bf-results',
    'DeleteLogGroup /benchfleet/api',
  ])
    expect(order).toContain(done);
  expect(azureGroups().map((g) => g.name)).not.toContain(`benchfleet-${RUN}`);
});

it("exits 1 naming an Azure group whose delete failed in Azure's background", async () => {
  install(w);
  process.env.FAKE_AZ_DELETE_MS = '3000';
  process.env.FAKE_AZ_DELETE_FAILS = '1';
  try {
    const r = await runCli(['nuke', '--yes']);
    expect(r.code).toBe(1);
    // a wait of minutes in Azure says, now and then, that it goes on (here every 12 polls of 50 ms)
    expect(r.stderr).toMatch(
      /still waiting for Azure to delete 1 resource group\(s\) \(it takes minutes\) \(\d+ s so far\)/,
    );
    // `az group delete --no-wait` succeeded; the group came back from Deleting while nuke waited
    expect(r.stdout).toMatch(/1 resource\(s\) left:\n {2}azure resource-group benchfleet-\d+ \(Succeeded\)/);
    expect(r.stdout).toContain('run `benchfleet nuke` again in a few minutes, or delete them by hand');
  } finally {
    delete process.env.FAKE_AZ_DELETE_MS;
    delete process.env.FAKE_AZ_DELETE_FAILS;
  }
});

it('empties a bucket of more than one page of versions before deleting it', async () => {
  const bucket = w.buckets.find((b) => b.name === 'bf-results');
  if (bucket) bucket.objects = 2500;
  install(w);
  // as S3 does: at most 1000 versions a page, from the markers on
  const gone = new Set<string>();
  s3.on(ListObjectVersionsCommand).callsFake((i: { KeyMarker?: string }) => {
    const from = i.KeyMarker ? Number(i.KeyMarker.slice(1)) + 1 : 0;
    const to = Math.min(from + 1000, 2500);
    const keys = Array.from({ length: to - from }, (_, n) => `k${from + n}`).filter((k) => !gone.has(k));
    return {
      Versions: keys.map((k) => ({ Key: k, VersionId: `v-${k}` })),
      IsTruncated: to < 2500,
      ...(to < 2500 && { NextKeyMarker: `k${to - 1}`, NextVersionIdMarker: `v-k${to - 1}` }),
    };
  });
  s3.on(DeleteObjectsCommand).callsFake((i: { Delete?: { Objects?: Array<{ Key?: string }> } }) => {
    for (const o of i.Delete?.Objects ?? []) gone.add(String(o.Key));
    if (bucket && gone.size === 2500) bucket.objects = 0;
    return {};
  });
  const r = await runCli(['nuke', '--yes']);
  expect(r.code).toBe(0);
  expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(3);
  expect(order).toContain('DeleteBucket bf-results');
});

it('deletes Benchfleet stacks that cdk destroy could not remove', async () => {
  process.env.FAKE_FAIL = 'cdk destroy';
  w.stacks = [
    { StackName: 'BenchfleetFleet', StackStatus: 'DELETE_FAILED' },
    { StackName: 'Benchfleet', StackStatus: 'UPDATE_COMPLETE' },
  ];
  install(w);
  const r = await runCli(['nuke', '--yes']);
  expect(r.stderr).toContain('cdk destroy failed');
  expect(r.code).toBe(0);
  expect(order.slice(0, 3)).toEqual([
    'DeleteStack BenchfleetFleet',
    'DeleteStack Benchfleet',
    'TerminateInstances i-ours',
  ]);
});

it('reports survivors and exits 1 when something cannot be deleted', async () => {
  install(w, { failVpc: true });
  const r = await runCli(['nuke', '--yes']);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('1 resource(s) left:');
  expect(r.stdout).toContain('aws vpc vpc-ours');
  expect(r.stderr).toContain('1 resource(s) are left');
});

it('exits 1 and keeps the record when a recorded Azure fleet could be neither destroyed nor swept (no az)', async () => {
  // no az anywhere on PATH: only the fake cdk and terraform (they start node by its full path)
  rmSync(join(box.bin, 'az'));
  process.env.PATH = box.bin;
  const r = await runCli(['nuke', '--yes']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(
    `the Azure fleet(s) of run(s) ${RUN} may still be up and billing: without the Azure CLI nuke could neither destroy nor sweep them; install it, \`az login\`, and run nuke again`,
  );
  expect(r.stdout).toContain(
    `note: the Azure fleet of run ${RUN} (recorded in ${join(box.dir, '.benchfleet')}) was not destroyed or swept without az`,
  );
  // the record stays, for the nuke that can
  expect(existsSync(join(box.dir, '.benchfleet', `azure-${RUN}.tfvars.json`))).toBe(true);
  // AWS was done all the same
  expect(order).toContain('DeleteVpc vpc-ours');
});

it("keeps the record of a fleet in another region, which this region's cdk destroy cannot remove", async () => {
  const OTHER = RUN + 5;
  const arn = 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:runner';
  writeFileSync(
    join(box.dir, '.benchfleet', `fleet-${OTHER}.json`),
    JSON.stringify({ runnerKeySecretArn: arn }),
  );
  const r = await runCli(['nuke', '--yes']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(
    `note: run ${OTHER}'s AWS fleet is in eu-west-1, not us-east-1: its record is kept; \`AWS_REGION=eu-west-1 benchfleet nuke\` removes it there`,
  );
  expect(existsSync(join(box.dir, '.benchfleet', `fleet-${OTHER}.json`))).toBe(true);
  // this region's fleet was destroyed with its own plan (not the newer one of eu-west-1), and its record went
  expect(box.calls().map(argv)).toContain(
    `cdk destroy BenchfleetFleet -c fleetPlan=${join(box.dir, '.benchfleet', `fleet-${RUN}.json`)} Benchfleet --force`,
  );
  expect(existsSync(join(box.dir, '.benchfleet', `fleet-${RUN}.json`))).toBe(false);
});

it('exits 1 when Azure could not be looked at (no az), unless --no-azure says there is none', async () => {
  rmSync(join(box.bin, 'az'));
  process.env.PATH = box.bin;
  rmSync(join(box.dir, '.benchfleet', `azure-${RUN}.tfvars.json`)); // no Azure run recorded here
  const r = await runCli(['nuke', '--yes']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(
    'Azure was not checked, as the Azure CLI (az) was not found: install it, `az login`, and run nuke again, or pass --no-azure if this account never ran Azure fleets',
  );
  const aws = await runCli(['nuke', '--yes', '--no-azure']);
  expect(aws.code).toBe(0);
});

it('asks before deleting and refuses without a terminal', async () => {
  // Run from a terminal, jest may hand this process a TTY stdin: make sure nothing waits for it.
  const tty = Object.getOwnPropertyDescriptor(process.stdin, 'isTTY');
  Object.defineProperty(process.stdin, 'isTTY', { value: false, configurable: true });
  const r = await runCli(['nuke']).finally(() => {
    if (tty) Object.defineProperty(process.stdin, 'isTTY', tty);
    else delete (process.stdin as { isTTY?: boolean }).isTTY;
  });
  expect(r.code).toBe(1);
  // nuke deletes: it does not launch anything
  expect(r.stderr).toContain(
    'benchfleet nuke: no terminal to ask for confirmation: pass --yes to delete without asking',
  );
  expect(r.stderr).not.toContain('launch');
  expect(order).toEqual([]);
  expect(box.calls().filter((c) => c.args[0] !== '--version')).toEqual([]);
});

it("the confirmation's refusal says what --yes would do, as its caller names it", async () => {
  const tty = Object.getOwnPropertyDescriptor(process.stdin, 'isTTY');
  Object.defineProperty(process.stdin, 'isTTY', { value: false, configurable: true });
  try {
    await expect(confirm('Launch run 1?', 'launch')).rejects.toThrow(
      'no terminal to ask for confirmation: pass --yes to launch without asking',
    );
  } finally {
    if (tty) Object.defineProperty(process.stdin, 'isTTY', tty);
    else delete (process.stdin as { isTTY?: boolean }).isTTY;
  }
});

describe('no AWS credentials at all', () => {
  const none = (): Error =>
    Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
  const NONE =
    'no AWS credentials were found (looked in AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ~/.aws): sign in with `aws sso login` (or `aws configure`), or set AWS_PROFILE or AWS_ACCESS_KEY_ID, and try again.';

  beforeEach(() => {
    delete process.env.AWS_PROFILE;
    cfn.on(DescribeStacksCommand).rejects(none());
    ec2.on(DescribeInstancesCommand).rejects(none());
  });

  it('--dry-run says once that none were found (not that AWS refused them), and what to run', async () => {
    const r = await runCli(['nuke', '--dry-run', '--no-azure']);
    expect(r.code).toBe(1);
    const all = r.stdout + r.stderr;
    expect(all).not.toContain('refused');
    expect(all.match(/no AWS credentials were found/g)).toHaveLength(1);
    expect(r.stdout).toContain(`  not checked: could not list aws stack: ${NONE}\n`);
  });

  it('--dry-run --json: in skipped, and said on stderr too, where no summary says it', async () => {
    const r = await runCli(['nuke', '--dry-run', '--no-azure', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).skipped).toEqual([`could not list aws stack: ${NONE}`]);
    expect(r.stderr.match(/no AWS credentials were found/g)).toHaveLength(1);
  });

  it('with AWS_PROFILE set: names the profile, and how to sign in with it', async () => {
    process.env.AWS_PROFILE = 'bench';
    const r = await runCli(['nuke', '--dry-run', '--no-azure']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'could not list aws stack: no AWS credentials were found for the profile bench (AWS_PROFILE): check that ~/.aws/config has it, then sign in with `aws sso login --profile bench` (or `aws configure --profile bench`), and try again.',
    );
  });
});

it('says once that AWS refused the credentials and still sweeps Azure', async () => {
  const expired = Object.assign(new Error('The security token included in the request is expired'), {
    name: 'ExpiredToken',
  });
  cfn.on(DescribeStacksCommand).rejects(expired);
  ec2.on(DescribeInstancesCommand).rejects(expired);
  const r = await runCli(['nuke', '--yes', '--json']);
  expect(r.code).toBe(1);
  const report = JSON.parse(r.stdout);
  expect(report.skipped).toEqual([
    expect.stringContaining('could not list aws stack: AWS refused the credentials (ExpiredToken'),
  ]);
  expect(report.deleted).toEqual([expect.objectContaining({ provider: 'azure', id: `benchfleet-${RUN}` })]);
});

it('names a run in progress and the archives it would delete, before it asks', async () => {
  const api = createServer((req, res) => {
    res.writeHead(req.url === '/run' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ run_id: 1_800_000_000, status: 'running' }));
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  writeFileSync(join(box.dir, '.benchfleet', 'outputs.json'), JSON.stringify(fakeOutputs(url)));
  const tty = Object.getOwnPropertyDescriptor(process.stdin, 'isTTY');
  Object.defineProperty(process.stdin, 'isTTY', { value: false, configurable: true });
  const r = await runCli(['nuke']).finally(() => {
    api.close();
    if (tty) Object.defineProperty(process.stdin, 'isTTY', tty);
    else delete (process.stdin as { isTTY?: boolean }).isTTY;
  });
  expect(r.stderr).toContain(
    'warning: run 1800000000 is still running on this deployment: nuke ends it, with its fleets, and its results are lost (`benchfleet stop 1800000000`, then `benchfleet download 1800000000` once it has ended, keeps what completed)',
  );
  expect(r.stderr).toContain(
    "warning: the results bucket results-bucket is deleted with every run's archive in it: `benchfleet download RUN_ID` first what you want to keep",
  );
  expect(r.stderr.indexOf('warning: run')).toBeLessThan(r.stderr.indexOf('pass --yes'));
  expect(r.code).toBe(1);
  expect(order).toEqual([]);
});

describe('a run whose terraform state is not in this checkout (another clone, a `git clean`)', () => {
  beforeEach(() => {
    process.env.FAKE_FAIL = `terraform -chdir=terraform-azure workspace select run-${RUN}`;
    process.env.FAKE_FAIL_MESSAGE = `Workspace "run-${RUN}" doesn't exist.`;
  });

  it('is not taken for destroyed while its resource group is up: the sweep deletes the group', async () => {
    const r = await runCli(['nuke', '--yes']);
    const tools = box.calls().map(argv);
    expect(tools.filter((t) => / destroy /.test(t) && t.startsWith('terraform'))).toEqual([]);
    expect(r.stderr).toContain(
      `terraform destroy of run ${RUN} failed (run ${RUN}'s terraform state (workspace run-${RUN}) is not in this checkout's terraform-azure/, and its resource group benchfleet-${RUN} may still be up`,
    );
    expect(tools).toContain(`az group delete --name benchfleet-${RUN} --yes --no-wait`);
    // kept: it names the run, and holds what a later destroy from the right folder needs
    expect(existsSync(join(box.dir, '.benchfleet', `azure-${RUN}.tfvars.json`))).toBe(true);
    expect(r.code).toBe(0);
  });

  it('with no resource group either, there is nothing to destroy and its var file goes', async () => {
    writeFileSync(String(process.env.FAKE_AZ_STATE), JSON.stringify({ groups: [] }));
    const r = await runCli(['nuke', '--yes']);
    expect(r.stderr).toContain(
      `[azure] run ${RUN} has no terraform state here and no resource group benchfleet-${RUN}: nothing to destroy`,
    );
    expect(r.stderr).not.toContain(`terraform destroy of run ${RUN} failed`);
    expect(existsSync(join(box.dir, '.benchfleet', `azure-${RUN}.tfvars.json`))).toBe(false);
    expect(r.code).toBe(0);
  });
});

it('waits for a stack still being deployed before deleting it, saying so, rather than be refused', async () => {
  process.env.FAKE_FAIL = 'cdk destroy'; // the sweep deletes the stacks itself
  w.stacks = [
    {
      StackName: 'BenchfleetFleet',
      StackStatus: 'UPDATE_IN_PROGRESS',
      busyFor: 6,
      settlesTo: 'UPDATE_COMPLETE',
    },
    { StackName: 'Benchfleet', StackStatus: 'UPDATE_COMPLETE' },
  ];
  install(w);
  const r = await runCli(['nuke', '--yes']);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(
    'the stack BenchfleetFleet is UPDATE_IN_PROGRESS (a deploy still going on in AWS, or an interrupted one); CloudFormation deletes no stack in that state, so the destroy waits for it to end',
  );
  expect(order.slice(0, 2)).toEqual(['DeleteStack BenchfleetFleet', 'DeleteStack Benchfleet']);
  expect(w.stacks).toEqual([]);
});
