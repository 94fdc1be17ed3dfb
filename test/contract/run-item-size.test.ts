// The run's bookkeeping is one DynamoDB item, capped at 400 KB, and an item that outgrows it mid-run
// fails every later write: the run could be neither drained nor stopped. The config limits must keep
// it under the cap in its fullest state. Sized as DynamoDB (and dynalite) count an item, through the
// real record builder and codec.
import { runToItem, toAttrs } from '../../lambdas/adapters/dynamodb-codec';
import { buildRun } from '../../lambdas/core/run-records';
import { MAX_INSTANCE_TYPES_PER_RUN, MAX_TASKS_PER_RUN, RunConfig } from '../../lambdas/shared/contract';
import { queueAttrs, RETRY_GEN_FACTOR, SET_ATTRS } from '../../lambdas/shared/table';

const { itemSize } = require('dynalite/db/index.js') as { itemSize: (item: unknown) => number };
const ITEM_CAP = 400 * 1024;

/** The run item with every task in a status set and a retry set, and every queue's marks set. */
function fullestRunItem(types: number, nameLength: number): number {
  const names = Array.from({ length: types }, (_, i) =>
    `${i.toString(36).padStart(3, '0')}${'x'.repeat(64)}`.slice(0, nameLength),
  );
  const raw = {
    ruby_version: '3.5.0-preview1',
    runs_per_instance_type: Math.floor(MAX_TASKS_PER_RUN / types),
    azure: names,
    benchmarks: Array.from({ length: 500 }, (_, i) => `${i.toString(36)}${'b'.repeat(64)}`.slice(0, 64)),
    ruby_bench_ref: 'r'.repeat(100),
    image: 'i'.repeat(200),
    ruby_bench_env: { WARMUP_ITRS: 10_000, MIN_BENCH_ITRS: 10_000, MIN_BENCH_TIME: 3599.999 },
    pending_timeout_minutes: 1439.5,
    max_attempts: 5,
    run_id: 1_760_000_000,
  };
  // the schema refuses more types than the limit; the old limit's item is sized all the same
  const config = types <= MAX_INSTANCE_TYPES_PER_RUN ? RunConfig.parse(raw) : (raw as RunConfig);
  const { run } = buildRun(1_760_000_000, config, new Date().toISOString());
  const item: Record<string, unknown> = runToItem(run);
  const all = Array.from({ length: run.total }, (_, i) => i);
  item[SET_ATTRS.completed] = new Set(all);
  for (const q of run.queues) {
    const a = queueAttrs(q.provider, q.instance_type);
    item[a.retry] = new Set(Array.from({ length: q.count }, (_, i) => 5 * RETRY_GEN_FACTOR + q.base + i));
    item[a.idleNext] = q.base + q.count;
    item[a.idleAt] = new Date().toISOString();
    item[a.noRunner] = true;
    item[a.verified] = q.base + q.count;
  }
  return itemSize(toAttrs(item));
}

it('keeps the run item under 400 KB at the limits: the most types, the longest names, the most tasks', () => {
  const size = fullestRunItem(MAX_INSTANCE_TYPES_PER_RUN, 64);
  expect(size).toBeLessThan(ITEM_CAP * 0.8); // room for what this model leaves out
});

it('would not at 1,000 types, the old limit', () => {
  expect(fullestRunItem(1_000, 64)).toBeGreaterThan(ITEM_CAP);
});
