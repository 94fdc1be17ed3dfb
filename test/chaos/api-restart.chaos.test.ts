// The API process crashed mid-run and restarted on its data dir (issue 10, chaos runs): a real
// `benchfleet local --serve --data-dir` process, real runner processes, some tasks completed (their
// results uploaded) and some running. Just before the crash the API process is frozen (SIGSTOP, so
// it writes nothing more) and the raw table (a full Scan) and the bucket (keys and ETags) are
// snapshotted through its stand-ins; then the whole process group, stand-ins included, is
// SIGKILLed, with one runner that "went down with the machine". What is on disk then must be the
// snapshot, item for item. Restarted on the same port and data dir, the API serves the surviving
// runner (which retried through the outage) and a new one; the reaper (timeout and interval short by
// configuration: --heartbeat-timeout-s, --reaper-interval-s) fails the dead runner's task as
// heartbeat_timeout and queues it again; the run drains. The tasks completed before the crash and
// their result objects are unchanged at the end, and expectDrained holds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { client, OPERATOR, RUNNER, startTestStack, waitFor } from '../helpers/api';
import { expectDrained, type RunnerChild, spawnRunner, tasksOf } from './helpers';
import {
  clientsOfRunning,
  type Item,
  LocalProcess,
  processGone,
  type Snapshot,
  scanTable,
  settledSnapshot,
  snapshot,
  snapshotOfDataDir,
} from './restart-local';

// short by configuration (the defaults are 120 s and 60 s)
const HEARTBEAT_TIMEOUT_S = 5;
const REAPER_INTERVAL_S = 0.5;
// work per synthetic task. The doomed runner's task must be `running` when the API is frozen, and a
// task is so only from its first heartbeat on: on a fast machine a SIZE 1 task is over in 0.35 s,
// before it. So the doomed runner's work never ends (it dies with the machine), and the survivor's
// quick tasks make the two completed ones.
const SIZE = 1;
const DOOMED_SIZE = 10_000;

const children: RunnerChild[] = [];
const locals: LocalProcess[] = [];
let stack: LocalStack | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await c.exited;
  }
  for (const l of locals.splice(0)) {
    l.kill();
    await l.exited;
  }
  await stack?.stop();
  stack = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

const localFlags = (dir: string, port: number): string[] => [
  ...['--port', String(port), '--dashboard-port', '0', '--data-dir', dir],
  ...['--api-key', OPERATOR, '--runner-key', RUNNER],
  ...['--heartbeat-timeout-s', String(HEARTBEAT_TIMEOUT_S), '--reaper-interval-s', String(REAPER_INTERVAL_S)],
];

/** A `benchfleet local` process seen as spawnRunner and tasksOf see a stack: its API URL. */
const at = (apiUrl: string): LocalStack => ({ apiUrl }) as LocalStack;

const taskItems = (s: Snapshot): Item[] => s.items.filter((i) => i.sk.startsWith('TASK#'));
const runItem = (s: Snapshot, runId: number): Item =>
  s.items.find((i) => i.pk === `RUN#${runId}` && i.sk === 'RUN') as Item;
/** A finished task's item without the active-index keys (its bookkeeping may be finished later). */
const settledPart = ({ active_pk: _pk, active_sk: _sk, ...rest }: Item): Record<string, unknown> => rest;

