import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import {
  type AzureTfvarsInput,
  azureTerraformArgs,
  azureTfvars,
  isCidr,
  writeAzureTfvars,
} from '../../../lambdas/shared/azure-tfvars';
import { RunConfig } from '../../../lambdas/shared/contract';
import { planFleet } from '../../../lambdas/shared/fleet-plan';
import { FALLBACK_MAX_VM_HOURS, MAX_MAX_VM_HOURS, MIN_MAX_VM_HOURS } from '../../../lambdas/shared/vm-life';
import { tempDir } from '../../helpers/temp-dir';
import { loadModule, type Module } from './module';

const config = RunConfig.parse({
  ruby_version: '3.4.7',
  runs_per_instance_type: 3,
  aws: ['c7g.medium'],
  azure: ['Standard_D2pls_v6', 'Standard_D2ls_v6'],
});

const input = (patch: Partial<AzureTfvarsInput> = {}): AzureTfvarsInput => ({
  runId: 1732400000,
  apiUrl: 'https://api.example.test',
  runnerKey: "runner key with a ' quote",
  artifactUrl: 'https://bucket.example.test/runner.js?sig=1',
  config,
  plan: planFleet(config),
  region: 'westeurope',
  sshPublicKey: 'ssh-ed25519 AAAAC3Nza me@laptop\n',
  ...patch,
});

let mod: Module;
beforeAll(async () => {
  mod = await loadModule();
});

