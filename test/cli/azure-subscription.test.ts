// terraform-azure pins azurerm ~> 4.0, which needs a subscription id even after `az login`. When
// ARM_SUBSCRIPTION_ID is unset, the CLI reads it once from `az account show` and hands it to
// terraform; without az, or before `az login`, it says what to do. Fake az and terraform on PATH.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { destroyAzureFleet } from '../../cli/lib/azure-fleet';
import { fleetLaunches } from '../../cli/lib/fleets';
import { type MetaOutputs, MetaOutputs as OutputsSchema } from '../../cli/lib/state';
import { planFleet } from '../../lambdas/shared/fleet-plan';
import { fakeOutputs, runCli, type Sandbox, sandbox } from './helpers';

const SUB = '11111111-2222-4333-8444-555555555555';
const RUNS = [1_700_000_000, 1_700_000_100];
const sm = mockClient(SecretsManagerClient);

let box: Sandbox;
let accountLog: string;

beforeEach(() => {
  box = sandbox({ FAKE_AZ_SUBSCRIPTION: SUB, FAKE_AZ_STATE: '' });
  delete process.env.ARM_SUBSCRIPTION_ID;
  accountLog = join(box.dir, 'account.jsonl');
  process.env.FAKE_ACCOUNT_LOG = accountLog;
  process.env.FAKE_AZ_STATE = join(box.dir, 'az.json');
  writeFileSync(process.env.FAKE_AZ_STATE, JSON.stringify({ groups: [] }));
  const state = join(box.dir, '.benchfleet');
  mkdirSync(state);
  for (const id of RUNS) writeFileSync(join(state, `azure-${id}.tfvars.json`), '{}');
  sm.reset();
});
afterEach(() => box.restore());

/** How many times `az account show` ran. */
const lookups = (): number =>
  existsSync(accountLog) ? readFileSync(accountLog, 'utf8').trim().split('\n').filter(Boolean).length : 0;
/** A launch's apply and teardown: init and select as they always ran, apply and destroy pinned. */
const PINNED = [
  'init null',
  'workspace null',
  `apply run-${RUNS[0]}`,
  'init null',
  'workspace null',
  `destroy run-${RUNS[0]}`,
];
/** Each terraform command (`--version` probes left out) and the TF_WORKSPACE it ran with. */
const terraformWorkspaces = (): string[] =>
  box
    .calls()
    .filter((c) => c.tool === 'terraform' && c.args[0] !== '--version')
    .map((c) => `${c.args[1]} ${(c as unknown as { workspace: string | null }).workspace}`);
/** The subscription each terraform command got, `--version` probes left out. */
const terraformSubscriptions = (): Array<string | null> =>
  box
    .calls()
    .filter((c) => c.tool === 'terraform' && c.args[0] !== '--version')
    .map((c) => (c as unknown as { subscription: string | null }).subscription);

describe('nuke', () => {
  it('reads the subscription once from az and hands it to every terraform command', async () => {
    const r = await runCli(['nuke', '--yes', '--no-aws']);
    expect(r.stderr).not.toContain('failed');
    expect(r.code).toBe(0);
    expect(terraformSubscriptions()).toEqual(Array(6).fill(SUB)); // init, workspace, destroy per run
    expect(lookups()).toBe(1);
    const [lookup] = readFileSync(accountLog, 'utf8').trim().split('\n');
    expect(JSON.parse(lookup as string).args).toEqual(['account', 'show', '--query', 'id', '-o', 'tsv']);
  });

  it('leaves a given ARM_SUBSCRIPTION_ID as it is, and asks az nothing', async () => {
    process.env.ARM_SUBSCRIPTION_ID = 'given-subscription';
    const r = await runCli(['nuke', '--yes', '--no-aws']);
    expect(r.code).toBe(0);
    expect(terraformSubscriptions()).toEqual(Array(6).fill('given-subscription'));
    expect(lookups()).toBe(0);
  });

  it('says to run `az login` or set ARM_SUBSCRIPTION_ID when az is not signed in, and runs no terraform', async () => {
    process.env.FAKE_AZ_LOGGED_OUT = '1';
    const r = await runCli(['nuke', '--yes', '--no-aws']);
    expect(r.stderr).toMatch(/run `az login`.*or set ARM_SUBSCRIPTION_ID/);
    expect(terraformSubscriptions()).toEqual([]);
    expect(lookups()).toBe(1);
    // The var files stay: the fleets may still be up, and a later nuke destroys them.
    expect(existsSync(join(box.dir, '.benchfleet', `azure-${RUNS[0]}.tfvars.json`))).toBe(true);
  });

  it('says to install az and run `az login`, or set ARM_SUBSCRIPTION_ID, when az is missing', async () => {
    process.env.BENCHFLEET_AZ = join(box.dir, 'no-such-az');
    const r = await runCli(['nuke', '--yes', '--no-aws']);
    expect(r.stderr).toMatch(/Azure CLI.*`az login`.*ARM_SUBSCRIPTION_ID/);
    expect(terraformSubscriptions()).toEqual([]);
  });

  it("names ARM_SUBSCRIPTION_ID when terraform's azurerm says the subscription is missing", async () => {
    process.env.ARM_SUBSCRIPTION_ID = 'given-subscription';
    process.env.FAKE_FAIL = 'terraform -chdir=terraform-azure init';
    process.env.FAKE_FAIL_MESSAGE =
      'Error: `subscription_id` is a required provider property when performing a plan/apply operation';
    const r = await runCli(['nuke', '--yes', '--no-aws']);
    expect(r.stdout).toMatch(/terraform init failed: .*run `az login`.*or set ARM_SUBSCRIPTION_ID/);
  });
});

