// CPU topology and slot planning. One slot per vCPU is the spec's rule; `cores` gives one slot per
// physical core because two benchmarks on SMT siblings of one core slow each other down.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface CpuTopology {
  /** Logical CPU numbers, ascending. */
  cpus: number[];
  /** For each logical CPU, every logical CPU of the same physical core (itself included). */
  siblings: Map<number, number[]>;
  physicalCores: number;
}

export interface Slot {
  index: number;
  cpu: number;
  /** The other logical CPUs of this slot's physical core. */
  siblings: number[];
}

export type SlotsSetting = number | 'auto' | 'cores';
/** The most slots a runner takes (a runner id's `-<slot>` suffix is sized for it). */
export const MAX_SLOTS = 1024;
export const SLOTS_CHOICES = `auto, cores or a whole number from 1 to ${MAX_SLOTS}`;

/** Parses a kernel CPU list like `0-3,8,10-11`. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-').map((n) => Number.parseInt(n, 10));
    if (a === undefined || Number.isNaN(a)) continue;
    const end = b === undefined || Number.isNaN(b) ? a : b;
    for (let i = a; i <= end; i++) out.push(i);
  }
  return out;
}

/** The other way: a CPU list in the kernel's form (`0-3,8`), as cpuset and sysfs write them. */
export function cpuListText(cpus: number[]): string {
  const sorted = [...cpus].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] ?? 0) + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

type ReadFile = (path: string) => string | undefined;
const readOrUndefined: ReadFile = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * Reads the topology from sysfs; without it, every CPU counts as its own core. A host that tells
 * nothing (no sysfs, and os.cpus() empty, as in some containers) counts as one CPU: a runner with
 * no slot would exit at once, and on a VM power its host off with the queue untouched.
 */
export function readTopology(
  read: ReadFile = readOrUndefined,
  cpuCount: () => number = () => cpus().length,
): CpuTopology {
  const online = read('/sys/devices/system/cpu/online');
  let list = online ? parseCpuList(online) : [];
  if (list.length === 0) list = Array.from({ length: cpuCount() }, (_, i) => i);
  if (list.length === 0) list = [0];
  const siblings = new Map<number, number[]>();
  for (const cpu of list) {
    const s = read(`/sys/devices/system/cpu/cpu${cpu}/topology/thread_siblings_list`);
    siblings.set(cpu, s ? parseCpuList(s) : [cpu]);
  }
  const cores = new Set([...siblings.values()].map((s) => Math.min(...s)));
  return { cpus: list, siblings, physicalCores: cores.size };
}

/** Assigns CPUs to slots: `auto` every vCPU, `cores` the first thread of each core, N the first N. */
export function planSlots(topo: CpuTopology, setting: SlotsSetting): Slot[] {
  let chosen: number[];
  if (setting === 'auto') chosen = topo.cpus;
  else if (setting === 'cores')
    chosen = topo.cpus.filter((c) => Math.min(...(topo.siblings.get(c) ?? [c])) === c);
  else {
    // More slots than CPUs wraps around: useful for tests and I/O-bound workloads, noted in meta.
    chosen = Array.from({ length: setting }, (_, i) => topo.cpus[i % topo.cpus.length] ?? 0);
  }
  // a sibling list that names only offline CPUs leaves `cores` with none: one slot, not zero
  if (chosen.length === 0) chosen = topo.cpus.slice(0, 1);
  return chosen.map((cpu, index) => ({
    index,
    cpu,
    siblings: (topo.siblings.get(cpu) ?? [cpu]).filter((c) => c !== cpu),
  }));
}

/** Busy and total jiffies per CPU from /proc/stat, to tell whether a sibling was busy during a task. */
export function readCpuTimes(read: ReadFile = readOrUndefined): Map<number, { busy: number; total: number }> {
  const out = new Map<number, { busy: number; total: number }>();
  const text = read('/proc/stat');
  if (!text) return out;
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    const v = m[2].split(/\s+/).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
    out.set(Number(m[1]), { busy: total - idle, total });
  }
  return out;
}

/** True when any sibling was more than half busy between two samples; null when unknown. */
export function siblingBusy(
  siblings: number[],
  before: Map<number, { busy: number; total: number }>,
  after: Map<number, { busy: number; total: number }>,
): boolean | null {
  if (siblings.length === 0) return false;
  let known = false;
  for (const cpu of siblings) {
    const a = before.get(cpu);
    const b = after.get(cpu);
    if (!a || !b || b.total <= a.total) continue;
    known = true;
    if ((b.busy - a.busy) / (b.total - a.total) > 0.5) return true;
  }
  return known ? false : null;
}
