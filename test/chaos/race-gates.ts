// Gates inside a live local stack: a chosen store call of the handlers (or the reaper) waits at the
// gate until the test opens it, so the test can pick an interleaving of two requests (one held
// while the other lands) or release two held calls in the same tick (a race decided by the store).
// Only the store object the handlers share is patched; product code is unchanged.
import type { RunStore } from '../../lambdas/core/ports';

type StoreMethod = {
  [K in keyof RunStore]: RunStore[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof RunStore];
type ArgsOf<M extends StoreMethod> = RunStore[M] extends (...args: infer A) => Promise<unknown> ? A : never;

export interface Gate {
  /** what it holds, for messages */
  readonly what: string;
  /** calls that matched so far (each waited at the gate while it was shut) */
  readonly arrivals: number;
  /** resolves once the first matching call is waiting at the gate */
  readonly reached: Promise<void>;
  /** lets the waiting calls, and every later one, through */
  open(): void;
  /** opens the gate and puts back the method it wrapped (remove gates on one method newest first) */
  remove(): void;
}

const installed: Gate[] = [];

/**
 * Shuts a gate in front of `method` of `store` for the calls `match` picks: each waits until
 * `open()`. Calls that do not match pass untouched. `remove()` (or removeGates) undoes it.
 */
export function gate<M extends StoreMethod>(
  store: RunStore,
  method: M,
  what: string,
  match: (...args: ArgsOf<M>) => boolean,
): Gate {
  const target = store as unknown as Record<string, unknown>;
  const hadOwn = Object.hasOwn(target, method);
  const original = target[method] as (...args: unknown[]) => Promise<unknown>;
  let arrive: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  let release: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    release = resolve;
  });
  let shut = true;
  let arrivals = 0;
  target[method] = async (...args: unknown[]): Promise<unknown> => {
    if (shut && match(...(args as ArgsOf<M>))) {
      arrivals++;
      arrive();
      await opened;
    }
    return original.apply(store, args);
  };
  const g: Gate = {
    what,
    get arrivals() {
      return arrivals;
    },
    reached,
    open() {
      shut = false;
      release();
    },
    remove() {
      g.open();
      if (hadOwn) target[method] = original;
      else delete target[method];
      installed.splice(installed.indexOf(g), 1);
    },
  };
  installed.push(g);
  return g;
}

/** Resolves when a call waits at the gate; fails with its name after `ms`. */
export async function reachedWithin(g: Gate, ms = 30_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing reached the gate on ${g.what} within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([g.reached, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until a call waits at each gate, then opens them all in the same tick. */
export async function openTogether(...gates: Gate[]): Promise<void> {
  await Promise.all(gates.map((g) => reachedWithin(g)));
  for (const g of gates) g.open();
}

/** Every gate still installed, removed, the newest first (gates on one method are nested). */
export function removeGates(): void {
  for (const g of [...installed].reverse()) g.remove();
}