it('benchfleet local SIGKILLed mid-run (its process group) and restarted on its --data-dir: nothing lost, the run drains', async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'bf-chaos-restart-'));
  const first = new LocalProcess(localFlags(dataDir, 0));
  locals.push(first);
  const apiUrl = await first.serving();
  const api = client(apiUrl);
  const started = await api.start({ runs_per_instance_type: 2, local: ['ra', 'rb'], max_attempts: 3 });
  expect(started.status).toBe(201);
  const runId = started.body.run_id;
  // an outage of a loaded machine's restart is waited out (--max-retry-s)
  const env = { BENCHFLEET_MAX_RETRY_S: '240' };
  const survivor = spawnRunner(at(apiUrl), runId, 'ra', 'restart-a', SIZE, env);
  const doomed = spawnRunner(at(apiUrl), runId, 'rb', 'restart-b', DOOMED_SIZE, env);
  children.push(survivor, doomed);

  // The moment: at least two tasks completed and a task of the doomed runner running. The API is
  // frozen first, so the snapshot holds everything it wrote and nothing can follow.
  const standIns = first.standInsPid();
  const live = await clientsOfRunning(standIns);
  const moment = (s: Snapshot): boolean =>
    taskItems(s).filter((t) => t.status === 'completed').length >= 2 &&
    taskItems(s).some((t) => t.status === 'running' && String(t.runner_id).startsWith('restart-b'));
  let before: Snapshot | undefined;
  for (let tries = 1; !before; tries++) {
    await waitFor(
      'two tasks completed and one of restart-b running',
      async () => moment({ items: await scanTable(live.ddb), objects: [] }),
      120_000,
    );
    first.freeze();
    const s = await settledSnapshot(live);
    if (moment(s)) before = s;
    else if (tries === 5) throw new Error('the moment kept slipping away between the look and the freeze');
    else first.thaw();
  }
  live.destroy();
  const completedBefore = taskItems(before).filter((t) => t.status === 'completed');
  const victim = taskItems(before).find(
    (t) => t.status === 'running' && String(t.runner_id).startsWith('restart-b'),
  ) as Item;
  // finished work to lose: completed tasks whose results are in the bucket
  for (const t of completedBefore)
    expect(before.objects.map((o) => o.key)).toContain(`runs/${runId}/tasks/${t.id}/result.tar.gz`);

  // The crash: the API and its stand-ins at once, and the runner that went down with them.
  first.crash();
  doomed.proc.kill('SIGKILL');
  await Promise.all([first.exited, doomed.exited]);
  await waitFor('the stand-ins gone', async () => processGone(standIns), 30_000);

  // On disk, exactly what was written: every item (run counters, tasks, the pointer); every object
  // kept (the survivor may have uploaded one more meanwhile: it talks to S3 directly)
  const onDisk = await snapshotOfDataDir(dataDir);
  expect(onDisk.items).toEqual(before.items);
  for (const o of before.objects) expect(onDisk.objects).toContainEqual(o);

  // The restart, on the same port and data dir; a new runner takes the dead one's instance type.
  const second = new LocalProcess(localFlags(dataDir, Number(new URL(apiUrl).port)));
  locals.push(second);
  expect(await second.serving()).toBe(apiUrl);
  const replacement = spawnRunner(at(apiUrl), runId, 'rb', 'restart-c', SIZE, env);
  children.push(replacement);
  await waitFor(
    'the run complete with its archive',
    async () => {
      const r = await api.call<{ status: string; gzip_url: string | null }>('GET', '/run', { key: OPERATOR });
      if (r.body.status === 'assembly_failed') throw new Error(`assembly failed: ${JSON.stringify(r.body)}`);
      return r.body.status === 'complete' && Boolean(r.body.gzip_url);
    },
    180_000,
  );
  expect(await survivor.exited).toBe(0);
  expect(await replacement.exited).toBe(0);
  // the outage reached the surviving runner, when it still had work at the crash (a fast one can
  // have finished its type's two tasks by then): its calls failed and were retried, not given up
  const survivorBusy = taskItems(before).some(
    (t) => t.instance_type === 'ra' && t.status !== 'completed' && t.status !== 'failed',
  );
  if (survivorBusy)
    expect(survivor.lines.some((l) => /failed, retrying|heartbeat failed; retrying/.test(l))).toBe(true);
  expect(survivor.lines.join('\n')).not.toMatch(/never acknowledged/);
  // the task it held across the crash (if any) ended completed, by it or by a retry
  const tasksNow = await tasksOf(at(apiUrl));
  expect(tasksNow.filter((t) => t.status !== 'completed')).toEqual([]);

  // Stopped the ordinary way, the data dir is opened here to check it all.
  second.child.kill('SIGINT');
  await second.exited;
  stack = await startTestStack({ dataDir });
  await expectDrained(stack, runId, {});
  const after = await snapshot(stack.services);
  // the tasks completed before the crash are as they were, their result objects untouched
  for (const t of completedBefore) {
    const now = after.items.find((i) => i.pk === t.pk && i.sk === t.sk) as Item;
    expect(settledPart(now)).toEqual(settledPart(t));
    const key = `runs/${runId}/tasks/${t.id}/result.tar.gz`;
    expect(after.objects).toContainEqual(before.objects.find((o) => o.key === key));
  }
  // the run's counters only grew: what was completed still is
  const setBefore = runItem(before, runId).s_completed as number[];
  expect(runItem(after, runId).s_completed).toEqual(expect.arrayContaining(setBefore));
  // the dead runner's task: failed as heartbeat_timeout by the reaper, queued again, completed by
  // the replacement on a later attempt
  const victimAfter = after.items.find((i) => i.pk === victim.pk && i.sk === victim.sk) as Item;
  expect(victimAfter).toMatchObject({
    status: 'completed',
    last_error_type: 'heartbeat_timeout',
    requeued_by: null,
    runner_id: expect.stringMatching(/^restart-c/),
  });
  expect(victimAfter.attempt).toBeGreaterThan(victim.attempt as number);
}, 300_000);
