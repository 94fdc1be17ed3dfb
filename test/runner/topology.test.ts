import { parseCpuList, planSlots, readCpuTimes, readTopology, siblingBusy } from '../../runner/topology';

// Four vCPUs on two physical cores, SMT siblings 0+2 and 1+3 (how EC2 numbers them).
const sysfs: Record<string, string> = {
  '/sys/devices/system/cpu/online': '0-3\n',
  '/sys/devices/system/cpu/cpu0/topology/thread_siblings_list': '0,2\n',
  '/sys/devices/system/cpu/cpu1/topology/thread_siblings_list': '1,3\n',
  '/sys/devices/system/cpu/cpu2/topology/thread_siblings_list': '0,2\n',
  '/sys/devices/system/cpu/cpu3/topology/thread_siblings_list': '1,3\n',
};
const topo = readTopology((p) => sysfs[p]);

describe('topology and slots', () => {
  it('parses kernel CPU lists', () => {
    expect(parseCpuList('0-3,8,10-11\n')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('')).toEqual([]);
  });

  it('gives auto one slot per vCPU and cores one per physical core', () => {
    expect(topo.physicalCores).toBe(2);
    expect(planSlots(topo, 'auto').map((s) => [s.cpu, s.siblings])).toEqual([
      [0, [2]],
      [1, [3]],
      [2, [0]],
      [3, [1]],
    ]);
    expect(planSlots(topo, 'cores').map((s) => s.cpu)).toEqual([0, 1]);
    expect(planSlots(topo, 6).map((s) => s.cpu)).toEqual([0, 1, 2, 3, 0, 1]);
  });

  it('plans one slot, not none, on a host that reports no CPUs', () => {
    // no sysfs and an empty os.cpus(): zero slots would exit at once and power the VM off
    const blind = readTopology(
      () => undefined,
      () => 0,
    );
    expect(blind.cpus).toEqual([0]);
    expect(planSlots(blind, 'auto').map((s) => s.cpu)).toEqual([0]);
    expect(planSlots(blind, 'cores').map((s) => s.cpu)).toEqual([0]);
    // an unreadable online list falls back to os.cpus()
    expect(
      readTopology(
        (p) => (p.endsWith('/online') ? '\n' : undefined),
        () => 3,
      ).cpus,
    ).toEqual([0, 1, 2]);
    // siblings that name only offline CPUs: `cores` keeps one slot
    const odd = readTopology((p) =>
      p.endsWith('/online') ? '1\n' : p.includes('cpu1/') ? '0-1\n' : undefined,
    );
    expect(planSlots(odd, 'cores').map((s) => s.cpu)).toEqual([1]);
  });

  it('reads this machine without failing', () => {
    const here = readTopology();
    expect(here.cpus.length).toBeGreaterThan(0);
    expect(planSlots(here, 'cores').length).toBe(here.physicalCores);
  });

  it('calls a sibling busy when it spent more than half its time working', () => {
    const stat = (busy2: number): string =>
      `cpu  1 2 3 4\ncpu0 100 0 0 100 0 0 0\ncpu2 ${busy2} 0 0 ${200 - busy2} 0 0 0\n`;
    const before = readCpuTimes(() => stat(0));
    expect(
      siblingBusy(
        [2],
        before,
        readCpuTimes(() => stat(0).replace('cpu2 0 0 0 200', 'cpu2 180 0 0 220')),
      ),
    ).toBe(true);
    expect(
      siblingBusy(
        [2],
        before,
        readCpuTimes(() => stat(0).replace('cpu2 0 0 0 200', 'cpu2 10 0 0 390')),
      ),
    ).toBe(false);
    expect(siblingBusy([], before, before)).toBe(false);
    expect(siblingBusy([7], before, before)).toBeNull();
  });
});
