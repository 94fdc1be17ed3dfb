// Before anything is launched: the planned VMs, an estimated cost and duration from the fleet
// plan's prices, and the vCPU quotas (AWS Service Quotas, `az vm list-usage`) against the plan.
// A short quota stops the run here, before a fleet half-boots and tasks wait for `no_runner`.
import { createInterface } from 'node:readline/promises';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { estimateCost, FleetEntry, FleetPlan } from '../../lambdas/shared/fleet-plan';
import { noAwsRegionError } from './aws-region';
import {
  AWS_CREDENTIAL_ERRORS,
  CliError,
  CredentialsError,
  describe,
  isAwsRegionMissing,
  ToolMissingError,
} from './errors';
import { runTool } from './exec';

export interface QuotaCheck {
  provider: 'aws' | 'azure';
  quota: string;
  limit: number;
  used: number;
  needed: number;
  ok: boolean;
}

// EC2 on-demand vCPU quotas by instance family prefix. Graviton types (c7g, m8g) count against
// the standard quota like their x86 siblings.
const AWS_QUOTAS: Array<{ code: string; name: string; families: RegExp }> = [
  {
    code: 'L-1216C47A',
    name: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances',
    families: /^[acdhimrtz]\d/,
  },
  { code: 'L-74FC7D96', name: 'Running On-Demand F instances', families: /^f\d/ },
  { code: 'L-DB2E81BA', name: 'Running On-Demand G and VT instances', families: /^(g|vt)\d/ },
  { code: 'L-417A185B', name: 'Running On-Demand P instances', families: /^p\d/ },
  { code: 'L-7295265B', name: 'Running On-Demand X instances', families: /^x\d/ },
  { code: 'L-1945791B', name: 'Running On-Demand Inf instances', families: /^inf\d/ },
];

export function awsQuotaFor(instanceType: string): (typeof AWS_QUOTAS)[number] | undefined {
  return AWS_QUOTAS.find((q) => q.families.test(instanceType));
}

/** The quota row name of `az vm list-usage` for a size: Standard_D2pls_v6 -> standardDPLSv6Family. */
export function azureFamilyFor(size: string): string | undefined {
  const m = /^Standard_([A-Z]+)\d+([a-z]*)(?:_v(\d+))?$/.exec(size);
  if (!m) return undefined;
  return `standard${m[1]}${(m[2] ?? '').toUpperCase()}${m[3] ? `v${m[3]}` : ''}Family`;
}

/** terraform-azure's bastion (Standard_B1s), made only with --ssh-cidr, needs one vCPU beside the runners. */
const AZURE_BASTION = { family: 'standardBSFamily', vcpus: 1 };

const vcpusOf = (entries: FleetEntry[]): number => entries.reduce((n, e) => n + e.vcpus * e.vm_count, 0);

export async function checkAwsQuotas(plan: FleetPlan, warnings: string[]): Promise<QuotaCheck[]> {
  if (plan.aws.length === 0) return [];
  const byQuota = new Map<string, { q: (typeof AWS_QUOTAS)[number]; entries: FleetEntry[] }>();
  for (const e of plan.aws) {
    const q = awsQuotaFor(e.instance_type);
    if (!q) {
      warnings.push(`no known vCPU quota for aws:${e.instance_type}; check its family's quota by hand`);
      continue;
    }
    const slot = byQuota.get(q.code) ?? { q, entries: [] };
    slot.entries.push(e);
    byQuota.set(q.code, slot);
  }
  const sq = new ServiceQuotasClient({});
  const ec2 = new EC2Client({});
  try {
    const used = await runningVcpus(ec2);
    const checks: QuotaCheck[] = [];
    for (const { q, entries } of byQuota.values()) {
      const out = await sq.send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: q.code }));
      const limit = out.Quota?.Value ?? 0;
      const inUse = [...used].filter(([type]) => q.families.test(type)).reduce((n, [, v]) => n + v, 0);
      const needed = vcpusOf(entries);
      checks.push({
        provider: 'aws',
        quota: `${q.name} (${q.code})`,
        limit,
        used: inUse,
        needed,
        ok: inUse + needed <= limit,
      });
    }
    return checks;
  } finally {
    sq.destroy();
    ec2.destroy();
  }
}

/** vCPUs of running and pending instances by type (they count against the same quotas). */
async function runningVcpus(ec2: EC2Client): Promise<Map<string, number>> {
  const used = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running'] }],
        ...(token && { NextToken: token }),
      }),
    );
    for (const r of page.Reservations ?? []) {
      for (const i of r.Instances ?? []) {
        const vcpus = (i.CpuOptions?.CoreCount ?? 1) * (i.CpuOptions?.ThreadsPerCore ?? 1);
        const type = i.InstanceType ?? 'unknown';
        used.set(type, (used.get(type) ?? 0) + vcpus);
      }
    }
    token = page.NextToken;
  } while (token);
  return used;
}

interface AzUsage {
  currentValue: number;
  limit: number;
  name: { value: string; localizedValue?: string };
}

