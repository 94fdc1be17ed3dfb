// `benchfleet local --workload docker` shares the host's CPUs out among its runners: whole cores,
// disjoint, each with room for its slots; types beyond the shares wait for a runner to end.
import {
  localShares,
  MAX_PENDING_TIMEOUT_MINUTES,
  RunnerTurns,
  shareCpus,
  sharesLine,
  type TurnRunner,
  turnsTimeout,
} from '../../cli/lib/local-cpus';
import { type CpuTopology, cpuListText, planSlots, readTopology } from '../../runner/topology';

/** A topology as sysfs would tell it: `cores` lists each physical core's logical CPUs. */
function host(cores: number[][]): CpuTopology {
  const online = cores.flat().sort((a, b) => a - b);
  const siblingsOf = (cpu: number): string => (cores.find((c) => c.includes(cpu)) ?? [cpu]).join(',');
  return readTopology((p) => {
    if (p.endsWith('/online')) return online.join(',');
    const m = /cpu(\d+)\/topology\/thread_siblings_list$/.exec(p);
    return m ? siblingsOf(Number(m[1])) : undefined;
  });
}

const noSmt = (n: number): CpuTopology => host(Array.from({ length: n }, (_, i) => [i]));
// four cores, two threads each, numbered as EC2 and most x86 hosts do: siblings i and i+4
const smt = host([
  [0, 4],
  [1, 5],
  [2, 6],
  [3, 7],
]);

const cpusOf = (shares: CpuTopology[]): number[][] => shares.map((s) => s.cpus);

/** No CPU is in two shares, and every share's siblings are in it. */
function expectDisjointWholeCores(shares: CpuTopology[]): void {
  const all = shares.flatMap((s) => s.cpus);
  expect(new Set(all).size).toBe(all.length);
  for (const s of shares)
    for (const cpu of s.cpus) for (const sib of s.siblings.get(cpu) ?? []) expect(s.cpus).toContain(sib);
}

describe('shareCpus', () => {
  it('gives each type its own CPUs when there are enough (no SMT)', () => {
    expect(cpusOf(shareCpus(noSmt(2), 2, 'auto'))).toEqual([[0], [1]]);
    expect(cpusOf(shareCpus(noSmt(8), 3, 'auto'))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7],
    ]);
    expect(cpusOf(shareCpus(noSmt(8), 1, 'auto'))).toEqual([[0, 1, 2, 3, 4, 5, 6, 7]]);
    expectDisjointWholeCores(shareCpus(noSmt(8), 3, 'auto'));
  });

  it('keeps SMT siblings in one share, so `cores` is still one slot per physical core', () => {
    const shares = shareCpus(smt, 2, 'cores');
    expect(cpusOf(shares)).toEqual([
      [0, 1, 4, 5],
      [2, 3, 6, 7],
    ]);
    expectDisjointWholeCores(shares);
    expect(shares.map((s) => s.physicalCores)).toEqual([2, 2]);
    expect(planSlots(shares[0] as CpuTopology, 'cores').map((s) => s.cpu)).toEqual([0, 1]);
    expect(planSlots(shares[1] as CpuTopology, 'cores').map((s) => s.cpu)).toEqual([2, 3]);
    // auto: each slot's sibling is a slot of the same runner, so sibling_busy tells of it
    expect(planSlots(shares[1] as CpuTopology, 'auto').map((s) => [s.cpu, s.siblings])).toEqual([
      [2, [6]],
      [3, [7]],
      [6, [2]],
      [7, [3]],
    ]);
    // one core each: never a thread of a core in one share and its sibling in another
    expect(cpusOf(shareCpus(smt, 4, 'auto'))).toEqual([
      [0, 4],
      [1, 5],
      [2, 6],
      [3, 7],
    ]);
  });

  it('makes fewer shares than types when the cores run out: the others take turns', () => {
    expect(cpusOf(shareCpus(noSmt(2), 3, 'auto'))).toEqual([[0], [1]]);
    expect(cpusOf(shareCpus(smt, 6, 'auto'))).toHaveLength(4);
    // two threads of one core are one share, whatever the slots
    expect(cpusOf(shareCpus(host([[0, 1]]), 2, 1))).toEqual([[0, 1]]);
    expect(cpusOf(shareCpus(noSmt(1), 5, 'cores'))).toEqual([[0]]);
  });

  it('leaves room for --slots N in every share, and the whole host when N is more than it has', () => {
    expect(cpusOf(shareCpus(noSmt(4), 4, 2))).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(cpusOf(shareCpus(noSmt(5), 3, 2))).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
    expect(cpusOf(shareCpus(noSmt(2), 2, 2))).toEqual([[0, 1]]);
    expect(cpusOf(shareCpus(noSmt(2), 2, 4))).toEqual([[0, 1]]);
    // with SMT, N counts vCPUs as --slots N does on its own: 2 slots fit one core's two threads
    expect(cpusOf(shareCpus(smt, 4, 2))).toHaveLength(4);
    expect(cpusOf(shareCpus(smt, 4, 3))).toEqual([
      [0, 1, 4, 5],
      [2, 3, 6, 7],
    ]);
    for (const shares of [shareCpus(noSmt(5), 3, 2), shareCpus(smt, 4, 3)])
      for (const s of shares) expect(new Set(planSlots(s, 2).map((x) => x.cpu)).size).toBe(2);
  });
});

