import { RunConfig } from '../../lambdas/shared/contract';
import { estimateCost, planFleet, vmCounts } from '../../lambdas/shared/fleet-plan';
import {
  deriveSpec,
  INSTANCE_TYPES,
  instanceSpec,
  PRICES_AS_OF,
  UnknownInstanceTypeError,
} from '../../lambdas/shared/instance-types';
import {
  defaultMaxVmHours,
  MAX_MAX_VM_HOURS,
  maxVmMinutes,
  RUNNER_START_WAIT_S,
  RUNNER_TASK_TIMEOUT_S,
} from '../../lambdas/shared/vm-life';
import { DEFAULTS } from '../../runner/options';

// The spec's example config, verbatim.
const SPEC_CONFIG = RunConfig.parse({
  ruby_version: '3.4.7',
  runs_per_instance_type: 3,
  aws: ['c8g.medium', 'c7g.medium', 'c6g.medium', 'c8a.medium', 'c7a.medium', 'c8i.large', 'c7i.large'],
  azure: ['Standard_D2pls_v6', 'Standard_D2als_v6', 'Standard_D2ls_v6', 'Standard_F2als_v6'],
});

const config = (patch: Partial<RunConfig>): RunConfig =>
  RunConfig.parse({ ...structuredClone(SPEC_CONFIG), ...patch });

describe('instance type catalog', () => {
  it('knows every type of the spec example with a price', () => {
    for (const { provider, instance_type } of [
      ...(SPEC_CONFIG.aws ?? []).map((t) => ({ provider: 'aws' as const, instance_type: t })),
      ...(SPEC_CONFIG.azure ?? []).map((t) => ({ provider: 'azure' as const, instance_type: t })),
    ]) {
      const spec = instanceSpec(provider, instance_type);
      expect(spec.derived).toBe(false);
      expect(spec.hourly_usd).toBeGreaterThan(0);
      expect(spec.physical_cores).toBeLessThanOrEqual(spec.vcpus);
    }
    expect(PRICES_AS_OF).toMatch(/^\d{4}-\d{2}/);
  });

  it('agrees with its own name rules wherever a catalog name can be derived', () => {
    // The derivation handles types not in the catalog; it must not contradict the catalog where both apply.
    for (const spec of INSTANCE_TYPES.values()) {
      const { arch, vcpus, physical_cores } = spec;
      expect([spec.instance_type, deriveSpec(spec.provider, spec.instance_type)]).toEqual([
        spec.instance_type,
        { arch, vcpus, physical_cores },
      ]);
    }
    expect(instanceSpec('aws', 'c7g.4xlarge')).toMatchObject({
      arch: 'arm64',
      vcpus: 16,
      physical_cores: 16,
    });
    expect(instanceSpec('azure', 'Standard_D4pls_v5')).toMatchObject({ arch: 'arm64', vcpus: 4 });
  });

  it.each([
    ['aws', 'm6gd.xlarge', 'arm64', 4, 4],
    ['aws', 'r8g.2xlarge', 'arm64', 8, 8],
    ['aws', 'c7a.2xlarge', 'x86_64', 8, 8],
    ['aws', 'c6a.xlarge', 'x86_64', 4, 2],
    ['aws', 'c7i.xlarge', 'x86_64', 4, 2],
    ['aws', 'c5.large', 'x86_64', 2, 1],
    ['azure', 'Standard_D4als_v6', 'x86_64', 4, 2],
    ['azure', 'Standard_D8pds_v6', 'arm64', 8, 8],
    ['azure', 'Standard_E2ps_v5', 'arm64', 2, 2],
    ['azure', 'Standard_F4als_v6', 'x86_64', 4, 4],
    ['azure', 'Standard_D16s_v5', 'x86_64', 16, 8],
  ] as const)('derives %s %s as %s with %i vCPUs and %i cores', (provider, name, arch, vcpus, cores) => {
    expect(instanceSpec(provider, name)).toEqual({
      provider,
      instance_type: name,
      arch,
      vcpus,
      physical_cores: cores,
      memory_gib: null,
      hourly_usd: null,
      derived: true,
    });
  });

  it.each([
    ['aws', 'c7gn.metal'],
    ['aws', 'x2iedn.xlarge'],
    ['aws', 'c7x.large'],
    ['azure', 'Standard_M8-2ms'],
    ['azure', 'D2pls_v6'],
    ['azure', 'c7g.medium'],
  ] as const)('refuses to guess %s %s', (provider, name) => {
    expect(() => instanceSpec(provider, name)).toThrow(UnknownInstanceTypeError);
    expect(() => instanceSpec(provider, name)).toThrow(
      new RegExp(`cannot use ${provider} instance type "${name}".*instance-types\\.ts`),
    );
  });

  // Their figures would measure a CPU credit balance: refused by rule, catalog or not.
  it.each([
    ['aws', 't4g.micro', 'pick a c, m or r size instead'],
    ['aws', 't3a.large', 'pick a c, m or r size instead'],
    ['aws', 'm7i-flex.large', 'pick a c, m or r size instead'],
    ['azure', 'Standard_B2s', 'pick a D or F size instead'],
    ['azure', 'Standard_B2pts_v2', 'pick a D or F size instead'],
    ['azure', 'Standard_B2als_v2', 'pick a D or F size instead'],
  ] as const)('refuses the burstable %s %s', (provider, name, fix) => {
    expect(() => instanceSpec(provider, name)).toThrow(
      `cannot use ${provider} instance type "${name}": it is a burstable size, which runs at a fraction of its vCPUs once its CPU credits run out, so its figures would measure the credit balance rather than the machine; ${fix}`,
    );
  });

  it('keeps the sizes that only look alike', () => {
    expect(instanceSpec('aws', 'm7i.large').vcpus).toBe(2);
    expect(instanceSpec('azure', 'Standard_D2s_v6').vcpus).toBe(2);
  });
});

