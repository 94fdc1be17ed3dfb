// A complete whose task write landed but whose handler then died before the run's sets (a Lambda
// timeout, a crash), while a stop ended the run, and whose runner never repeats it. The reaper
// repairs such bookkeeping only while a run is running; the assembly that a stop starts must do it,
// or GET /run counts the completed task as cancelled for good.
import type { RunStore } from '../../lambdas/core/ports';
import { ClaimResponse } from '../../lambdas/shared/contract';
import { client, OPERATOR, startTestStack, upload, waitFor } from '../helpers/api';
import { expectCountsMatch, expectDisjointSets } from '../unit/core/core-helpers';

it('a complete that died between its two writes during a stop: the ended run counts its task as completed', async () => {
  const stack = await startTestStack({ heartbeatTimeoutS: 60, reaperIntervalS: 3600 });
  const api = client(stack.apiUrl);
  try {
    const runId = (await api.start({ runs_per_instance_type: 2, local: ['cx'] })).body.run_id;
    const ids: number[] = [];
    for (const r of ['cx-1', 'cx-2']) {
      const c = ClaimResponse.parse((await api.claim(runId, 'cx', r)).body);
      if (c.status !== 'assigned') throw new Error(`expected a task, got ${c.status}`);
      await upload(c.presigned_urls.result);
      ids.push(c.task.id);
    }
    const [first, last] = ids as [number, number];
    expect((await api.complete(first, 'cx-1')).status).toBe(200);

    // the second complete's handler dies right after its task write: its run-set write never lands
    const store = stack.deps.store as RunStore;
    const original = store.applyRunSets.bind(store);
    let reached: () => void = () => undefined;
    const atSets = new Promise<void>((r) => {
      reached = r;
    });
    let die: (e: Error) => void = () => undefined;
    const death = new Promise<never>((_, reject) => {
      die = reject;
    });
    let once = true;
    store.applyRunSets = async (id, change) => {
      if (once && change.add?.completed?.length) {
        once = false;
        reached();
        await death;
      }
      return original(id, change);
    };
    const dying = api.complete(last, 'cx-2');
    await atSets;
    expect((await api.call('POST', '/run/stop', { key: OPERATOR })).status).toBe(200);
    await waitFor('the run ended', async () => (await api.run()).body.status === 'cancelled');
    die(new Error('the complete handler died'));
    expect((await dying).status).toBe(500);
    store.applyRunSets = original;

    const tasks = (await stack.deps.store.listTasks(runId, 1000)).tasks;
    expect(tasks.map((t) => [t.id, t.status, t.active])).toEqual([
      [first, 'completed', false],
      [last, 'completed', false],
    ]);
    const run = await stack.deps.store.getRun(runId);
    if (!run) throw new Error(`run ${runId} is gone`);
    expectDisjointSets(run);
    expectCountsMatch(run, tasks);
    expect((await api.run(OPERATOR)).body.tasks).toMatchObject({ completed: 2, cancelled: 0 });
  } finally {
    await stack.stop();
  }
}, 60_000);

it('a plain stop rewrites the run item for no cancelled task, and leaves none in the active index', async () => {
  const stack = await startTestStack({ heartbeatTimeoutS: 60, reaperIntervalS: 3600 });
  const api = client(stack.apiUrl);
  try {
    const n = 12;
    const runId = (await api.start({ runs_per_instance_type: n, local: ['cx'] })).body.run_id;
    for (let i = 0; i < n; i++) {
      const c = ClaimResponse.parse((await api.claim(runId, 'cx', `cx-${i}`)).body);
      if (c.status !== 'assigned') throw new Error(`expected a task, got ${c.status}`);
    }
    const store = stack.deps.store as RunStore;
    const original = store.applyRunSets.bind(store);
    let runWrites = 0;
    store.applyRunSets = (id, change) => {
      runWrites++;
      return original(id, change);
    };
    expect((await api.call('POST', '/run/stop', { key: OPERATOR })).status).toBe(200);
    await waitFor('the run ended', async () => (await api.run()).body.status === 'cancelled');
    store.applyRunSets = original;
    expect(runWrites).toBe(0);
    const tasks = (await stack.deps.store.listTasks(runId, 1000)).tasks;
    expect(tasks.filter((t) => t.active || t.status !== 'cancelled')).toEqual([]);
    expect((await api.run(OPERATOR)).body.tasks).toMatchObject({ cancelled: n, completed: 0 });
  } finally {
    await stack.stop();
  }
}, 60_000);
