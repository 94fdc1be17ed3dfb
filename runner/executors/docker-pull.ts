// The image a task's container needs, pulled when the engine does not have it. Slots whose first
// tasks start together share one pull: each starting its own pulled the image once per slot, a
// registry pull each (Docker Hub allows an address few an hour), refused as `toomanyrequests` on
// large hosts. A pull ends (and is forgotten) when it succeeds, fails, or every task waiting for
// it has given up.
import type Docker from 'dockerode';
import { errorText } from '../log';
import { within } from './docker-engine';
import { type ExecContext, ExecError } from './types';

/** A line of the engine's pull progress. */
interface PullEvent {
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** One image pull that the tasks of every slot waiting for that image share. */
interface SharedPull {
  done: Promise<void>;
  /** each waiting task's progress line taker */
  watchers: Set<(line: string) => void>;
  /** Stops the pull (when no task waits for it any more) and forgets it. */
  abandon(): void;
}

export class ImagePuller {
  /** Pulls under way, by image. */
  private readonly pulls = new Map<string, SharedPull>();

  constructor(
    private readonly docker: Docker,
    private readonly callMs: number,
  ) {}

  /** Resolves once the engine has `image`: provision_failed if it cannot be pulled, cancelled on an abort. */
  async ensure(image: string, ctx: ExecContext): Promise<void> {
    try {
      await within(this.callMs, () => this.docker.getImage(image).inspect());
      return;
    } catch {
      // absent: pull it below
    }
    ctx.onStatus('provision', `pulling ${image}`);
    const pull = this.pullFor(image);
    // The heartbeat carries the latest progress line, throttled so a pull does not flood the log.
    let last = 0;
    const watcher = (line: string): void => {
      if (Date.now() - last < 1000) return;
      last = Date.now();
      ctx.onStatus('provision', line);
    };
    pull.watchers.add(watcher);
    let onAbort: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        // A stalled pull must not outlive the task's timeout or an abort.
        onAbort = () => reject(new Error('stopped during the pull'));
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        if (ctx.signal.aborted) onAbort();
        pull.done.then(resolve, reject);
      });
    } catch (err) {
      if (ctx.signal.aborted) throw new ExecError('cancelled', `stopped while pulling ${image}`);
      throw new ExecError('provision_failed', `cannot pull ${image}: ${errorText(err)}`);
    } finally {
      if (onAbort) ctx.signal.removeEventListener('abort', onAbort);
      pull.watchers.delete(watcher);
      // the last task waiting for a pull that has not ended gave up: nobody needs it any more
      if (pull.watchers.size === 0) pull.abandon();
    }
  }

  /** The pull of `image` under way, or a new one. */
  private pullFor(image: string): SharedPull {
    const running = this.pulls.get(image);
    if (running) return running;
    let stream: NodeJS.ReadableStream | undefined;
    let abandoned = false;
    const shared: SharedPull = {
      watchers: new Set(),
      done: Promise.resolve(),
      abandon: () => {
        abandoned = true;
        if (this.pulls.get(image) === shared) this.pulls.delete(image);
        (stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined)?.destroy?.();
      },
    };
    shared.done = (async () => {
      try {
        stream = await within(this.callMs, (abortSignal) => this.docker.pull(image, { abortSignal }));
        if (abandoned) return shared.abandon();
        await new Promise<void>((resolve, reject) => {
          this.docker.modem.followProgress(
            stream as NodeJS.ReadableStream,
            (err, output: PullEvent[] = []) => {
              // the engine answers 200 once it has written a line, and then says a failure in the
              // stream (a registry's toomanyrequests, a layer that broke off): followProgress does
              // not count those lines as failures
              const said = output.find((ev) => ev.error ?? ev.errorDetail?.message);
              if (err) reject(err);
              else if (said) reject(new Error(said.error ?? said.errorDetail?.message));
              else resolve();
            },
            (ev: PullEvent) => {
              const line = `pulling ${image}: ${ev.id ?? ''} ${ev.status ?? ''} ${ev.progress ?? ''}`.trim();
              for (const w of shared.watchers) w(line);
            },
          );
        });
      } finally {
        if (this.pulls.get(image) === shared) this.pulls.delete(image);
      }
    })();
    shared.done.catch(() => undefined); // its waiters see the failure; none may be left to
    this.pulls.set(image, shared);
    return shared;
  }
}
