// The fleet plan: how many VMs of each instance type a run needs, and roughly what they cost.
// Defined once; the AWS fleet stack, terraform-azure's tfvars and the master CLI all read it,
// the AWS fleet stack through the fleet plan file whose schema is at the end of this file.
import { z } from 'zod';
import { InstanceTypeName, RubyVersion, type RunConfig, RunId } from './contract';
import { type Arch, type CloudProvider, instanceSpec, PRICES_AS_OF } from './instance-types';
import { defaultMaxVmHours, MAX_MAX_VM_HOURS, MIN_MAX_VM_HOURS } from './vm-life';

/**
 * The tags on everything a deployment and its fleets create (terraform-azure writes the same keys):
 * `nuke` finds a project's resources by the first, and a teardown tells whose fleet a stack is by
 * the second.
 */
export const PROJECT_TAG_KEY = 'benchfleet:project';
export const RUN_ID_TAG_KEY = 'benchfleet:run-id';

/** `auto`: one worker slot per vCPU (the spec's rule); `cores`: one per physical core. */
export type SlotMode = 'auto' | 'cores';

// A type rather than an interface: the fleet plan file's (loose) entry schema accepts it as is.
export type FleetEntry = {
  provider: CloudProvider;
  instance_type: string;
  arch: Arch;
  vcpus: number;
  physical_cores: number;
  slots_per_vm: number;
  /** Tasks of this type: `runs_per_instance_type`. */
  tasks: number;
  /** ceil(tasks / slots_per_vm): every task gets a slot at once, so the run takes one wave. */
  vm_count: number;
  /** null when the type is not in the catalog's price table. */
  hourly_usd_per_vm: number | null;
  hourly_usd: number | null;
  /**
   * AWS only, set by the CLI's preflight: an availability zone that offers this type, among
   * `aws_zones`. Without one the fleet stack puts the type's VMs in its first subnet.
   */
  availability_zone?: string;
};

export interface FleetPlan {
  slots: SlotMode;
  aws: FleetEntry[];
  azure: FleetEntry[];
  /** Instance types served by local runners: no VMs, no cost. */
  local: string[];
  total_vms: number;
  /** Sum over the priced entries; see `unpriced` for the ones left out. */
  hourly_usd: number;
  unpriced: string[];
  prices_as_of: string;
  /**
   * Hours after boot at which every VM of the run ends itself whatever its runner is doing
   * (--max-vm-hours; by default defaultMaxVmHours, in vm-life.ts, of this run).
   */
  max_vm_hours: number;
  /** AWS only, set by the CLI's preflight: the zones the fleet stack's VPC gets a subnet in. */
  aws_zones?: string[];
}

/**
 * Throws UnknownInstanceTypeError for a cloud type the catalog cannot resolve. `maxVmHours` is the
 * operator's --max-vm-hours (checked by the CLI); without it, this run's default.
 */
export function planFleet(
  config: RunConfig,
  opts: { slots?: SlotMode; maxVmHours?: number } = {},
): FleetPlan {
  const slots = opts.slots ?? 'auto';
  const entries = (provider: CloudProvider): FleetEntry[] =>
    (config[provider] ?? []).map((name) => {
      const spec = instanceSpec(provider, name);
      const slotsPerVm = slots === 'cores' ? spec.physical_cores : spec.vcpus;
      const tasks = config.runs_per_instance_type;
      const vmCount = Math.ceil(tasks / slotsPerVm);
      return {
        provider,
        instance_type: name,
        arch: spec.arch,
        vcpus: spec.vcpus,
        physical_cores: spec.physical_cores,
        slots_per_vm: slotsPerVm,
        tasks,
        vm_count: vmCount,
        hourly_usd_per_vm: spec.hourly_usd,
        hourly_usd: spec.hourly_usd === null ? null : round(spec.hourly_usd * vmCount),
      };
    });
  const aws = entries('aws');
  const azure = entries('azure');
  const all = [...aws, ...azure];
  return {
    slots,
    aws,
    azure,
    local: [...(config.local ?? [])],
    total_vms: all.reduce((n, e) => n + e.vm_count, 0),
    hourly_usd: round(all.reduce((n, e) => n + (e.hourly_usd ?? 0), 0)),
    unpriced: all.filter((e) => e.hourly_usd === null).map((e) => `${e.provider}:${e.instance_type}`),
    prices_as_of: PRICES_AS_OF,
    max_vm_hours: opts.maxVmHours ?? defaultMaxVmHours(config, all),
  };
}

/** VM size -> VM count for one provider: the shape terraform-azure's `fleet` variable takes. */
export function vmCounts(plan: FleetPlan, provider: CloudProvider): Record<string, number> {
  return Object.fromEntries(plan[provider].map((e) => [e.instance_type, e.vm_count]));
}

export interface CostEstimate {
  /** Hours each VM is billed: boot and provisioning plus one task. */
  billed_hours_per_vm: number;
  entries: Array<{ provider: CloudProvider; instance_type: string; usd: number | null }>;
  /** Sum over the priced entries; `unpriced` names the others. */
  total_usd: number;
  /** The most the priced VMs can cost: each one up until its maximum life (`max_vm_hours`). */
  worst_case_usd: number;
  unpriced: string[];
  prices_as_of: string;
}

