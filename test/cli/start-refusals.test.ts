// What stops `benchfleet start` before anything is deployed: an SSH "public key" file that is not
// one (a private key above all: it would go into the tfvars and to Azure), a preflight that cannot
// reach AWS (no region, refused credentials), and az missing for the Azure quota check. Fake
// cdk/terraform/az on PATH; the AWS SDK mocked, so nothing here reaches AWS even if it went on.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeAvailabilityZonesCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { mockClient } from 'aws-sdk-client-mock';
import { hubImage } from '../../cli/lib/image-check';
import { placeAwsFleet } from '../../cli/lib/placement';
import { tryQuota } from '../../cli/lib/preflight';
import { isSshPublicKey, SSH_PUBLIC_KEY_TYPES } from '../../cli/lib/ssh-key';
import { planFleet } from '../../lambdas/shared/fleet-plan';
import { FakeRegistry } from '../helpers/fake-registry';
import { installZones } from './fake-zones';
import { runCli, type Sandbox, sandbox, stackGone, startFiles } from './helpers';

const sm = mockClient(SecretsManagerClient);
const sq = mockClient(ServiceQuotasClient);
const ec2 = mockClient(EC2Client);
const cfn = mockClient(CloudFormationClient);

let box: Sandbox;
let dir: string;
let keyFile: string;
let both: string;
let awsOnly: string;

const usage = JSON.stringify([
  { currentValue: 0, limit: 100, name: { value: 'cores' } },
  { currentValue: 0, limit: 20, name: { value: 'standardDPLSv6Family' } },
  { currentValue: 0, limit: 10, name: { value: 'standardBSFamily' } },
]);

beforeAll(() => {
  ({ dir, keyFile } = startFiles('bf-refusals-'));
  both = join(dir, 'both.json');
  writeFileSync(
    both,
    '{ "ruby_version": "3.4.7", "runs_per_instance_type": 1, "aws": ["c7g.medium"], "azure": ["Standard_D2pls_v6"] }\n',
  );
  awsOnly = join(dir, 'aws.json');
  writeFileSync(awsOnly, '{ "ruby_version": "3.4.7", "runs_per_instance_type": 1, "aws": ["c7g.medium"] }\n');
});

beforeEach(() => {
  box = sandbox({ FAKE_AZ_USAGE: usage, ARM_SUBSCRIPTION_ID: '00000000-0000-4000-8000-00000000beef' });
  for (const m of [sm, sq, ec2, cfn]) m.reset();
  cfn.on(DescribeStacksCommand).rejects(stackGone()); // nothing deployed in this account yet
  sm.on(GetSecretValueCommand).resolves({ SecretString: 'key' });
  sq.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 32 } });
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  installZones(ec2, { 'us-east-1a': ['c7g.medium'] });
});
afterEach(() => box.restore());

const start = (config: string, key: string) =>
  runCli(['start', '--config', config, '--yes', '--ssh-public-key', key]);
/** Anything deployed or launched (the `--version` probes and `az account show` aside). */
const launched = () =>
  box.calls().filter((c) => c.tool === 'cdk' || (c.tool === 'terraform' && c.args[0] !== '--version'));

