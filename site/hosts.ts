// Where each type's runs ran, and how full their VMs were. A type gets ceil(runs / vCPUs) VMs and
// each runs one benchmark per vCPU at once, so a type's runs may all share one VM (its interval then
// says nothing of how VMs of the type differ), and with fewer runs than vCPUs a VM runs partly idle
// while another type's run full. The runners record the host and the busy slots in meta.json; tasks from
// older runners, which do not, are left out, and an archive without them gets no warning.
import { MAX_RUNS_PER_INSTANCE_TYPE } from '../lambdas/shared/contract';
import type { TaskResult } from './model';

/** The task's provider, from the manifest or else its meta.json. */
const providerOf = (t: TaskResult): string | null | undefined => t.provider ?? t.meta?.provider;

/**
 * The tasks that ranked, by type. Local types are left out: every local runner shares the one
 * machine with the others (which its slot counts do not see), and more VMs are not to be had.
 */
function rankedByType(tasks: TaskResult[]): Map<string, TaskResult[]> {
  const out = new Map<string, TaskResult[]>();
  for (const t of tasks) {
    if (t.outcome !== 'completed' || providerOf(t) === 'local') continue;
    out.set(t.instanceType, [...(out.get(t.instanceType) ?? []), t]);
  }
  return out;
}

/** One warning per way the types' runs were placed unevenly; none when the meta.json do not say. */
export function hostWarnings(tasks: TaskResult[]): string[] {
  const byType = rankedByType(tasks);
  return [oneHostWarning(byType), loadWarning(byType)].filter((w): w is string => w !== null);
}

/** Types with two or more runs (so an interval) whose every run names one and the same host. */
function oneHostWarning(byType: Map<string, TaskResult[]>): string | null {
  const single: string[] = [];
  for (const [type, runs] of [...byType].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const hosts = runs.map((t) => t.meta?.host_id);
    if (runs.length < 2 || !hosts.every((h) => typeof h === 'string' && h !== '')) continue;
    if (new Set(hosts).size === 1) single.push(`${type} (${runs.length} runs on ${hosts[0]})`);
  }
  if (single.length === 0) return null;
  return (
    `every run of these types came from a single VM: ${listed(single)}. Their 95 % intervals show ` +
    'how runs vary on that one VM, not how one VM of the type differs from another (another physical ' +
    'server, CPU stepping or neighbours in the cloud), so they can look surer than they are. To measure ' +
    "that too, set runs_per_instance_type above the type's vCPU count: a VM runs one benchmark per vCPU, " +
    'so its runs then spread over two or more VMs'
  );
}

/**
 * How full this task's VM was: the most slots running a benchmark at once while it ran (its own
 * included) over the VM's vCPUs (the runner's default is one slot per vCPU); null when it does not say.
 */
function load(t: TaskResult): { busy: number; vcpus: number } | null {
  const busy = t.meta?.busy_slots_max ?? t.meta?.busy_slots_at_start;
  const vcpus = t.meta?.vcpus;
  if (typeof busy !== 'number' || !Number.isInteger(busy) || busy < 1) return null;
  if (typeof vcpus !== 'number' || !Number.isInteger(vcpus) || vcpus < 1) return null;
  return { busy: Math.min(busy, vcpus), vcpus };
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Types whose VMs ran full beside types whose VMs ran partly idle (by half a VM or more on average).
 * Types of different sizes that all ran full are alike: that is the comparison work per $/h makes.
 */
function loadWarning(byType: Map<string, TaskResult[]>): string | null {
  const perType: Array<{ type: string; mean: number; full: boolean; what: string; vcpus: number }> = [];
  for (const [type, runs] of byType) {
    const loads = runs.map(load).filter((l): l is { busy: number; vcpus: number } => l !== null);
    if (loads.length === 0) continue;
    const vcpus = Math.max(...loads.map((l) => l.vcpus));
    const busy = loads.map((l) => l.busy);
    const [min, max] = [Math.min(...busy), Math.max(...busy)];
    const mean = loads.reduce((sum, l) => sum + l.busy / l.vcpus, 0) / loads.length;
    const full = loads.every((l) => l.busy >= l.vcpus);
    const what = `${type} at most ${min === max ? max : `${min} to ${max}`} of ${vcpus}`;
    perType.push({ type, mean, full, what, vcpus });
  }
  if (perType.length < 2) return null;
  const means = perType.map((p) => p.mean);
  if (Math.max(...means) - Math.min(...means) < 0.5) return null;
  perType.sort((a, b) => a.mean - b.mean || (a.type < b.type ? -1 : 1));
  const full = perType.filter((p) => p.full).map((p) => p.type);
  const idle = perType.filter((p) => !p.full).map((p) => p.what);
  const said = [`${listed(idle)} vCPUs busy`, ...(full.length > 0 ? [`${listed(full)} full`] : [])];
  const lcm = perType.reduce((acc, p) => (acc * p.vcpus) / gcd(acc, p.vcpus), 1);
  const how =
    lcm <= MAX_RUNS_PER_INSTANCE_TYPE
      ? `set runs_per_instance_type to a multiple of every type's vCPU count (${lcm} here)`
      : "set runs_per_instance_type to a multiple of each type's vCPU count, or compare types of one size per run";
  return (
    `the types' VMs were not loaded alike: ${said.join('; ')} (the most vCPUs running a benchmark at once). ` +
    'A VM with idle vCPUs leaves each benchmark more memory bandwidth, cache and turbo headroom than a full ' +
    'one, so a type whose VMs ran partly idle looks faster per run than it would full, and its work per $/h, ' +
    `which counts a full VM, is overstated. To compare full machines, ${how}`
  );
}

function listed(items: string[]): string {
  if (items.length > 8) return `${items.slice(0, 7).join(', ')} and ${items.length - 7} more`;
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
