// The core over local dynalite and s3rver, with a recording assembly trigger and a settable clock.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { LocalStack } from '../../../lambdas/adapters/local/stack';
import type { AssemblyTrigger, Deps, RunRecord, RunStore, TaskRecord } from '../../../lambdas/core/ports';
import { countsOf } from '../../../lambdas/core/views';
import { storageKeys, type TaskCounts, TaskStatus } from '../../../lambdas/shared/contract';
import { startTestStack } from '../../helpers/api';

export class RecordingAssembly implements AssemblyTrigger {
  readonly starts: string[] = [];
  async start(_runId: number, name: string): Promise<'started' | 'already_started'> {
    const seen = this.starts.includes(name);
    this.starts.push(name);
    return seen ? 'already_started' : 'started';
  }
}

export interface CoreHarness {
  stack: LocalStack;
  deps: Deps;
  assembly: RecordingAssembly;
  advance(ms: number): void;
  /** Puts a result object as a runner's upload would. */
  uploadResult(runId: number, taskId: number): Promise<void>;
  /** Every task of a run, read back item by item. */
  allTasks(runId: number): Promise<TaskRecord[]>;
}

export async function startCore(): Promise<CoreHarness> {
  let offset = 0;
  const assembly = new RecordingAssembly();
  const stack = await startTestStack({
    clock: () => new Date(Date.now() + offset),
    assembly: () => assembly,
  });
  return {
    stack,
    deps: stack.deps,
    assembly,
    advance: (ms) => {
      offset += ms;
    },
    uploadResult: async (runId, taskId) => {
      await stack.services.s3.send(
        new PutObjectCommand({
          Bucket: stack.services.bucket,
          Key: storageKeys.result(runId, taskId),
          Body: 'x',
        }),
      );
    },
    allTasks: async (runId) => {
      const out: TaskRecord[] = [];
      let after: number | undefined;
      for (;;) {
        const page = await stack.deps.store.listTasks(runId, 500, after);
        out.push(...page.tasks);
        if (page.nextIndex === null) return out;
        after = page.nextIndex;
      }
    },
  };
}

/**
 * Counts recomputed from the task items alone. Tasks requeued for a retry are pending; after a
 * stop every unfinished task counts as cancelled, as in the design.
 */
export function recount(run: RunRecord, tasks: TaskRecord[]): TaskCounts {
  const c: TaskCounts = {
    total: tasks.length,
    pending: 0,
    claimed: 0,
    running: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
  };
  for (const t of tasks) {
    let s = TaskStatus.parse(t.status);
    if (run.stopped && (s === 'pending' || s === 'claimed' || s === 'running')) s = 'cancelled';
    c[s]++;
  }
  return c;
}

export function expectCountsMatch(run: RunRecord, tasks: TaskRecord[]): void {
  expect(countsOf(run)).toEqual(recount(run, tasks));
}

/** Each index is in at most one of the run's status sets. */
export function expectDisjointSets(run: RunRecord): void {
  const sets = [run.running, run.completed, run.failed, run.cancelled];
  const seen = new Set<number>();
  for (const s of sets) {
    for (const i of s) {
      expect(seen.has(i)).toBe(false);
      seen.add(i);
    }
  }
}

/** Wraps a store so that one method throws right after its write succeeded: a handler dying between writes. */
export function crashAfter(store: RunStore, method: keyof RunStore, times = 1): RunStore {
  let left = times;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== method || typeof value !== 'function')
        return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: unknown[]) => {
        const out = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (left > 0 && out !== undefined && out !== false) {
          left--;
          throw new Error(`injected crash after ${String(method)}`);
        }
        return out;
      };
    },
  });
}

/**
 * Holds a wrapped call: `wait()` inside it resolves `reached` and waits until `release()`, so a test
 * can act while the call is paused at a chosen point.
 */
export function gate(): { reached: Promise<void>; wait: () => Promise<void>; release: () => void } {
  let arrive: () => void = () => undefined;
  let release: () => void = () => undefined;
  const reached = new Promise<void>((r) => {
    arrive = r;
  });
  const open = new Promise<void>((r) => {
    release = r;
  });
  return {
    reached,
    release,
    wait: async () => {
      arrive();
      await open;
    },
  };
}