export async function checkAzureQuotas(
  plan: FleetPlan,
  region: string,
  warnings: string[],
  bastion: boolean,
): Promise<QuotaCheck[]> {
  if (plan.azure.length === 0) return [];
  const { stdout } = await runTool('az', ['vm', 'list-usage', '--location', region, '--output', 'json'], {
    capture: true,
    quiet: true,
    purpose: 'the Azure vCPU quota check before launch, `az vm list-usage`',
  }).catch((err: unknown) => {
    // terraform signs in with a service principal (ARM_CLIENT_ID...) without az; this check cannot
    if (err instanceof ToolMissingError && process.env.ARM_CLIENT_ID?.trim()) {
      throw new ToolMissingError(
        `${err.message}. Terraform can use the service principal in ARM_CLIENT_ID without az, but this check cannot: install az and sign it in with \`az login --service-principal\`. Nothing was launched.`,
        { cause: err },
      );
    }
    throw err;
  });
  let usage: AzUsage[];
  try {
    usage = JSON.parse(stdout) as AzUsage[];
  } catch {
    throw new CliError(`\`az vm list-usage\` printed something that is not JSON: ${stdout.slice(0, 200)}`);
  }
  const extra = bastion ? AZURE_BASTION.vcpus : 0;
  const needs = new Map<string, number>([['cores', vcpusOf(plan.azure) + extra]]);
  if (bastion) needs.set(AZURE_BASTION.family, AZURE_BASTION.vcpus);
  for (const e of plan.azure) {
    const family = azureFamilyFor(e.instance_type);
    if (!family) {
      warnings.push(`cannot tell the quota family of azure:${e.instance_type}; check it by hand`);
      continue;
    }
    needs.set(family, (needs.get(family) ?? 0) + e.vcpus * e.vm_count);
  }
  const checks: QuotaCheck[] = [];
  for (const [family, needed] of needs) {
    const row = usage.find((u) => u.name.value.toLowerCase() === family.toLowerCase());
    if (!row) {
      warnings.push(`az vm list-usage has no ${family} row in ${region}; check that quota by hand`);
      continue;
    }
    const quota = row.name.localizedValue
      ? `${row.name.localizedValue} (${region})`
      : `${family} (${region})`;
    checks.push({
      provider: 'azure',
      quota,
      limit: row.limit,
      used: row.currentValue,
      needed,
      ok: row.currentValue + needed <= row.limit,
    });
  }
  return checks;
}

export interface PreflightReport {
  plan: FleetPlan;
  quotas: QuotaCheck[];
  warnings: string[];
  estimate: ReturnType<typeof estimateCost>;
  task_minutes: number;
  estimated_minutes: number;
  /** defaultMaxVmHours of the run, beside the plan's max_vm_hours (which --max-vm-hours may set). */
  max_vm_hours_default: number;
}

export function formatPreflight(r: PreflightReport): string[] {
  const lines = ['Planned VMs:'];
  for (const e of [...r.plan.aws, ...r.plan.azure]) {
    const price = e.hourly_usd_per_vm === null ? 'price unknown' : `$${e.hourly_usd_per_vm}/h each`;
    const zone = e.availability_zone ? ` in ${e.availability_zone}` : '';
    lines.push(
      `  ${e.provider.padEnd(5)} ${e.instance_type.padEnd(20)} ${String(e.vm_count).padStart(3)} VM(s) x ${e.slots_per_vm} slot(s) for ${e.tasks} task(s), ${price}${zone}`,
    );
  }
  for (const t of r.plan.local) lines.push(`  local ${t.padEnd(20)} runs on this machine`);
  lines.push(
    `  total: ${r.plan.total_vms} VM(s), about $${r.plan.hourly_usd.toFixed(2)}/hour while they run`,
  );
  lines.push(
    `Estimate: about ${r.estimated_minutes} minutes and $${r.estimate.total_usd.toFixed(2)}, assuming ${r.task_minutes} minutes per task ` +
      `(list prices of ${r.estimate.prices_as_of}; NAT, bastion and storage not included)`,
  );
  if (r.estimate.unpriced.length) lines.push(`  not priced: ${r.estimate.unpriced.join(', ')}`);
  // The safety net, said once: what bounds the bill even if no runner ever ends its VM.
  const hours = r.plan.max_vm_hours;
  lines.push(
    `Each VM powers off after at most ${hours} h whatever happens (${hours === r.max_vm_hours_default ? "this run's default; --max-vm-hours changes it" : '--max-vm-hours'}); were every VM up that long: $${r.estimate.worst_case_usd.toFixed(2)}`,
  );
  if (r.quotas.length) lines.push('vCPU quotas:');
  for (const q of r.quotas) {
    lines.push(
      `  ${q.ok ? 'ok   ' : 'SHORT'} ${q.provider} ${q.quota}: ${q.used} used + ${q.needed} needed of ${q.limit}`,
    );
  }
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines;
}

export function shortQuotaError(quotas: QuotaCheck[]): CliError | undefined {
  const short = quotas.filter((q) => !q.ok);
  if (short.length === 0) return undefined;
  const list = short
    .map((q) => `${q.provider} ${q.quota}: needs ${q.needed} vCPUs, ${q.limit - q.used} free`)
    .join('; ');
  return new CliError(
    `not enough vCPU quota, nothing was launched: ${list}. Ask the provider for more (AWS Service Quotas console, Azure "Quotas" blade), or trim the config.`,
  );
}

/**
 * Reads a quota check, turning a failure into a warning: a missing permission should not block a
 * run. A missing tool, refused credentials or no AWS region at all do: nothing could be launched.
 */
export async function tryQuota(
  what: string,
  warnings: string[],
  read: () => Promise<QuotaCheck[]>,
): Promise<QuotaCheck[]> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof CliError && err.name !== 'CliError') throw err; // tool missing, credentials
    if (isAwsRegionMissing(err)) throw noAwsRegionError(`Preflight could not read the ${what} quotas.`);
    if (AWS_CREDENTIAL_ERRORS.includes((err as Error).name)) {
      throw new CredentialsError(describe(err), { cause: err });
    }
    warnings.push(`could not read the ${what} quotas (${describe(err)}); check them by hand`);
    return [];
  }
}

/**
 * Asks y/N on the terminal; refuses to guess when there is no terminal. `verb` is what --yes lets
 * the caller do without asking (launch, delete).
 */
export async function confirm(question: string, verb: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new CliError(`no terminal to ask for confirmation: pass --yes to ${verb} without asking`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
