// CPU shares for `benchfleet local --workload docker`. Every local runner runs on this one machine
// and pins each slot's container to a CPU of its topology; given the whole host each, two runners
// would pin containers to the same CPUs at once, skewing both with nothing in meta.json to say so.
// So each runner gets a disjoint share, and when there are more types than shares, types take turns.
import { type CpuTopology, cpuListText, readTopology, type SlotsSetting } from '../../runner/topology';

/** The host's physical cores, each as its online logical CPUs, ascending, in CPU order. */
function coresOf(topo: CpuTopology): number[][] {
  const byCore = new Map<number, number[]>();
  for (const cpu of topo.cpus) {
    const core = Math.min(...(topo.siblings.get(cpu) ?? [cpu]));
    byCore.set(core, [...(byCore.get(core) ?? []), cpu]);
  }
  return [...byCore.values()].map((c) => c.sort((a, b) => a - b)).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
}

/** `cores` cut into `k` runs of neighbouring cores (neighbours tend to share caches), sizes within one. */
function split(cores: number[][], k: number): number[][][] {
  const out: number[][][] = [];
  let at = 0;
  for (let i = 0; i < k; i++) {
    const size = Math.floor(cores.length / k) + (i < cores.length % k ? 1 : 0);
    out.push(cores.slice(at, at + size));
    at += size;
  }
  return out;
}

function shareOf(topo: CpuTopology, cores: number[][]): CpuTopology {
  const cpus = cores.flat().sort((a, b) => a - b);
  return {
    cpus,
    siblings: new Map(cpus.map((c) => [c, topo.siblings.get(c) ?? [c]])),
    physicalCores: cores.length,
  };
}

/**
 * Shares the host's CPUs out among up to `types` runners, as topologies to pass them. Whole cores
 * only: SMT siblings stay in one share, so `--slots cores` is still one slot per physical core and a
 * busy sibling (meta's sibling_busy) is the runner's own doing, as on a cloud instance. Each share
 * has room for the runner's slots (`--slots N`: N CPUs), so no runner wraps its slots onto CPUs
 * because of the split; there are fewer shares than types when the cores run out. Only `--slots N`
 * above the host's CPUs leaves one share, the whole host, whose runner wraps as it would alone.
 */
export function shareCpus(topo: CpuTopology, types: number, slots: SlotsSetting): CpuTopology[] {
  const cores = coresOf(topo);
  const need = typeof slots === 'number' ? slots : 1;
  for (let k = Math.min(types, cores.length); k > 1; k--) {
    const shares = split(cores, k);
    if (shares.every((s) => s.flat().length >= need)) return shares.map((s) => shareOf(topo, s));
  }
  return [shareOf(topo, cores)];
}

/**
 * The shares of a local run's runners: docker pins each container to a CPU of its runner's
 * topology. The synthetic workload pins nothing (worker threads): undefined, every runner as before.
 */
export function localShares(
  settings: { workload: string; slots: SlotsSetting },
  types: number,
  topo: CpuTopology = readTopology(),
): CpuTopology[] | undefined {
  return settings.workload === 'docker' ? shareCpus(topo, types, settings.slots) : undefined;
}

/** The longest `pending_timeout_minutes` a run config may ask for (RunConfig: 24 hours). */
export const MAX_PENDING_TIMEOUT_MINUTES = 24 * 60;

/**
 * What a run whose types take turns must add to its config: the reaper fails a type nobody claimed
 * from within `pending_timeout_minutes` of the start as no_runner (30 by default), and a waiting
 * type claims nothing until a type before it is done. So such a run waits the longest it may.
 */
export function turnsTimeout(
  types: number,
  shares: CpuTopology[] | undefined,
): { pending_timeout_minutes?: number } {
  if (!shares || types <= shares.length) return {};
  // even over a config's own value: a type failed before its turn would not run at all
  return { pending_timeout_minutes: MAX_PENDING_TIMEOUT_MINUTES };
}

/** The progress line that says which CPUs each type gets, or that types take turns on them. */
export function sharesLine(types: string[], shares: CpuTopology[], slots: SlotsSetting): string {
  const host = shares.reduce((n, s) => n + s.cpus.length, 0);
  const first = types
    .slice(0, shares.length)
    .map((t, i) => `${t} on ${cpuListText(shares[i]?.cpus ?? [])}`)
    .join('; ');
  const one = shares[0]?.cpus.length ?? 0;
  const wraps =
    typeof slots === 'number' && shares.length === 1 && slots > one
      ? ` (--slots ${slots} is more than the ${one} CPUs: some slots share a CPU)`
      : '';
  if (types.length <= shares.length) return `  CPUs:         ${first}${wraps}`;
  const rest = types.slice(shares.length);
  const then = rest.length <= 3 ? rest.join(', ') : `the other ${rest.length}`;
  const why = typeof slots === 'number' ? `--slots ${slots} on ${host} CPUs` : `${host} CPUs`;
  return `  CPUs:         ${types.length} types take turns, ${shares.length} at a time (${why}): ${first}; then ${then}, each on the CPUs of a type that finished${wraps}`;
}

/** What RunnerTurns needs of a started runner. */
export interface TurnRunner {
  /** Settles when the runner has ended: its type is drained, or it was stopped. */
  done: Promise<unknown>;
  stop(): void;
}

/**
 * Starts a runner per type, at most one per share at a time: a type waits until a runner ends and
 * starts on the share it freed. Without shares (no cpuset: the synthetic workload) all start at once.
 */
export class RunnerTurns<R extends TurnRunner> {
  /** Every runner started so far, in order. */
  readonly started: R[] = [];
  private readonly waiting: string[];
  private stopping = false;

  constructor(
    types: string[],
    shares: CpuTopology[] | undefined,
    private readonly start: (type: string, topology?: CpuTopology) => R,
  ) {
    this.waiting = [...types];
    if (!shares) while (this.waiting.length > 0) this.next(undefined);
    else for (const share of shares) this.next(share);
  }

  /** The types still waiting for a share. */
  get pending(): readonly string[] {
    return this.waiting;
  }

  private next(share: CpuTopology | undefined): void {
    if (this.stopping) return;
    const type = this.waiting.shift();
    if (type === undefined) return;
    const runner = this.start(type, share);
    this.started.push(runner);
    // the share is free once the runner has ended, whichever way it ended
    if (share)
      runner.done.then(
        () => this.next(share),
        () => this.next(share),
      );
  }

  /** Stops every started runner and starts no more; answers them all once each has ended. */
  async stop(): Promise<R[]> {
    this.stopping = true;
    const started = [...this.started];
    for (const r of started) r.stop();
    await Promise.all(started.map((r) => r.done.catch(() => undefined)));
    return started;
  }
}
