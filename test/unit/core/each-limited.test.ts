// The bounded fan-out a stop and the assembly's preparation use for their per-task writes.
import { eachLimited } from '../../../lambdas/core/each-limited';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('calls every item once with at most `limit` calls in flight', async () => {
  let inFlight = 0;
  let most = 0;
  const seen: number[] = [];
  await eachLimited(
    Array.from({ length: 50 }, (_, i) => i),
    8,
    async (i) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await tick(i % 3);
      seen.push(i);
      inFlight -= 1;
    },
  );
  expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  expect(most).toBe(8);
});

it('after a failure starts nothing new, lets the calls in flight finish, then throws the first error', async () => {
  const started: number[] = [];
  const finished: number[] = [];
  const run = eachLimited([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3, async (i) => {
    started.push(i);
    if (i === 1) throw new Error('write 1 failed');
    await tick(10);
    finished.push(i);
  });
  await expect(run).rejects.toThrow('write 1 failed');
  expect(started).toEqual([0, 1, 2]);
  expect(finished.sort()).toEqual([0, 2]);
});
