// Which of the runner's slots are running a benchmark right now, so each task's meta.json can say
// how many ran beside it: a large type's runs share a VM, a small type's may each have one alone.

/** One task's view while its benchmark runs: the slots busy at its start, and the most since. */
export interface BusyWatch {
  readonly atStart: number;
  readonly max: number;
  /** Its benchmark is over (or never will be): the slot is free, and the counts are final. */
  end(): void;
}

export class BusySlots {
  private readonly busy = new Set<number>();
  private readonly running = new Set<{ max: number }>();

  /** Slot `index` starts a benchmark; the counts include it. */
  start(index: number): BusyWatch {
    this.busy.add(index);
    const atStart = this.busy.size;
    for (const other of this.running) other.max = Math.max(other.max, atStart);
    const mine = { max: atStart };
    this.running.add(mine);
    return {
      atStart,
      get max() {
        return mine.max;
      },
      end: () => {
        if (!this.running.delete(mine)) return; // ended already
        this.busy.delete(index);
      },
    };
  }
}
