// The instance type catalog: the one place that knows how big a VM size is and what it costs. The
// fleet plan (lambdas/shared/fleet-plan.ts), the AWS fleet stack and the Azure tfvars read it.
import type { Provider } from './contract';

export type Arch = 'x86_64' | 'arm64';
export type CloudProvider = Exclude<Provider, 'local'>;

export interface InstanceSpec {
  provider: CloudProvider;
  instance_type: string;
  arch: Arch;
  vcpus: number;
  /** Cores without SMT siblings: the `--slots cores` count. */
  physical_cores: number;
  /** null when derived from the name, which does not encode it reliably. */
  memory_gib: number | null;
  /** On-demand USD per hour, Linux; null when the type is not in the catalog. */
  hourly_usd: number | null;
  /** true when the spec was derived from the name rather than read from the catalog. */
  derived: boolean;
}

/**
 * Public on-demand list prices (Linux, AWS us-east-1, Azure eastus, pay as you go), for estimates
 * ("is this run $5 or $500"), not for billing. Checked on 2026-11-30 against stored copies of
 * public price tables: for AWS, the us-east-1 list in aws/karpenter-provider-aws (built from the
 * AWS price list, January 2026) and the SkyPilot catalog; for Azure, the SkyPilot catalog and the
 * eastus list in Azure/karpenter-provider-azure. No source was found for the Azure v6 rows, which
 * are unconfirmed: D2pls_v6, D2ps_v6, D4pls_v6, D2als_v6, D2as_v6, D2ls_v6, D2s_v6, F2als_v6 and
 * F2as_v6. Update the table and this date together.
 */
export const PRICES_AS_OF = '2026-11';
export const PRICE_REGIONS: Readonly<Record<CloudProvider, string>> = { aws: 'us-east-1', azure: 'eastus' };

type Row = readonly [
  provider: CloudProvider,
  name: string,
  arch: Arch,
  vcpus: number,
  cores: number,
  gib: number,
  usd: number,
];

// Graviton and 7th/8th generation AMD on AWS expose one vCPU per core; Intel (and AMD before the
// 7th generation) two vCPUs per core. On Azure, Cobalt/Ampere (`p`) and the v6 F-family have no
// SMT; the other x86 sizes here do.
const ROWS: readonly Row[] = [
  ['aws', 'c6g.medium', 'arm64', 1, 1, 2, 0.034],
  ['aws', 'c6g.large', 'arm64', 2, 2, 4, 0.068],
  ['aws', 'c7g.medium', 'arm64', 1, 1, 2, 0.0363],
  ['aws', 'c7g.large', 'arm64', 2, 2, 4, 0.0725],
  ['aws', 'c8g.medium', 'arm64', 1, 1, 2, 0.0399],
  ['aws', 'c8g.large', 'arm64', 2, 2, 4, 0.0798],
  ['aws', 'm7g.medium', 'arm64', 1, 1, 4, 0.0408],
  ['aws', 'm8g.medium', 'arm64', 1, 1, 4, 0.0449],
  ['aws', 'c7a.medium', 'x86_64', 1, 1, 2, 0.0513],
  ['aws', 'c7a.large', 'x86_64', 2, 2, 4, 0.1026],
  ['aws', 'c8a.medium', 'x86_64', 1, 1, 2, 0.0539],
  ['aws', 'c8a.large', 'x86_64', 2, 2, 4, 0.1078],
  ['aws', 'c6a.large', 'x86_64', 2, 1, 4, 0.0765],
  ['aws', 'c6i.large', 'x86_64', 2, 1, 4, 0.085],
  ['aws', 'c7i.large', 'x86_64', 2, 1, 4, 0.0893],
  ['aws', 'c8i.large', 'x86_64', 2, 1, 4, 0.0937],
  ['aws', 'm7i.large', 'x86_64', 2, 1, 8, 0.1008],
  ['azure', 'Standard_D2pls_v6', 'arm64', 2, 2, 4, 0.0672],
  ['azure', 'Standard_D2ps_v6', 'arm64', 2, 2, 8, 0.077],
  ['azure', 'Standard_D4pls_v6', 'arm64', 4, 4, 8, 0.1344],
  ['azure', 'Standard_D2pls_v5', 'arm64', 2, 2, 4, 0.068],
  ['azure', 'Standard_D2als_v6', 'x86_64', 2, 1, 4, 0.0846],
  ['azure', 'Standard_D2as_v6', 'x86_64', 2, 1, 8, 0.0946],
  ['azure', 'Standard_D2ls_v6', 'x86_64', 2, 1, 4, 0.0888],
  ['azure', 'Standard_D2s_v6', 'x86_64', 2, 1, 8, 0.101],
  ['azure', 'Standard_D2s_v5', 'x86_64', 2, 1, 8, 0.096],
  ['azure', 'Standard_F2als_v6', 'x86_64', 2, 2, 4, 0.085],
  ['azure', 'Standard_F2as_v6', 'x86_64', 2, 2, 8, 0.0955],
];

export const INSTANCE_TYPES: ReadonlyMap<string, InstanceSpec> = new Map(
  ROWS.map(([provider, name, arch, vcpus, cores, gib, usd]) => [
    key(provider, name),
    {
      provider,
      instance_type: name,
      arch,
      vcpus,
      physical_cores: cores,
      memory_gib: gib,
      hourly_usd: usd,
      derived: false,
    },
  ]),
);