describe('azureTfvars', () => {
  it('sets every required variable of terraform-azure and nothing it does not declare', () => {
    const vars = azureTfvars(input({ tags: { team: 'ruby' }, sshSourceCidrs: ['203.0.113.7/32'] }));
    const declared = Object.keys(mod.variables);
    const required = declared.filter((name) => !('default' in (mod.variables[name] ?? {})));
    for (const key of Object.keys(vars)) expect(declared).toContain(key);
    for (const key of required) expect(Object.keys(vars)).toContain(key);
    expect(vars).toEqual({
      run_id: 1732400000,
      api_url: 'https://api.example.test',
      api_key: "runner key with a ' quote",
      runner_artifact_url: 'https://bucket.example.test/runner.js?sig=1',
      fleet: { Standard_D2pls_v6: 2, Standard_D2ls_v6: 2 },
      slots: 'auto',
      max_vm_hours: 5, // the run's default: one attempt of a task at most 2 h long
      runner_os_disk_gb: 64, // two slots a VM: the smallest disk
      region: 'westeurope',
      bastion_ssh_public_key: 'ssh-ed25519 AAAAC3Nza me@laptop',
      tags: { team: 'ruby' },
      ssh_source_cidrs: ['203.0.113.7/32'],
    });
  });

  it('gives the runner VMs a disk with room for the slots of the largest size', () => {
    const big: RunConfig = { ...config, azure: ['Standard_D2ls_v6', 'Standard_D96als_v6'] };
    const vars = azureTfvars(input({ config: big, plan: planFleet(big) }));
    expect(vars.runner_os_disk_gb).toBe(116); // about 20 GB, and 1 for each of 96 slots
  });

  it('takes only CIDR ranges as SSH sources, as terraform cidrhost() does', () => {
    for (const good of ['203.0.113.7/32', '0.0.0.0/0', '2001:db8::/48', '::/0'])
      expect(isCidr(good)).toBe(true);
    for (const bad of [
      '203.0.113.7',
      '203.0.113.7/33',
      '2001:db8::/129',
      'example.com/32',
      ' 10.0.0.0/8',
      '',
    ])
      expect([bad, isCidr(bad)]).toEqual([bad, false]);
    expect(() => azureTfvars(input({ sshSourceCidrs: ['10.0.0.0/8', '10.0.0.1'] }))).toThrow(
      'SSH source range "10.0.0.1" is not a CIDR range',
    );
  });

  it('leaves optional inputs to the module defaults', () => {
    const vars = azureTfvars(input());
    expect(vars.tags).toEqual({});
    expect('ssh_source_cidrs' in vars).toBe(false);
  });

  it("carries the plan's maximum VM life, the operator's or the run's default", () => {
    expect(azureTfvars(input({ plan: planFleet(config, { maxVmHours: 2.5 }) })).max_vm_hours).toBe(2.5);
    const retried = { ...config, max_attempts: 3 };
    expect(azureTfvars(input({ config: retried, plan: planFleet(retried) })).max_vm_hours).toBe(10);
  });

  it('declares max_vm_hours with the bounds of --max-vm-hours, and the fallback of an old fleet plan file', () => {
    const variable = mod.variables.max_vm_hours ?? {};
    expect(variable.type).toBe(`\${number}`); // how hcl2json writes an HCL type
    expect(variable.default).toBe(FALLBACK_MAX_VM_HOURS);
    expect(variable.validation?.[0]?.condition).toBe(
      `\${var.max_vm_hours >= ${MIN_MAX_VM_HOURS} && var.max_vm_hours <= ${MAX_MAX_VM_HOURS}}`,
    );
  });

  it('follows the slot mode of the plan', () => {
    const vars = azureTfvars(input({ plan: planFleet(config, { slots: 'cores' }) }));
    expect(vars.fleet).toEqual({ Standard_D2pls_v6: 2, Standard_D2ls_v6: 3 });
    expect(vars.slots).toBe('cores');
  });

  it('refuses inputs that cannot make a fleet', () => {
    const awsOnly = RunConfig.parse({ ...config, azure: undefined });
    expect(() => azureTfvars(input({ config: awsOnly, plan: planFleet(awsOnly) }))).toThrow(/no azure/);
    expect(() =>
      azureTfvars(input({ plan: planFleet({ ...config, azure: ['Standard_F2als_v6'] }) })),
    ).toThrow(/another config/);
    expect(() => azureTfvars(input({ config: { ...config, run_id: 5 } }))).toThrow(/differs/);
    expect(() => azureTfvars(input({ runnerKey: 'a\nb' }))).toThrow(/runner key must be one non-empty line/);
    expect(() => azureTfvars(input({ artifactUrl: '' }))).toThrow(/artifact URL/);
  });

  it('writes the var file readable by its owner only', () => {
    const file = join(tempDir('bf-tfvars-'), 'run.tfvars.json');
    const vars = azureTfvars(input());
    writeAzureTfvars(file, vars);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(vars);
  });
});

describe('azureTerraformArgs', () => {
  it('applies in a workspace of its own with an absolute var file', () => {
    const cmds = azureTerraformArgs('apply', 1732400000, 'tmp/run.tfvars.json');
    expect(cmds.slice(0, 2)).toEqual([
      ['-chdir=terraform-azure', 'init', '-input=false'],
      ['-chdir=terraform-azure', 'workspace', 'select', '-or-create', 'run-1732400000'],
    ]);
    const apply = cmds[2] ?? [];
    expect(apply.slice(0, 4)).toEqual(['-chdir=terraform-azure', 'apply', '-input=false', '-auto-approve']);
    const varFile = (apply[4] ?? '').replace('-var-file=', '');
    expect(isAbsolute(varFile)).toBe(true);
    expect(varFile.endsWith('/tmp/run.tfvars.json')).toBe(true);
    // destroy never makes the workspace: an empty new one would destroy nothing and succeed
    expect(azureTerraformArgs('destroy', 7, '/x.json')[1]).toEqual([
      '-chdir=terraform-azure',
      'workspace',
      'select',
      'run-7',
    ]);
    expect(azureTerraformArgs('destroy', 7, '/x.json')[2]).toEqual([
      '-chdir=terraform-azure',
      'destroy',
      '-input=false',
      '-auto-approve',
      '-var-file=/x.json',
    ]);
  });
});
