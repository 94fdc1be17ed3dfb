// `benchfleet` from any folder (README: `npm link` puts it on PATH): cdk runs in the project root,
// where cdk.json is, and terraform finds terraform-azure/ there, whatever the current folder;
// `.benchfleet/` stays in the current folder, as the README says. The fakes fail as the real
// tools do when started elsewhere (no cdk.json; a -chdir folder that does not exist).
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { tempDir } from '../helpers/temp-dir';
import { argv, fakeOutputs, runCli, type Sandbox, sandbox, stackGone } from './helpers';

// deploy first asks whether a run is at work on the deployment: none is deployed here
const metaStack = mockClient(CloudFormationClient);
beforeEach(() => {
  metaStack.reset();
  metaStack.on(DescribeStacksCommand).rejects(stackGone('Benchfleet'));
});

const ROOT = resolve(__dirname, '..', '..');
const RUN = 1_700_000_000;

let box: Sandbox;
let elsewhere: string;
const home = process.cwd();

beforeEach(() => {
  box = sandbox({ FAKE_CDK_OUTPUTS: JSON.stringify(fakeOutputs('https://api.example.invalid')) });
  elsewhere = realpathSync(tempDir('bf-elsewhere-'));
  process.chdir(elsewhere);
});
afterEach(() => {
  process.chdir(home);
  box.restore();
});

/** Each call's folder, and the folder its -chdir names (absolute, or relative to its folder). */
const calls = () =>
  box.calls().map((c) => {
    const chdir = c.args.find((a) => a.startsWith('-chdir='))?.slice('-chdir='.length);
    const { cwd } = c as unknown as { cwd: string };
    return { line: argv(c), cwd, ...(chdir !== undefined && { module: resolve(cwd, chdir) }) };
  });

it('deploy runs cdk in the project root, from another folder', async () => {
  const r = await runCli(['deploy', '--json']);
  expect(r.stderr).not.toContain('failed');
  expect(r.code).toBe(0);
  const [deploy] = calls();
  expect(deploy?.line).toMatch(/^cdk deploy Benchfleet /);
  expect(deploy?.cwd).toBe(ROOT);
  expect(JSON.parse(r.stdout).ApiUrl).toBe('https://api.example.invalid');
});

it('takes a relative BENCHFLEET_CDK from the current folder, still running it in the project root', async () => {
  process.chdir(box.dir);
  process.env.BENCHFLEET_CDK = 'bin/cdk';
  const r = await runCli(['deploy', '--json']);
  expect(r.code).toBe(0);
  expect(calls()[0]?.cwd).toBe(ROOT);
});

it('keeps .benchfleet/ in the current folder when BENCHFLEET_STATE_DIR is unset', async () => {
  delete process.env.BENCHFLEET_STATE_DIR;
  const r = await runCli(['deploy']);
  expect(r.code).toBe(0);
  expect(existsSync(join(elsewhere, '.benchfleet', 'outputs.json'))).toBe(true);
  expect(r.stdout).toContain(join(elsewhere, '.benchfleet', 'outputs.json'));
});

it("nuke runs terraform on the project's terraform-azure/, from another folder", async () => {
  const state = join(box.dir, '.benchfleet');
  mkdirSync(state);
  writeFileSync(join(state, `azure-${RUN}.tfvars.json`), '{}');
  const r = await runCli(['nuke', '--yes', '--no-aws']);
  expect(r.stderr).not.toContain('failed');
  expect(r.code).toBe(0);
  const terraform = calls().filter((c) => c.line.startsWith('terraform') && !c.line.endsWith('--version'));
  expect(terraform.map((c) => c.line.split(' ')[2])).toEqual(['init', 'workspace', 'destroy']);
  for (const c of terraform) expect(c.module).toBe(join(ROOT, 'terraform-azure'));
  expect(existsSync(join(state, `azure-${RUN}.tfvars.json`))).toBe(false);
});
