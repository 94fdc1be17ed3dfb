// How `benchfleet local` answers Ctrl-C, SIGTERM and SIGHUP. A first Ctrl-C goes to the current
// phase when it has something gentle to do (during a run: end the run early and keep what
// completed; while serving: stop serving). A second Ctrl-C, a first one with nothing gentle to do,
// or SIGTERM or SIGHUP (the terminal was closed) at any time quits: each runner is stopped and
// waited for (bounded), then the local services are shut down (bounded), then the temp data dir is
// removed, and the process exits 130 (SIGINT), 143 (SIGTERM) or 129 (SIGHUP). One more Ctrl-C or
// SIGTERM after that exits at once; one more SIGHUP does not, as a closing terminal sends it twice
// (the shell forwards its own, and the kernel sends one to the foreground group).
//
// A closed terminal also makes writes to stdout and stderr fail (EIO, or EPIPE for a pipe whose
// reader is gone). Those errors are ignored from the start, so neither the quit's messages nor a
// progress line written just before the signal arrives can crash the process before its cleanup.

export type QuitSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

const EXIT_CODES: Record<QuitSignal, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export const exitCodeFor = (signal: QuitSignal): number => EXIT_CODES[signal];

/** How a quit by each signal is announced (also by `start` and by an interrupted unpack). */
export const QUIT_WORDS: Record<QuitSignal, string> = {
  SIGHUP: 'Hung up (the terminal was closed)',
  SIGINT: 'Interrupted',
  SIGTERM: 'Terminated',
};

/** What a quit does, in this order; each step is filled in once the thing it stops exists. */
export interface QuitSteps {
  /** Tells every runner to stop (in-flight tasks fail as `interrupted`) and resolves when they are done. */
  stopRunners?: () => Promise<void>;
  /** The dashboard and the local stack. */
  shutdown?: () => Promise<void>;
  /** Synchronous and quick: the temp data dir, the data dir's lock. */
  cleanup?: () => void;
}

export interface LocalSignalOptions {
  say(line: string): void;
  /** How long a quit waits for the runners (default 5 s) and for the shutdown (default 10 s). */
  runnersMs?: number;
  shutdownMs?: number;
  /** Tests replace these. */
  exit?: (code: number) => void;
  target?: NodeJS.EventEmitter;
  /** Whose write errors are ignored; default stdout and stderr when `target` is the process. */
  outputs?: NodeJS.EventEmitter[];
}

/** The signals that quit the CLI, each with its exit code (exitCodeFor). */
export const QUIT_SIGNALS: readonly QuitSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const ok = (): 'ok' => 'ok';
const ignore = (): void => undefined;

export class LocalSignals {
  readonly steps: QuitSteps = {};
  private gentle: (() => void) | undefined;
  private interrupted = false;
  private quitSignal: QuitSignal | undefined;
  private readonly handlers = new Map<QuitSignal, () => void>();
  private readonly target: NodeJS.EventEmitter;
  private readonly outputs: NodeJS.EventEmitter[];
  private readonly exit: (code: number) => void;

  constructor(private readonly opts: LocalSignalOptions) {
    this.target = opts.target ?? process;
    this.outputs = opts.outputs ?? (this.target === process ? [process.stdout, process.stderr] : []);
    this.exit = opts.exit ?? ((code) => process.exit(code));
    for (const signal of QUIT_SIGNALS) {
      const handler = (): void => this.receive(signal);
      this.handlers.set(signal, handler);
      this.target.on(signal, handler);
    }
    for (const output of this.outputs) output.on('error', ignore);
  }

  /** The signal a quit is under way for, if any: the main flow then leaves the cleanup to it. */
  get quitting(): QuitSignal | undefined {
    return this.quitSignal;
  }

  /**
   * What a first Ctrl-C does from now on (undefined: quit). Every phase starts counting afresh, so
   * a Ctrl-C used up by the run does not make the next phase's first Ctrl-C a second one.
   */
  onFirstInterrupt(action: (() => void) | undefined): void {
    this.gentle = action;
    this.interrupted = false;
  }

  /** Resolves at the next first Ctrl-C (--serve, --keep); the phase's action is cleared after it. */
  nextInterrupt(): Promise<void> {
    return new Promise((resolve) =>
      this.onFirstInterrupt(() => {
        this.onFirstInterrupt(undefined);
        this.interrupted = true; // a second Ctrl-C during the shutdown quits
        resolve();
      }),
    );
  }

  /** Never resolves: what the main flow awaits once a quit owns the end of the process. */
  parked(): Promise<never> {
    return new Promise(() => undefined);
  }

  /** Removes every listener this added. */
  dispose(): void {
    for (const [signal, handler] of this.handlers) this.target.removeListener(signal, handler);
    this.handlers.clear();
    for (const output of this.outputs) output.removeListener('error', ignore);
  }

  /** A line for the person; with the terminal gone it is lost, never an error. */
  private say(line: string): void {
    try {
      this.opts.say(line);
    } catch {
      // nowhere to write to
    }
  }

  private receive(signal: QuitSignal): void {
    if (this.quitSignal) {
      if (signal === 'SIGHUP') return; // the closing terminal's second hang-up: the quit goes on
      this.say(`\n${signal}: quitting at once.`);
      this.exit(exitCodeFor(signal));
      return;
    }
    if (signal === 'SIGINT' && !this.interrupted && this.gentle) {
      this.interrupted = true;
      this.gentle();
      return;
    }
    void this.quit(signal);
  }

  private async quit(signal: QuitSignal): Promise<void> {
    const again = signal === 'SIGINT' && this.interrupted;
    this.quitSignal = signal;
    const what = again ? 'Interrupted again' : QUIT_WORDS[signal];
    const once = signal === 'SIGINT' ? 'Ctrl-C once more' : 'Ctrl-C or SIGTERM';
    this.say(
      `\n${what}: stopping the runners and the local services, then quitting (${once} quits at once).`,
    );
    const { stopRunners, shutdown, cleanup } = this.steps;
    await this.bounded(stopRunners?.(), this.opts.runnersMs ?? 5_000, 'the runners to stop');
    await this.bounded(shutdown?.(), this.opts.shutdownMs ?? 10_000, 'the local services to stop');
    try {
      cleanup?.();
    } catch (err) {
      this.say(`  (cleaning up failed: ${(err as Error).message})`);
    }
    this.exit(exitCodeFor(signal));
  }

  private async bounded(step: Promise<void> | undefined, ms: number, what: string): Promise<void> {
    if (!step) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), ms);
    });
    const settled = step.then(ok, ok);
    const outcome = await Promise.race([settled, late]);
    clearTimeout(timer);
    if (outcome === 'late') this.say(`  (gave up waiting for ${what} after ${ms / 1000} s)`);
  }
}