function keyAt(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

// A made-up body: what matters is that none of it is ever printed.
const SECRET = 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQSECRETSECRETSECRET';
/** A fake private key file's text; its armour is put together here so no scanner takes it for a leaked key. */
const privateKey = (kind: string, lines: string[]): string => {
  const armour = (edge: string) => `-----${edge} ${kind} ${'PRIVATE'} KEY-----`;
  return [armour('BEGIN'), ...lines, armour('END'), ''].join('\n');
};

describe('--ssh-public-key', () => {
  it('refuses a private key, says so and points at the .pub file, without printing it', async () => {
    const file = keyAt('id_ed25519', privateKey('OPENSSH', [SECRET, SECRET]));
    const r = await start(both, file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file} (--ssh-public-key) does not look like an SSH public key`);
    expect(r.stderr).toContain('it holds a PRIVATE key');
    expect(r.stderr).toContain(`Pass its public key instead: ${file}.pub`);
    expect(r.stderr).toContain('Nothing was launched.');
    expect(r.stdout + r.stderr).not.toContain('SECRET');
    expect(r.stdout + r.stderr).not.toContain('BEGIN');
    expect(launched()).toEqual([]);
  });

  it('refuses a PEM RSA private key too', async () => {
    const file = keyAt('deploy-key.pem', privateKey('RSA', [SECRET]));
    const r = await start(both, file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('it holds a PRIVATE key');
    expect(r.stdout + r.stderr).not.toContain('SECRET');
    expect(launched()).toEqual([]);
  });

  it.each([
    ['a file that is no key', 'hello: world\n'],
    ['a key type OpenSSH does not write', 'ssh-foo AAAAB3NzaC1yc2EAAAADAQAB me@host\n'],
    ['a type whose key is of another type', 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIFAKEFAKEFAKE me@host\n'],
    [
      'two keys (an authorized_keys file)',
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKEFAKEFAKE a@host\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKEFAKEFAKE b@host\n',
    ],
    ['an empty file', ''],
  ])('refuses %s, naming the file and what it should hold', async (_, content) => {
    const file = keyAt('not-a-key.pub', content);
    const r = await start(both, file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file} (--ssh-public-key) does not look like an SSH public key`);
    expect(r.stderr).toContain('it should hold one line such as `ssh-ed25519 AAAAC3Nza... you@host`');
    expect(r.stderr).not.toContain('PRIVATE');
    if (content) expect(r.stderr).not.toContain(content.trim().split(' ')[1] ?? content.trim());
    expect(launched()).toEqual([]);
  });

  it('accepts every OpenSSH public key type, with or without a comment', () => {
    const blob = (type: string) =>
      Buffer.concat([
        Buffer.from([0, 0, 0, type.length]),
        Buffer.from(type),
        Buffer.from([0, 0, 0, 32]),
        Buffer.alloc(32, 7),
      ]).toString('base64');
    for (const type of SSH_PUBLIC_KEY_TYPES) {
      expect(isSshPublicKey(`${type} ${blob(type)}`)).toBe(true);
      expect(isSshPublicKey(`${type} ${blob(type)} me@laptop (work key)\n`)).toBe(true);
    }
    // the fixture every other start test hands --ssh-public-key
    expect(isSshPublicKey('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKEFAKEFAKE test@example\n')).toBe(true);
    expect(isSshPublicKey(`ssh-ed25519 ${blob('ssh-ed25519')}\r\n`)).toBe(true);
    expect(isSshPublicKey('ssh-ed25519')).toBe(false);
    expect(isSshPublicKey(`command="x" ssh-ed25519 ${blob('ssh-ed25519')}`)).toBe(false);
  });

  it('goes on to preflight with a real public key file', async () => {
    process.env.FAKE_FAIL = 'cdk deploy'; // stop at the deploy, after the key was read
    const r = await start(both, keyFile);
    expect(r.stderr).not.toContain('does not look like');
    expect(r.stderr).toContain('== preflight');
  });
});

describe('an AWS preflight that cannot ask AWS stops the run', () => {
  it('refuses bad credentials with a region set, before deploying', async () => {
    const expired = Object.assign(new Error('The security token included in the request is expired'), {
      name: 'ExpiredToken',
      $metadata: { httpStatusCode: 403 },
    });
    ec2.on(DescribeAvailabilityZonesCommand).rejects(expired);
    const r = await start(awsOnly, keyFile);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('AWS refused the credentials (ExpiredToken');
    expect(launched()).toEqual([]);
  });

  it('turns a missing region in the zone or quota lookups into an error, not a warning', async () => {
    const plan = planFleet({ ruby_version: '3.4.7', runs_per_instance_type: 1, aws: ['c7g.medium'] });
    ec2.on(DescribeAvailabilityZonesCommand).rejects(new Error('Region is missing'));
    const warnings: string[] = [];
    await expect(placeAwsFleet(plan, warnings)).rejects.toThrow(/^no AWS region is set: set AWS_REGION/);
    await expect(
      tryQuota('AWS vCPU', warnings, () => Promise.reject(new Error('Region is missing'))),
    ).rejects.toThrow(/^no AWS region is set: set AWS_REGION .*Preflight could not read the AWS vCPU quotas/);
    expect(warnings).toEqual([]);
  });
});