describe('planFleet', () => {
  it('plans one slot per vCPU by default: the spec example', () => {
    const plan = planFleet(SPEC_CONFIG);
    expect(plan.slots).toBe('auto');
    const byType = Object.fromEntries([...plan.aws, ...plan.azure].map((e) => [e.instance_type, e]));
    // 1-vCPU mediums need one VM per run; 2-vCPU sizes fit two runs on a VM.
    expect(byType['c6g.medium']).toMatchObject({
      provider: 'aws',
      arch: 'arm64',
      slots_per_vm: 1,
      vm_count: 3,
    });
    expect(byType['c7i.large']).toMatchObject({
      provider: 'aws',
      arch: 'x86_64',
      slots_per_vm: 2,
      vm_count: 2,
    });
    expect(byType.Standard_D2pls_v6).toMatchObject({
      provider: 'azure',
      arch: 'arm64',
      slots_per_vm: 2,
      vm_count: 2,
    });
    expect(byType.Standard_F2als_v6).toMatchObject({ arch: 'x86_64', slots_per_vm: 2, vm_count: 2 });
    expect(plan.aws.map((e) => e.instance_type)).toEqual(SPEC_CONFIG.aws);
    expect(plan.total_vms).toBe(5 * 3 + 2 * 2 + 4 * 2);
    expect(plan.unpriced).toEqual([]);
    expect(plan.local).toEqual([]);
  });

  it('plans one slot per physical core with slots=cores', () => {
    const plan = planFleet(SPEC_CONFIG, { slots: 'cores' });
    const byType = Object.fromEntries([...plan.aws, ...plan.azure].map((e) => [e.instance_type, e]));
    // SMT sizes lose their sibling slot; Cobalt and the v6 F-family have no SMT to lose.
    expect(byType['c7i.large']).toMatchObject({ vcpus: 2, physical_cores: 1, slots_per_vm: 1, vm_count: 3 });
    expect(byType.Standard_D2als_v6).toMatchObject({ slots_per_vm: 1, vm_count: 3 });
    expect(byType.Standard_D2pls_v6).toMatchObject({ slots_per_vm: 2, vm_count: 2 });
    expect(byType.Standard_F2als_v6).toMatchObject({ slots_per_vm: 2, vm_count: 2 });
  });

  it('rounds the VM count up and prices it per VM', () => {
    const plan = planFleet(config({ runs_per_instance_type: 5, aws: ['c7i.large'], azure: undefined }));
    const [entry] = plan.aws;
    expect(entry).toMatchObject({ tasks: 5, vm_count: 3, hourly_usd_per_vm: 0.0893, hourly_usd: 0.2679 });
    expect(plan.hourly_usd).toBe(0.2679);
    expect(plan.azure).toEqual([]);
  });

  it('gives local instance types no VMs', () => {
    const plan = planFleet(config({ aws: undefined, azure: undefined, local: ['laptop', 'ci-box'] }));
    expect(plan).toMatchObject({
      aws: [],
      azure: [],
      local: ['laptop', 'ci-box'],
      total_vms: 0,
      hourly_usd: 0,
    });
  });

  it('keeps a derived type in the plan but lists it as unpriced', () => {
    const plan = planFleet(config({ aws: ['c7g.medium', 'c7g.2xlarge'], azure: undefined }));
    expect(plan.aws[1]).toMatchObject({ vcpus: 8, vm_count: 1, hourly_usd: null });
    expect(plan.unpriced).toEqual(['aws:c7g.2xlarge']);
    expect(plan.hourly_usd).toBe(0.1089);
  });

  it('names the type it cannot resolve', () => {
    expect(() => planFleet(config({ azure: ['Standard_D2pls_v6', 'Basic_A0'] }))).toThrow(/"Basic_A0"/);
  });

  it('turns a provider into the size -> count map terraform-azure takes', () => {
    expect(vmCounts(planFleet(SPEC_CONFIG), 'azure')).toEqual({
      Standard_D2pls_v6: 2,
      Standard_D2als_v6: 2,
      Standard_D2ls_v6: 2,
      Standard_F2als_v6: 2,
    });
  });
});

