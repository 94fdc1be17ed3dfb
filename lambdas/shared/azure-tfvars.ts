// What the master CLI hands terraform-azure/: the tfvars JSON (variables.tf declares each key) and
// the terraform argv. Kept beside the fleet plan so the CLI and the tests build it one way.
import { writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { RunConfig } from './contract';
import { type FleetPlan, vmCounts } from './fleet-plan';
import { MIN_RUNNER_DISK_GB, runnerDiskGb } from './vm-life';

/**
 * terraform's `-chdir`: relative to the project root, where the CLI starts every tool
 * (cli/lib/exec.ts PROJECT_ROOT), so it names this checkout's module from any current folder.
 */
export const AZURE_TF_DIR = 'terraform-azure';

export interface AzureTfvarsInput {
  runId: number;
  apiUrl: string;
  /** The runner key: the operator key must never reach VM user data. */
  runnerKey: string;
  /** Presigned GET URL of runner.js; minted just before apply, since it expires. */
  artifactUrl: string;
  config: RunConfig;
  plan: FleetPlan;
  region: string;
  sshPublicKey: string;
  tags?: Record<string, string>;
  /** Who may SSH to the bastion (CIDR ranges); terraform's default, none, lets nobody in. */
  sshSourceCidrs?: string[];
}

/** The JSON of a `-var-file`; the keys are terraform-azure/variables.tf's names. */
export interface AzureTfvars {
  run_id: number;
  api_url: string;
  api_key: string;
  runner_artifact_url: string;
  fleet: Record<string, number>;
  /** The plan's slot mode: its VM counts are right only if the runners use the same. */
  slots: FleetPlan['slots'];
  /** Hours after boot at which each runner VM deallocates itself, whatever its runner is doing. */
  max_vm_hours: number;
  /** OS disk of every runner VM: room for the slots of the largest size (runnerDiskGb). */
  runner_os_disk_gb: number;
  region: string;
  bastion_ssh_public_key: string;
  tags: Record<string, string>;
  ssh_source_cidrs?: string[];
}

export function azureTfvars(input: AzureTfvarsInput): AzureTfvars {
  const { config, plan } = input;
  const fleet = vmCounts(plan, 'azure');
  const wanted = [...(config.azure ?? [])].sort();
  if (wanted.length === 0) throw new Error('the run config lists no azure instance types: nothing to apply');
  if (JSON.stringify(Object.keys(fleet).sort()) !== JSON.stringify(wanted)) {
    throw new Error('the fleet plan was made for another config: its azure sizes differ from the config');
  }
  if (config.run_id !== undefined && config.run_id !== input.runId) {
    throw new Error(`run id ${input.runId} differs from the config's run_id ${config.run_id}`);
  }
  // Terraform refuses these too, but only after a slow init; say it before.
  for (const [name, value] of [
    ['runner key', input.runnerKey],
    ['runner artifact URL', input.artifactUrl],
    // An id_ed25519.pub read from disk ends with a newline; that one is harmless.
    ['SSH public key', input.sshPublicKey.trim()],
  ] as const) {
    if (value.length === 0 || /[\r\n]/.test(value)) throw new Error(`the ${name} must be one non-empty line`);
  }
  for (const cidr of input.sshSourceCidrs ?? []) {
    if (!isCidr(cidr)) {
      throw new Error(`SSH source range ${JSON.stringify(cidr)} is not a CIDR range such as 203.0.113.7/32`);
    }
  }
  return {
    run_id: input.runId,
    api_url: input.apiUrl,
    api_key: input.runnerKey,
    runner_artifact_url: input.artifactUrl,
    fleet,
    slots: plan.slots,
    max_vm_hours: plan.max_vm_hours,
    runner_os_disk_gb: runnerDiskGb(
      Math.max(0, ...plan.azure.map((e) => e.slots_per_vm)),
      MIN_RUNNER_DISK_GB.azure,
    ),
    region: input.region,
    bastion_ssh_public_key: input.sshPublicKey.trim(),
    tags: { ...(input.tags ?? {}) },
    ...(input.sshSourceCidrs ? { ssh_source_cidrs: [...input.sshSourceCidrs] } : {}),
  };
}

/** An IPv4 or IPv6 range with its prefix length, as terraform's cidrhost() accepts it. */
export function isCidr(value: string): boolean {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(value);
  if (!m) return false;
  const family = isIP(m[1] as string);
  const bits = Number(m[2]);
  return family !== 0 && bits <= (family === 4 ? 32 : 128);
}

/** Writes the var file readable by its owner only: it holds the runner key and a presigned URL. */
export function writeAzureTfvars(path: string, vars: AzureTfvars): void {
  writeFileSync(path, `${JSON.stringify(vars, null, 2)}\n`, { mode: 0o600 });
}

/** The resource group that holds a run's whole Azure fleet (terraform-azure/main.tf names it so). */
export const azureGroupName = (runId: number): string => `benchfleet-${runId}`;

/** The terraform workspace that holds a run's state. */
export const azureWorkspace = (runId: number): string => `run-${runId}`;

/**
 * The terraform commands for one run, in order. Each run gets its own workspace, so its state
 * is separate and `destroy` for one run never touches another's VMs. `destroy` never creates the
 * workspace: in a new, empty one it would destroy nothing and succeed while the run's VMs bill.
 * The var file is made absolute because terraform reads command-line paths relative to `-chdir`.
 */
export function azureTerraformArgs(action: 'apply' | 'destroy', runId: number, varFile: string): string[][] {
  const chdir = `-chdir=${AZURE_TF_DIR}`;
  return [
    [chdir, 'init', '-input=false'],
    [chdir, 'workspace', 'select', ...(action === 'apply' ? ['-or-create'] : []), azureWorkspace(runId)],
    [chdir, action, '-input=false', '-auto-approve', `-var-file=${resolve(varFile)}`],
  ];
}