/**
 * The cost of a run if each task takes `taskMinutes`. With ceil(tasks / slots) VMs every task
 * starts at once, so a VM is billed for its boot and provisioning (`overheadMinutes`, image pull
 * included) plus one task, then powers off. Bastion, NAT and storage are not included.
 */
export function estimateCost(
  plan: FleetPlan,
  taskMinutes: number,
  opts: { overheadMinutes?: number } = {},
): CostEstimate {
  if (!(taskMinutes >= 0)) throw new RangeError(`taskMinutes must be >= 0, got ${taskMinutes}`);
  const overhead = opts.overheadMinutes ?? 10;
  if (!(overhead >= 0)) throw new RangeError(`overheadMinutes must be >= 0, got ${overhead}`);
  const hours = (taskMinutes + overhead) / 60;
  const entries = [...plan.aws, ...plan.azure].map((e) => ({
    provider: e.provider,
    instance_type: e.instance_type,
    usd: e.hourly_usd === null ? null : round(e.hourly_usd * hours),
  }));
  return {
    billed_hours_per_vm: round(hours),
    entries,
    total_usd: round(entries.reduce((n, e) => n + (e.usd ?? 0), 0)),
    worst_case_usd: round(plan.hourly_usd * plan.max_vm_hours),
    unpriced: [...plan.unpriced],
    prices_as_of: plan.prices_as_of,
  };
}

// Sub-cent precision is noise next to approximate list prices; keep four places so sums stay tidy.
function round(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}

// The fleet plan file: what the master CLI writes (.benchfleet/fleet-<runId>.json) and hands to
// `cdk deploy BenchfleetFleet -c fleetPlan=...`. Every value ends up in a shell script (user data)
// or a resource name, so each is checked against a strict pattern before it gets near one.

/** us-east-1a, eu-central-2b, us-gov-west-1a: what DescribeAvailabilityZones calls a ZoneName. */
export const AvailabilityZoneName = z
  .string()
  .regex(/^[a-z]{2}(-[a-z0-9]+){2,4}$/, 'must be an availability zone name such as us-east-1a');

const FleetFileEntry = z.looseObject({
  instance_type: InstanceTypeName,
  arch: z.enum(['x86_64', 'arm64']),
  vm_count: z.number().int().min(0).max(500),
  /** Sizes the VM's disk (runnerDiskGb); absent in a file an older CLI wrote: the smallest disk. */
  slots_per_vm: z.number().int().min(1).max(1024).optional(),
  availability_zone: AvailabilityZoneName.optional(),
});

export const FleetPlanFile = z
  .object({
    runId: RunId,
    apiUrl: z
      .string()
      .regex(/^https:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~/-]*)?$/, 'must be an https URL without query'),
    runnerKeySecretArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/),
    artifactBucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/),
    artifactKey: z.string().regex(/^[A-Za-z0-9!_.*'()/-]{1,512}$/),
    rubyVersion: RubyVersion,
    /**
     * FleetPlan.max_vm_hours. Optional so that the file of a fleet launched by an older CLI still
     * reads, for its `cdk destroy`: the stack then uses FALLBACK_MAX_VM_HOURS.
     */
    maxVmHours: z.number().min(MIN_MAX_VM_HOURS).max(MAX_MAX_VM_HOURS).optional(),
    /**
     * When the fleet stack terminates the VMs still up, from outside them (vm-life.ts
     * fleetDeadline): ISO 8601 in UTC. Absent in a file an older CLI wrote: no outside bound.
     */
    deadline: z.iso.datetime({ offset: false }).optional(),
    /** The zones of the VPC's public subnets (FleetPlan.aws_zones); absent: the first two. */
    availabilityZones: z.array(AvailabilityZoneName).min(1).max(16).optional(),
    // planFleet(config).aws; a whole plan is accepted too, and only its AWS part is used.
    plan: z.union([
      z.array(FleetFileEntry),
      z.looseObject({ aws: z.array(FleetFileEntry) }).transform((p) => p.aws),
    ]),
  })
  .superRefine((file, ctx) => {
    for (const [i, e] of file.plan.entries()) {
      if (e.availability_zone === undefined) continue;
      if (!file.availabilityZones?.includes(e.availability_zone)) {
        ctx.addIssue({
          code: 'custom',
          path: ['plan', i, 'availability_zone'],
          message: `${e.availability_zone} (for ${e.instance_type}) is not one of availabilityZones`,
        });
      }
    }
  });
export type FleetPlanFile = z.infer<typeof FleetPlanFile>;
/** What the CLI writes: the file before parsing (a whole FleetPlan is accepted as `plan`). */
export type FleetPlanFileInput = z.input<typeof FleetPlanFile>;

export function parseFleetPlan(json: unknown, source = 'fleet plan'): FleetPlanFile {
  const parsed = FleetPlanFile.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${source} is invalid: ${issues.join('; ')}`);
  }
  return parsed.data;
}