export class UnknownInstanceTypeError extends Error {
  override name = 'UnknownInstanceTypeError';
  constructor(
    readonly provider: string,
    readonly instanceType: string,
    reason: string,
    fix = 'add it to the catalog in lambdas/shared/instance-types.ts',
  ) {
    super(`cannot use ${provider} instance type "${instanceType}": ${reason}; ${fix}`);
  }
}

/**
 * Burstable sizes run at a baseline share of their vCPUs once their CPU credits (or, for the flex
 * sizes, their burst budget) run out: a benchmark of hours measures the credit balance, not the
 * machine. Refused by rule, so that adding one to the catalog does not let it in either.
 */
const BURSTABLE: Readonly<Record<CloudProvider, RegExp>> = {
  aws: /^(t\d+[a-z]*\.|[a-z]\d+[a-z]*-flex\.)/,
  azure: /^Standard_B\d/,
};

function burstable(provider: CloudProvider, instanceType: string): UnknownInstanceTypeError | undefined {
  if (!BURSTABLE[provider].test(instanceType)) return undefined;
  return new UnknownInstanceTypeError(
    provider,
    instanceType,
    'it is a burstable size, which runs at a fraction of its vCPUs once its CPU credits run out, so its figures would measure the credit balance rather than the machine',
    provider === 'aws' ? 'pick a c, m or r size instead' : 'pick a D or F size instead',
  );
}

/** The catalog's entry, else one derived from the name, else UnknownInstanceTypeError. */
export function instanceSpec(provider: CloudProvider, instanceType: string): InstanceSpec {
  const refused = burstable(provider, instanceType);
  if (refused) throw refused;
  const known = INSTANCE_TYPES.get(key(provider, instanceType));
  if (known) return known;
  const derived = deriveSpec(provider, instanceType);
  if (typeof derived === 'string') throw new UnknownInstanceTypeError(provider, instanceType, derived);
  return {
    provider,
    instance_type: instanceType,
    memory_gib: null,
    hourly_usd: null,
    derived: true,
    ...derived,
  };
}

/** The catalog's list price (USD per hour, PRICES_AS_OF, PRICE_REGIONS); null when it has none. */
export function listPrice(provider: string, instanceType: string): number | null {
  if (provider !== 'aws' && provider !== 'azure') return null;
  return INSTANCE_TYPES.get(key(provider, instanceType))?.hourly_usd ?? null;
}

export type DerivedSpec = Pick<InstanceSpec, 'arch' | 'vcpus' | 'physical_cores'>;

/** What the name alone says, or why it says too little. Exported so tests can hold it to the catalog. */
export function deriveSpec(provider: CloudProvider, instanceType: string): DerivedSpec | string {
  return provider === 'aws' ? deriveAws(instanceType) : deriveAzure(instanceType);
}

// AWS: <family letters><generation digit><attribute letters>.<size>, e.g. c7gd.xlarge. A 'g' first
// among the attributes means Graviton (c7g, m6gd, im4gn); 'a' AMD and 'i' Intel are x86_64.
// vCPUs follow the size only for the general c/m/r families (t3.micro has 2 vCPUs, not fewer).
const AWS_NAME = /^(c|m|r)(\d)([a-z]*)\.(medium|large|xlarge|(\d+)xlarge)$/;

function deriveAws(name: string): DerivedSpec | string {
  const m = AWS_NAME.exec(name);
  if (!m) return 'only c/m/r families with a medium..NNxlarge size can be derived from the name';
  const generation = Number(m[2]);
  const attrs = m[3] ?? '';
  const size = m[4] ?? '';
  const vcpus = size === 'medium' ? 1 : size === 'large' ? 2 : 4 * Number(m[5] ?? 1);
  let arch: Arch;
  let smt: boolean;
  if (attrs.startsWith('g')) [arch, smt] = ['arm64', false];
  else if (attrs.startsWith('a')) [arch, smt] = ['x86_64', generation < 7];
  else if (attrs === '' || attrs.startsWith('i')) [arch, smt] = ['x86_64', true];
  else return `attributes "${attrs}" do not say which processor it has`;
  return { arch, vcpus, physical_cores: smt ? Math.max(1, Math.floor(vcpus / 2)) : vcpus };
}

// Azure: Standard_<family><vCPUs><feature letters>[_v<version>], e.g. Standard_D4als_v6. 'p' among
// the features means an Arm64 processor (Ampere, Cobalt); constrained sizes (M8-2ms) are refused.
const AZURE_NAME = /^Standard_([A-Z]+)(\d+)([a-z]*)(?:_v(\d+))?$/;

function deriveAzure(name: string): DerivedSpec | string {
  const m = AZURE_NAME.exec(name);
  if (!m) return 'the name does not look like Standard_<family><vCPUs><features>_v<N>';
  const family = m[1] ?? '';
  const vcpus = Number(m[2]);
  const features = m[3] ?? '';
  const version = Number(m[4] ?? 1);
  if (vcpus < 1) return 'the vCPU count in the name is zero';
  if (features.includes('p')) return { arch: 'arm64', vcpus, physical_cores: vcpus };
  // The v6 AMD F-family is the x86 exception without SMT.
  const noSmt = family === 'F' && features.includes('a') && version >= 6;
  return { arch: 'x86_64', vcpus, physical_cores: noSmt ? vcpus : Math.max(1, Math.floor(vcpus / 2)) };
}

function key(provider: CloudProvider, name: string): string {
  return `${provider}:${name}`;
}
