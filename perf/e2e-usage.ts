// What the e2e bench (perf/e2e.bench.ts) counts in each phase, the counts the cost bench prices,
// and the instrumentation that counts them: middleware on the stack's own DynamoDB and S3 clients,
// and the local assembly with its executions and step invocations counted. API calls are counted
// by the bench itself, from the fetch it wraps.
import { assemblyStepsFor } from '../lambdas/adapters/local/assembly-steps';
import { type AssemblySteps, LocalAssembly } from '../lambdas/adapters/local/local-assembly';
import type { InstrumentClients } from '../lambdas/adapters/local/services';

/** What one phase cost: every count the cost bench prices. */
export interface Usage {
  api: Record<string, { calls: number; total_ms: number }>;
  ddb: { calls: Record<string, number>; rcu: number; wcu: number };
  s3: { put: number; get: number; by_command: Record<string, number> };
  sfn: { executions: number; transitions: number; step_ms: Record<string, number> };
}

export const emptyUsage = (): Usage => ({
  api: {},
  ddb: { calls: {}, rcu: 0, wcu: 0 },
  s3: { put: 0, get: 0, by_command: {} },
  sfn: { executions: 0, transitions: 0, step_ms: {} },
});

const S3_PUTS = new Set([
  'PutObject',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'ListObjectsV2',
  'CopyObject',
]);
const DDB_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

/** Usage divided by a number of calls (the heartbeat phase). */
export function perCall(u: Usage, n: number): Usage {
  const div = <T extends Record<string, number>>(o: T): T =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v / n])) as T;
  return {
    api: Object.fromEntries(
      Object.entries(u.api).map(([k, v]) => [k, { calls: v.calls / n, total_ms: v.total_ms / n }]),
    ),
    ddb: { calls: div(u.ddb.calls), rcu: u.ddb.rcu / n, wcu: u.ddb.wcu / n },
    s3: { put: u.s3.put / n, get: u.s3.get / n, by_command: div(u.s3.by_command) },
    sfn: {
      executions: u.sfn.executions / n,
      transitions: u.sfn.transitions / n,
      step_ms: div(u.sfn.step_ms),
    },
  };
}

/**
 * The local assembly, counting into `usage()` (read at each count: the bench swaps it between
 * phases) its executions and its step invocations, one state transition each, with their time.
 */
export function countedAssembly(
  deps: Parameters<typeof assemblyStepsFor>[0],
  usage: () => Usage,
): LocalAssembly {
  const steps = (): AssemblySteps => {
    const real = assemblyStepsFor(deps);
    const counted = {} as AssemblySteps;
    for (const [name, fn] of Object.entries(real) as Array<
      [keyof AssemblySteps, AssemblySteps[keyof AssemblySteps]]
    >) {
      counted[name] = async (input) => {
        const t0 = performance.now();
        usage().sfn.transitions++;
        try {
          return await fn(input);
        } finally {
          const u = usage();
          u.sfn.step_ms[name] = (u.sfn.step_ms[name] ?? 0) + performance.now() - t0;
        }
      };
    }
    return counted;
  };
  const a = new LocalAssembly(steps);
  const start = a.start.bind(a);
  a.start = async (runId, name) => {
    usage().sfn.executions++;
    return start(runId, name);
  };
  return a;
}

/** Middleware on the stack's own SDK clients: every DynamoDB and S3 call the orchestrator makes. */
export function countSdk(clients: Parameters<InstrumentClients>[0], usage: () => Usage): void {
  clients.ddb.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ReturnConsumedCapacity?: string };
      input.ReturnConsumedCapacity ??= 'TOTAL';
      const out = await next(args);
      const u = usage();
      const name = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      u.ddb.calls[name] = (u.ddb.calls[name] ?? 0) + 1;
      const cc = (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      const units = [cc]
        .flat()
        .reduce<number>((s, c) => s + ((c as { CapacityUnits?: number } | undefined)?.CapacityUnits ?? 0), 0);
      if (DDB_WRITES.has(name)) u.ddb.wcu += units || 1;
      else u.ddb.rcu += units || 0.5;
      return out;
    },
    { step: 'initialize', name: 'e2eCountDdb' },
  );
  // at `deserialize`, after the presigner's intercept: presigning a URL is not a request
  clients.s3.middlewareStack.add(
    (next, context) => async (args) => {
      const u = usage();
      const name = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      u.s3.by_command[name] = (u.s3.by_command[name] ?? 0) + 1;
      if (S3_PUTS.has(name)) u.s3.put++;
      else u.s3.get++;
      return next(args);
    },
    { step: 'deserialize', name: 'e2eCountS3' },
  );
}
