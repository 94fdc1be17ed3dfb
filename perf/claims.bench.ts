// `npm run perf -- claims`: claim throughput and DynamoDB calls per claim at 1, 16 and 64
// concurrent claimers against dynalite, counted by SDK middleware on the store's client.
import { startLocalStack } from '../lambdas/adapters/local/stack';
import { startRun } from '../lambdas/core/runs';
import { claimTask } from '../lambdas/core/tasks';

const TASKS_PER_TYPE = 100;
const TYPES = ['p1', 'p2', 'p3'];

export async function run(): Promise<void> {
  let calls = 0;
  const stack = await startLocalStack({
    assembly: () => ({ start: async () => 'started' as const }),
    // added before the clients' first call: they cache each command's middleware from then on
    instrument: ({ ddb }) =>
      ddb.middlewareStack.add(
        (next) => async (args) => {
          calls++;
          return next(args);
        },
        { step: 'initialize', name: 'countCalls' },
      ),
  });
  try {
    for (const concurrency of [1, 16, 64]) {
      const { run_id } = await startRun(stack.deps, {
        ruby_version: '3.4.7',
        runs_per_instance_type: TASKS_PER_TYPE,
        local: TYPES,
      });
      const seen = new Set<number>();
      let assigned = 0;
      let answers = 0;
      calls = 0;
      const t0 = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: concurrency }, async (_, n) => {
          // each claimer drains its own type first, then helps with the others
          for (let k = 0; k < TYPES.length; k++) {
            const instance_type = TYPES[(n + k) % TYPES.length] as string;
            for (;;) {
              const c = await claimTask(
                stack.deps,
                { provider: 'local', instance_type, runner_id: `bench-${n}` },
                run_id,
              );
              answers++;
              if (c.status !== 'assigned') break;
              assigned++;
              seen.add(c.task.id);
            }
          }
        }),
      );
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      console.log(
        JSON.stringify({
          bench: 'claims',
          concurrency,
          claims: assigned,
          claims_per_s: Math.round(assigned / seconds),
          ddb_calls_per_claim: Number((calls / answers).toFixed(3)),
          ddb_calls_per_assigned_claim: Number((calls / assigned).toFixed(3)),
          double_assignments: assigned - seen.size,
        }),
      );
      await stack.deps.store.setRunStatus(run_id, ['running'], 'complete');
      await stack.deps.store.releasePointer(run_id);
    }
  } finally {
    await stack.stop();
  }
}
