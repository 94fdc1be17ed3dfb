// Bounded concurrency for the core's per-task writes (a stop's cancels, assembly's preparation):
// thousands of one-item writes one after another outrun a Lambda's timeout, all at once throttle.

/**
 * Calls `fn` for every item with at most `limit` calls in flight. After a failure no new call
 * starts; the ones in flight finish, then the first error is thrown.
 */
export async function eachLimited<T>(
  items: Iterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const it = items[Symbol.iterator]();
  let failure: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    for (let next = it.next(); !next.done && !failure; next = it.next()) {
      try {
        await fn(next.value);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, lane));
  if (failure) throw failure.err;
}
