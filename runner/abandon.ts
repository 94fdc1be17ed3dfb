// Bounds the wait for an executor after its task was aborted: a container engine that stops
// answering must not keep a task, and its heartbeats, going for ever.

/** The executor did not stop within EXECUTOR_GRACE_S of its task's abort. */
export class Abandoned extends Error {}

/** `work`, or an Abandoned rejection `graceMs` after `signal` aborts, whichever comes first. */
export function abandonAfter<T>(work: Promise<T>, signal: AbortSignal, graceMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      timer = setTimeout(
        () => reject(new Abandoned(`the executor did not stop within ${graceMs / 1000} s`)),
        graceMs,
      );
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    });
  });
}