describe('the Azure fleet of start', () => {
  const config = { ruby_version: '3.4.7', runs_per_instance_type: 2, azure: ['Standard_D2pls_v6'] };
  const outputs: MetaOutputs = OutputsSchema.parse(fakeOutputs('https://api.example.invalid').Benchfleet);
  const azure = { region: 'eastus', sshPublicKey: 'ssh-ed25519 AAAAFAKE me@example', sshSourceCidrs: [] };
  const launch = () => {
    const [l] = fleetLaunches(RUNS[0] as number, config, planFleet(config), outputs, azure);
    if (!l) throw new Error('no launch');
    return l;
  };
  beforeEach(() => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'runner-key' });
  });

  it('applies and destroys with the subscription az gave, asking az once', async () => {
    const l = launch();
    await l.up();
    await l.down();
    expect(terraformSubscriptions()).toEqual(Array(6).fill(SUB));
    expect(lookups()).toBe(1);
    // apply and destroy pinned to the run's workspace (TF_WORKSPACE), whatever another command
    // selects in the checkout meanwhile; init and select run as they always did
    expect(terraformWorkspaces()).toEqual(PINNED);
  });

  it("leaves the shell's own TF_WORKSPACE out: each command works on the run's workspace", async () => {
    process.env.TF_WORKSPACE = 'default';
    try {
      const l = launch();
      await l.up();
      await l.down();
    } finally {
      delete process.env.TF_WORKSPACE;
    }
    expect(terraformWorkspaces()).toEqual(PINNED);
  });

  it("records the subscription it applied in, and destroys there after az's current one changed", async () => {
    const l = launch();
    await l.up();
    const record = join(box.dir, '.benchfleet', `azure-${RUNS[0]}.subscription`);
    expect(readFileSync(record, 'utf8')).toBe(`${SUB}\n`);
    // someone switched az to another subscription since; a later command (teardown) destroys it
    process.env.FAKE_AZ_SUBSCRIPTION = '99999999-2222-4333-8444-555555555555';
    let stderr = '';
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    await destroyAzureFleet(RUNS[0] as number).finally(() => write.mockRestore());
    expect(stderr).toContain(
      `[azure] run ${RUNS[0]}'s fleet was applied in subscription ${SUB}, not 99999999-2222-4333-8444-555555555555 (the current one): torn down there`,
    );
    expect(terraformSubscriptions().slice(-3)).toEqual(Array(3).fill(SUB));
    expect(existsSync(record)).toBe(false);
  });

  it('fails the launch before terraform when az is not signed in, and has nothing to tear down', async () => {
    process.env.FAKE_AZ_LOGGED_OUT = '1';
    const l = launch();
    await expect(l.up()).rejects.toThrow(/run `az login`.*or set ARM_SUBSCRIPTION_ID/);
    await l.down();
    expect(terraformSubscriptions()).toEqual([]);
    expect(existsSync(join(box.dir, '.benchfleet', `azure-${RUNS[0]}.tfvars.json`))).toBe(false);
  });
});