describe('estimateCost', () => {
  it('bills every VM for overhead plus one task', () => {
    const plan = planFleet(
      config({ runs_per_instance_type: 4, aws: ['c7g.medium', 'c7i.large'], azure: undefined }),
    );
    // 4 c7g.medium VMs at 0.0363, 2 c7i.large VMs at 0.0893; 50 + 10 minutes = 1 hour.
    const cost = estimateCost(plan, 50);
    expect(cost.billed_hours_per_vm).toBe(1);
    expect(cost.entries).toEqual([
      { provider: 'aws', instance_type: 'c7g.medium', usd: 0.1452 },
      { provider: 'aws', instance_type: 'c7i.large', usd: 0.1786 },
    ]);
    expect(cost.total_usd).toBe(0.3238);
    expect(estimateCost(plan, 110, { overheadMinutes: 10 }).total_usd).toBe(0.6476);
    expect(estimateCost(plan, 0, { overheadMinutes: 0 }).total_usd).toBe(0);
  });

  it('leaves unpriced types out of the total and says so', () => {
    const plan = planFleet(config({ aws: undefined, azure: ['Standard_D2pls_v6', 'Standard_D8pls_v6'] }));
    const cost = estimateCost(plan, 50);
    expect(cost.entries[1]).toEqual({ provider: 'azure', instance_type: 'Standard_D8pls_v6', usd: null });
    expect(cost.unpriced).toEqual(['azure:Standard_D8pls_v6']);
    expect(cost.total_usd).toBe(0.1344);
  });

  it('rejects a negative duration', () => {
    expect(() => estimateCost(planFleet(SPEC_CONFIG), -1)).toThrow(RangeError);
  });
});

describe("a VM's maximum life", () => {
  it('outlasts boot, the start wait, every attempt of a task at its timeout, and an hour more', () => {
    // the runner's own defaults, which cloud VMs run with, are the ones the bound is built on
    expect([DEFAULTS.taskTimeoutS, DEFAULTS.startWaitS]).toEqual([
      RUNNER_TASK_TIMEOUT_S,
      RUNNER_START_WAIT_S,
    ]);
    const one = [{ tasks: 3, vm_count: 2, slots_per_vm: 2 }];
    // 20 min boot + 60 min start wait + attempts x (120 + 15 min) + 60 min, in whole hours up
    expect(defaultMaxVmHours({}, one)).toBe(5);
    expect(defaultMaxVmHours({ max_attempts: 1 }, one)).toBe(5);
    expect(defaultMaxVmHours({ max_attempts: 2 }, one)).toBe(7);
    expect(defaultMaxVmHours({ max_attempts: 5 }, one)).toBe(14);
    // more tasks than slots (a plan that capped VMs): each slot runs them one after another
    expect(defaultMaxVmHours({}, [{ tasks: 8, vm_count: 2, slots_per_vm: 2 }])).toBe(7);
    expect(defaultMaxVmHours({ max_attempts: 5 }, [{ tasks: 100, vm_count: 1, slots_per_vm: 1 }])).toBe(
      MAX_MAX_VM_HOURS,
    );
  });

  it("is every plan's, by default the run's, and bounds the worst case of the estimate", () => {
    expect(planFleet(SPEC_CONFIG).max_vm_hours).toBe(5);
    expect(planFleet(config({ max_attempts: 3 })).max_vm_hours).toBe(10);
    expect(planFleet(SPEC_CONFIG, { maxVmHours: 2.5 }).max_vm_hours).toBe(2.5);
    const plan = planFleet(
      config({ runs_per_instance_type: 4, aws: ['c7g.medium', 'c7i.large'], azure: undefined }),
    );
    // 4 x 0.0363 + 2 x 0.0893 an hour, for 5 hours
    expect(estimateCost(plan, 50).worst_case_usd).toBe(1.619);
  });

  it('turns hours into the whole minutes of the timer', () => {
    expect([maxVmMinutes(5), maxVmMinutes(2.5), maxVmMinutes(1.1), maxVmMinutes(1.0083)]).toEqual([
      300, 150, 66, 60,
    ]);
  });
});