describe('localShares and turnsTimeout', () => {
  it('shares CPUs out for docker only: synthetic runners pin nothing and start as before', () => {
    expect(localShares({ workload: 'synthetic', slots: 'auto' }, 3, noSmt(2))).toBeUndefined();
    expect(cpusOf(localShares({ workload: 'docker', slots: 'auto' }, 3, noSmt(2)) ?? [])).toEqual([[0], [1]]);
  });

  it('makes a run whose types take turns wait its longest before failing a waiting type as no_runner', () => {
    expect(turnsTimeout(3, shareCpus(noSmt(2), 3, 'auto'))).toEqual({
      pending_timeout_minutes: MAX_PENDING_TIMEOUT_MINUTES,
    });
    expect(turnsTimeout(2, shareCpus(noSmt(2), 2, 'auto'))).toEqual({});
    expect(turnsTimeout(3, undefined)).toEqual({});
  });
});

describe('sharesLine', () => {
  it('names the CPUs of each type, or says the types take turns', () => {
    expect(cpuListText([7, 0, 1, 2, 4, 5])).toBe('0-2,4-5,7');
    expect(sharesLine(['a', 'b'], shareCpus(smt, 2, 'auto'), 'auto')).toBe(
      '  CPUs:         a on 0-1,4-5; b on 2-3,6-7',
    );
    expect(sharesLine(['a', 'b', 'c'], shareCpus(noSmt(2), 3, 'auto'), 'auto')).toBe(
      '  CPUs:         3 types take turns, 2 at a time (2 CPUs): a on 0; b on 1; then c, each on the CPUs of a type that finished',
    );
    expect(sharesLine(['a', 'b'], shareCpus(noSmt(2), 2, 2), 2)).toBe(
      '  CPUs:         2 types take turns, 1 at a time (--slots 2 on 2 CPUs): a on 0-1; then b, each on the CPUs of a type that finished',
    );
    const six = ['a', 'b', 'c', 'd', 'e', 'f'];
    expect(sharesLine(six, shareCpus(smt, 6, 'cores'), 'cores')).toMatch(
      /^ {2}CPUs: +6 types take turns, 4 at a time \(8 CPUs\): a on 0,4; b on 1,5; c on 2,6; d on 3,7; then e, f, /,
    );
    expect(sharesLine(six, shareCpus(noSmt(2), 6, 'auto'), 'auto')).toContain('; then the other 4, each');
    expect(sharesLine(['a'], shareCpus(noSmt(2), 1, 3), 3)).toBe(
      '  CPUs:         a on 0-1 (--slots 3 is more than the 2 CPUs: some slots share a CPU)',
    );
  });
});

describe('RunnerTurns', () => {
  interface Fake extends TurnRunner {
    type: string;
    topology?: CpuTopology;
    end(): void;
    stopped: boolean;
  }
  const fakeRunner = (type: string, topology?: CpuTopology): Fake => {
    let end = (): void => undefined;
    const done = new Promise<void>((r) => {
      end = r;
    });
    const f: Fake = {
      type,
      topology,
      done,
      end,
      stopped: false,
      stop: () => {
        f.stopped = true;
        end();
      },
    };
    return f;
  };
  const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

  it('starts a type on the share a finished runner frees, until every type has run', async () => {
    const shares = shareCpus(noSmt(2), 3, 'auto');
    const turns = new RunnerTurns(['a', 'b', 'c'], shares, fakeRunner);
    expect(turns.started.map((r) => [r.type, r.topology?.cpus])).toEqual([
      ['a', [0]],
      ['b', [1]],
    ]);
    expect(turns.pending).toEqual(['c']);
    turns.started[1]?.end();
    await tick();
    expect(turns.started.map((r) => [r.type, r.topology?.cpus])).toEqual([
      ['a', [0]],
      ['b', [1]],
      ['c', [1]],
    ]);
    expect(turns.pending).toEqual([]);
    turns.started[0]?.end();
    turns.started[2]?.end();
    expect(await turns.stop()).toHaveLength(3);
  });

  it('frees the share of a runner that failed', async () => {
    const turns = new RunnerTurns(['a', 'b'], shareCpus(noSmt(1), 2, 'auto'), (type, topology) => {
      const f = fakeRunner(type, topology);
      if (type === 'a') f.done = Promise.reject(new Error('no engine'));
      return f;
    });
    await tick();
    expect(turns.started.map((r) => r.type)).toEqual(['a', 'b']);
    await turns.stop();
  });

  it('starts no more types once stopped, and stops the started ones', async () => {
    const turns = new RunnerTurns(['a', 'b', 'c'], shareCpus(noSmt(1), 3, 'auto'), fakeRunner);
    const stopped = await turns.stop();
    await tick();
    expect(stopped.map((r) => [r.type, r.stopped])).toEqual([['a', true]]);
    expect(turns.started).toHaveLength(1);
  });

  it('starts every type at once, with no topology, without shares (the synthetic workload)', () => {
    const turns = new RunnerTurns(['a', 'b', 'c'], undefined, fakeRunner);
    expect(turns.started.map((r) => [r.type, r.topology])).toEqual([
      ['a', undefined],
      ['b', undefined],
      ['c', undefined],
    ]);
  });
});
