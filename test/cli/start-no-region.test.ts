// `benchfleet start` on a machine with no AWS region (no AWS_REGION, AWS_DEFAULT_REGION or profile
// region): preflight cannot ask EC2 or Service Quotas anything, and `cdk deploy` would put the meta
// stack in us-east-1 by default. It stops before anything is deployed and says how to set a region.
// The real SDK clients here (no mocks): they fail on the missing region before any network call.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type Sandbox, sandbox, startFiles } from './helpers';

let box: Sandbox;
let keyFile: string;
let dir: string;

beforeAll(() => {
  ({ keyFile, dir } = startFiles('bf-no-region-'));
});

beforeEach(() => {
  box = sandbox({
    FAKE_AZ_USAGE: JSON.stringify([{ currentValue: 0, limit: 100, name: { value: 'cores' } }]),
    ARM_SUBSCRIPTION_ID: '00000000-0000-4000-8000-00000000beef',
  });
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_DEFAULT_PROFILE'])
    delete process.env[name];
  // no ~/.aws/config to find a region in
  process.env.AWS_CONFIG_FILE = join(box.dir, 'no-aws-config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(box.dir, 'no-aws-credentials');
});
afterEach(() => box.restore());

function config(name: string, types: string): string {
  const file = join(dir, name);
  writeFileSync(file, `{ "ruby_version": "3.4.7", "runs_per_instance_type": 1, ${types} }\n`);
  return file;
}

const start = (file: string) => runCli(['start', '--config', file, '--yes', '--ssh-public-key', keyFile]);
const launched = () => box.calls().filter((c) => c.tool === 'cdk' || c.args.includes('apply'));

it('stops before deploying when the run has AWS types, and says to set AWS_REGION', async () => {
  const r = await start(config('aws.json', '"aws": ["c7g.medium"]'));
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('no AWS region is set');
  expect(r.stderr).toMatch(/set AWS_REGION \(or AWS_PROFILE, for a profile with a region\)/);
  expect(r.stderr).toContain('Nothing was launched');
  // no half-hearted warnings and no deploy
  expect(r.stderr).not.toContain('Region is missing');
  expect(r.stderr).not.toContain('deploying');
  expect(launched()).toEqual([]);
});

it('stops an Azure-only run too: its API, table and buckets (the meta stack) live in AWS', async () => {
  const r = await start(config('azure.json', '"azure": ["Standard_D2pls_v6"]'));
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('no AWS region is set');
  expect(launched()).toEqual([]);
});

it('deploy stops too, before cdk would put the meta stack in us-east-1 on its own', async () => {
  const r = await runCli(['deploy']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('no AWS region is set');
  expect(r.stderr).toContain('benchfleet deploy puts the meta stack in that region. Nothing was launched.');
  expect(launched()).toEqual([]);
});
