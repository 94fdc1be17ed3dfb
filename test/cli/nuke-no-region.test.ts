// `benchfleet nuke` on a machine with no AWS region (no AWS_REGION, AWS_DEFAULT_REGION or profile
// region), as a newcomer first tries it: every AWS step fails alike on the SDK's bare "Region is
// missing". It says once that nothing in AWS could be listed and how to set a region, and exits 1.
// The real SDK clients here (no mocks): they fail on the missing region before any network call.
import { join } from 'node:path';
import { runCli, type Sandbox, sandbox } from './helpers';

let box: Sandbox;

beforeEach(() => {
  box = sandbox();
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_DEFAULT_PROFILE'])
    delete process.env[name];
  // no ~/.aws/config to find a region in, and no Azure CLI, as on a fresh machine
  process.env.AWS_CONFIG_FILE = join(box.dir, 'no-aws-config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(box.dir, 'no-aws-credentials');
  process.env.BENCHFLEET_AZ = join(box.dir, 'no-az');
});
afterEach(() => box.restore());

const HINT = 'set AWS_REGION (or AWS_PROFILE, for a profile with a region), or run `aws configure`';

it('--dry-run says once that no AWS region is set, and how to set one', async () => {
  const r = await runCli(['nuke', '--dry-run']);
  expect(r.code).toBe(1);
  const all = r.stdout + r.stderr;
  expect(all).not.toContain('Region is missing');
  // one line, in the summary, not one per kind of resource, nor another while sweeping
  expect(r.stderr).not.toContain('could not list');
  expect(r.stdout.match(/could not list/g)).toHaveLength(1);
  expect(r.stdout).toContain(
    `  not checked: could not list any aws resource: no AWS region is set: ${HINT}\n`,
  );
  expect(r.stdout.match(/not checked/g)).toHaveLength(2); // the summary's pointer and the one line
  expect(r.stderr).toContain(
    `benchfleet nuke: nothing in AWS could be checked, as no AWS region is set: ${HINT}, then run it again\n`,
  );
});

it('--json lists the one AWS line under skipped, and says it once on stderr', async () => {
  const r = await runCli(['nuke', '--dry-run', '--json']);
  expect(r.code).toBe(1);
  expect(r.stderr.match(/could not list/g)).toHaveLength(1);
  expect(JSON.parse(r.stdout).skipped).toEqual([
    `could not list any aws resource: no AWS region is set: ${HINT}`,
  ]);
});

it('runs no cdk destroy, which would act on us-east-1 on its own, and says why', async () => {
  const r = await runCli(['nuke', '--yes']);
  expect(r.code).toBe(1);
  expect(box.calls().filter((c) => c.tool === 'cdk')).toEqual([]);
  expect(r.stdout).toContain('note: cdk destroy was skipped: no AWS region is set\n');
});
