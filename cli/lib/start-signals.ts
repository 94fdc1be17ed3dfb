// How `benchfleet start` answers Ctrl-C, SIGTERM and SIGHUP from the fleet launch to the end of the
// teardown (the watch between keeps its own answer: the run goes on in the cloud). The fleets cost
// money, so a first signal says what happens and runs the phase's clean-up (tearing the fleets
// down) before exiting 130 (SIGINT), 143 (SIGTERM) or 129 (SIGHUP); a second Ctrl-C or SIGTERM
// quits at once and names what may be left up. A closing terminal's second SIGHUP is ignored.
//
// While guarded, cdk and terraform run in process groups of their own (cli/lib/exec.ts), so each
// signal answered here is forwarded to them exactly once, whether it came from the terminal or to
// the CLI's pid alone; they stop cleanly, so the step in flight fails soon. A hang-up is passed on
// as SIGTERM: their output goes to the CLI, not to the closed terminal, so they can still stop
// cleanly. The clean-up starts only once the step has settled (its tools have exited), and from the
// signal on the main flow is parked: a step's outcome is never delivered to it.
import { describe } from './errors';
import { interruptTools, isolateTools, resumeTools } from './exec';
import { exitCodeFor, QUIT_SIGNALS, QUIT_WORDS, type QuitSignal } from './local-signals';

export interface QuitPlan {
  /** What the first signal does, e.g. `run 7 was not started; tearing down its fleets`. */
  now(): string;
  /** Done before quitting; none: the first signal quits at once. */
  cleanUp?: () => Promise<void>;
  /** What a quit at once leaves behind and how to remove it. */
  leftUp(): string;
}

export interface StartSignalOptions {
  say?: (line: string) => void;
  /** Tests replace these. */
  exit?: (code: number) => void;
  target?: NodeJS.EventEmitter;
  /** Whose write errors (a closed terminal: EIO, EPIPE) are ignored while guarded. */
  outputs?: NodeJS.EventEmitter[];
}

const ignore = (): void => undefined;
const parked = (): Promise<never> => new Promise(() => undefined);

export class StartSignals {
  private plan: QuitPlan | undefined;
  private quitSignal: QuitSignal | undefined;
  private inFlight: Promise<unknown> = Promise.resolve();
  private readonly quitting = new AbortController();
  private readonly handlers = new Map<QuitSignal, () => void>();
  private readonly target: NodeJS.EventEmitter;
  private readonly outputs: NodeJS.EventEmitter[];

  constructor(private readonly opts: StartSignalOptions = {}) {
    this.target = opts.target ?? process;
    this.outputs = opts.outputs ?? (this.target === process ? [process.stdout, process.stderr] : []);
  }

  /** Answers the signals with `plan` from now on, until the next guard() or dispose(). */
  guard(plan: QuitPlan): void {
    if (this.handlers.size === 0) {
      for (const signal of QUIT_SIGNALS) {
        const handler = (): void => this.receive(signal);
        this.handlers.set(signal, handler);
        this.target.on(signal, handler);
      }
      for (const output of this.outputs) output.on('error', ignore);
      isolateTools(true);
    }
    this.plan = plan;
  }

  /** Removes every listener this added (a quit under way goes on). */
  dispose(): void {
    if (this.quitSignal) return;
    for (const [signal, handler] of this.handlers) this.target.removeListener(signal, handler);
    this.handlers.clear();
    for (const output of this.outputs) output.removeListener('error', ignore);
    isolateTools(false);
    this.plan = undefined;
  }

  /**
   * Runs one step of the guarded flow. A quit waits for it to settle first when `wait` (it runs
   * cdk or terraform), else aborts it through the signal `work` gets (a download); once a quit is
   * under way the step's outcome never reaches the caller, and a step asked for then is not started.
   */
  step<T>(work: (quitting: AbortSignal) => Promise<T>, wait = true): Promise<T> {
    if (this.quitSignal) return parked();
    const running = work(this.quitting.signal);
    if (wait) this.inFlight = running;
    return running.then(
      (value) => (this.quitSignal ? parked() : value),
      (err: unknown) => (this.quitSignal ? parked() : Promise.reject(err)),
    );
  }

  private say(line: string): void {
    try {
      (this.opts.say ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
    } catch {
      // the terminal is gone: nowhere to write to
    }
  }

  private exit(code: number): void {
    (this.opts.exit ?? ((c: number) => process.exit(c)))(code);
  }

  private receive(signal: QuitSignal): void {
    const plan = this.plan;
    if (!plan) return;
    if (this.quitSignal) {
      if (signal === 'SIGHUP') return; // the closing terminal's second hang-up: the clean-up goes on
      interruptTools(signal); // as a second Ctrl-C at the terminal would: they stop at once
      const what = signal === this.quitSignal ? `${QUIT_WORDS[signal]} again` : QUIT_WORDS[signal];
      this.say(`\n${what}: quitting at once. ${plan.leftUp()}`);
      this.exit(exitCodeFor(signal));
      return;
    }
    this.quitSignal = signal;
    interruptTools(signal === 'SIGHUP' ? 'SIGTERM' : signal);
    this.quitting.abort();
    const cleanUp = plan.cleanUp;
    const again = signal === 'SIGINT' ? 'Ctrl-C again' : 'a second SIGINT or SIGTERM';
    this.say(`\n${QUIT_WORDS[signal]}: ${plan.now()}${cleanUp ? ` (${again} quits at once)` : ''}.`);
    if (!cleanUp) {
      this.exit(exitCodeFor(signal));
      return;
    }
    void this.inFlight
      .then(ignore, ignore)
      .then(() => {
        resumeTools();
        return cleanUp();
      })
      .catch((err: unknown) => this.say(`${describe(err)}. ${plan.leftUp()}`))
      .finally(() => this.exit(exitCodeFor(signal)));
  }
}
