// The store as one actor sees it: a hook runs before each chosen call reaches the real store (to
// hold it at a gate, or count arrivals), so a test can pick an interleaving of two requests while
// the other actors use the store untouched. Product code is unchanged.
import type { RunStore } from '../../../lambdas/core/ports';

type Hooks = { [K in keyof RunStore]?: (...args: Parameters<RunStore[K]>) => Promise<void> | void };

export function hooked(store: RunStore, hooks: Hooks): RunStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const hook = hooks[prop as keyof RunStore] as ((...a: unknown[]) => Promise<void> | void) | undefined;
      const call = value as (...a: unknown[]) => Promise<unknown>;
      if (!hook) return call.bind(target);
      return async (...args: unknown[]) => {
        await hook(...args);
        return call.apply(target, args);
      };
    },
  });
}

/** Resolves every waiting call at once when the `n`th arrives: n requests that all read before any writes. */
export function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let open: () => void = () => undefined;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return async () => {
    if (++arrived >= n) open();
    await opened;
  };
}