describe('the Azure quota check', () => {
  it('says az is needed for the vCPU quota check even with a service principal', async () => {
    process.env.ARM_CLIENT_ID = '11111111-2222-4333-8444-555555555555';
    // no az anywhere on PATH: only the fake cdk and terraform (they start node by its full path)
    rmSync(join(box.bin, 'az'));
    process.env.PATH = box.bin;
    const r = await start(both, keyFile);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('az was not found (needed for the Azure vCPU quota check before launch');
    expect(r.stderr).toContain('`az login --service-principal`');
    expect(r.stderr).not.toContain('(needed for az)');
    expect(launched()).toEqual([]);
  });
});

describe("the run's image, asked of Docker Hub before launch", () => {
  let registry: FakeRegistry;
  let before: string | undefined;
  beforeAll(async () => {
    registry = await new FakeRegistry(['library/ruby:3.4.7', 'rubylang/ruby:master']).start();
    before = process.env.BENCHFLEET_REGISTRY_URL;
    process.env.BENCHFLEET_REGISTRY_URL = registry.url;
  });
  afterAll(async () => {
    process.env.BENCHFLEET_REGISTRY_URL = before;
    await registry.stop();
  });
  beforeEach(() => {
    registry.fail = undefined;
  });
  const config = (name: string, fields: object) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify({ runs_per_instance_type: 1, aws: ['c7g.medium'], ...fields }));
    return file;
  };

  it('refuses a ruby_version with no such tag before anything is deployed, naming the field', async () => {
    const file = config('typo.json', { ruby_version: '3.4.77' });
    const r = await start(file, keyFile);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the image ruby:3.4.77 does not exist on Docker Hub (no manifest for library/ruby:3.4.77) (its tags: https://hub.docker.com/_/ruby/tags): check ruby_version in ${file}. Nothing was launched.`,
    );
    expect(launched()).toEqual([]);
    // asked with the anonymous token Docker Hub's challenge leads to
    expect(registry.requests.slice(-3)).toEqual([
      'HEAD /v2/library/ruby/manifests/3.4.77',
      'GET /token',
      'HEAD /v2/library/ruby/manifests/3.4.77',
    ]);
  });

  it('refuses a custom image missing from Docker Hub, naming the image field', async () => {
    const file = config('image.json', { ruby_version: '3.4.7', image: 'someone/ruby-yjit:nope' });
    const r = await start(file, keyFile);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `the image someone/ruby-yjit:nope does not exist on Docker Hub (no manifest for someone/ruby-yjit:nope): check image in ${file}. Nothing was launched.`,
    );
    expect(launched()).toEqual([]);
  });

  it('goes on, with a warning, when the registry cannot tell', async () => {
    process.env.FAKE_FAIL = 'cdk deploy'; // stop at the deploy: the preflight let it through
    registry.fail = 503;
    const file = config('head.json', { ruby_version: 'head' });
    const r = await start(file, keyFile);
    expect(r.stderr).toContain(
      'warning: could not check that the image rubylang/ruby:master exists on Docker Hub (the registry answered 503): were it not to, every task would fail as provision_failed',
    );
    expect(r.stderr).not.toContain('does not exist');
    expect(launched().map((c) => c.args[0])).toContain('deploy');
  });

  it('reads image references as Docker does, and leaves other registries alone', () => {
    expect(hubImage('ruby:3.4.7')).toEqual({ repo: 'library/ruby', reference: '3.4.7' });
    expect(hubImage('ruby')).toEqual({ repo: 'library/ruby', reference: 'latest' });
    expect(hubImage('rubylang/ruby:master')).toEqual({ repo: 'rubylang/ruby', reference: 'master' });
    expect(hubImage('docker.io/library/ruby:3.3')).toEqual({ repo: 'library/ruby', reference: '3.3' });
    expect(hubImage('ruby@sha256:abc')).toEqual({ repo: 'library/ruby', reference: 'sha256:abc' });
    for (const other of [
      'ghcr.io/org/ruby:1',
      'localhost:5000/ruby:1',
      '123.dkr.ecr.us-east-1.amazonaws.com/r:1',
    ])
      expect(hubImage(other)).toBeUndefined();
  });
});
