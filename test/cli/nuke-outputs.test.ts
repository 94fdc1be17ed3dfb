// After a nuke that destroyed the stacks and left nothing, this folder's record of the deployment
// (.benchfleet/outputs.json) names one that is gone: it goes too, so `status`, `download` and
// `teardown` stop asking a deleted API. It stays when anything is left, on a dry run, and when it
// records a deployment in another region than the one nuke emptied.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { install, world } from './fake-aws';
import { FAKE_OPERATOR_ARN, fakeOutputs, runCli, type Sandbox, sandbox } from './helpers';

let box: Sandbox;
let outputs: string;
// a closed port: the API of a deployment that is gone answers nothing
const GONE_API = 'http://127.0.0.1:9';

beforeEach(() => {
  box = sandbox();
  mkdirSync(join(box.dir, '.benchfleet'));
  outputs = join(box.dir, '.benchfleet', 'outputs.json');
  install(world());
});
afterEach(() => box.restore());

const record = (operatorArn = FAKE_OPERATOR_ARN): void =>
  writeFileSync(outputs, JSON.stringify(fakeOutputs(GONE_API, operatorArn)));

it('removes the record of the deployment once its stacks are destroyed and nothing is left', async () => {
  record();
  const r = await runCli(['nuke', '--yes', '--no-azure']);
  expect(r.code).toBe(0);
  expect(existsSync(outputs)).toBe(false);
  expect(r.stdout).toContain(
    `note: removed ${outputs}: the deployment it recorded is gone (\`benchfleet deploy\` makes a new one)`,
  );
});

it('keeps it on a dry run, and when something is left', async () => {
  record();
  expect((await runCli(['nuke', '--dry-run', '--no-azure'])).code).toBe(0);
  expect(existsSync(outputs)).toBe(true);
  install(world(), { failVpc: true });
  expect((await runCli(['nuke', '--yes', '--no-azure'])).code).toBe(1);
  expect(existsSync(outputs)).toBe(true);
});

it('keeps a record of a deployment in another region than the one whose stacks were destroyed', async () => {
  record('arn:aws:secretsmanager:eu-west-1:000000000000:secret:operator');
  const r = await runCli(['nuke', '--yes', '--no-azure']);
  expect(r.code).toBe(0);
  expect(existsSync(outputs)).toBe(true);
  expect(r.stdout).toContain(
    `note: kept ${outputs}: it records a deployment in eu-west-1, not in us-east-1, where the stacks were destroyed`,
  );
});
