// The run lifecycle through real HTTP: ids, claims, fencing, stop, retries, reaping and no_runner.
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { type ClaimResponse, Manifest, TASK_ID_FACTOR } from '../../lambdas/shared/contract';
import { readArchive } from '../assembly/helpers';
import { client, OPERATOR, RUNNER, startTestStack, upload, waitFor } from '../helpers/api';

type Assigned = Extract<ClaimResponse, { status: 'assigned' }>;
const assigned = (c: { body: ClaimResponse }): Assigned => {
  if (c.body.status !== 'assigned') throw new Error(`expected assigned, got ${JSON.stringify(c.body)}`);
  return c.body;
};

let offsetMs = 0;
const clock = (): Date => new Date(Date.now() + offsetMs);

async function withStack(
  fn: (stack: LocalStack, api: ReturnType<typeof client>) => Promise<void>,
): Promise<void> {
  offsetMs = 0;
  const stack = await startTestStack({ clock, heartbeatTimeoutS: 120 });
  try {
    await fn(stack, client(stack.apiUrl));
  } finally {
    await stack.stop();
  }
}

async function finished(api: ReturnType<typeof client>, status: string): Promise<Record<string, unknown>> {
  return waitFor(`run ${status}`, async () => {
    const r = await api.run(OPERATOR);
    return r.body.status === status ? r.body : undefined;
  });
}

it('answers 404 to /tasks/claim and GET /run before any run exists', () =>
  withStack(async (_s, api) => {
    const claim = await api.call('POST', '/tasks/claim', {
      key: OPERATOR,
      body: { provider: 'local', instance_type: 'a', runner_id: 'r' },
    });
    expect(claim.status).toBe(404);
    expect((await api.run()).status).toBe(404);
  }));

it('lets runners started before the run wait, then drain it, and answers done for an older run', () =>
  withStack(async (stack, api) => {
    const runId = 1_800_000_000;
    expect((await api.claim(runId, 'a', 'early')).body).toEqual({ status: 'wait', retry_after_seconds: 5 });
    const started = await api.start({ run_id: runId, runs_per_instance_type: 1, local: ['a'] });
    expect(started.status).toBe(201);
    expect(started.body.tasks[0]?.id).toBe(runId * TASK_ID_FACTOR + 1);
    const c = assigned(await api.claim(runId, 'a', 'early'));
    expect(c.task).toMatchObject({ run: 1, run_number: 1, attempt: 1, image: 'ruby:3.4.7' });
    expect(c.presigned_urls.result).toBe(c.presigned_urls.result_upload_url);
    expect(c.presigned_urls.result_key).toBe(`runs/${runId}/tasks/${c.task.id}/result.tar.gz`);
    await upload(c.presigned_urls.result);
    expect((await api.complete(c.task.id, 'early')).status).toBe(200);
    const run = await finished(api, 'complete');
    expect(run.tasks).toMatchObject({ total: 1, completed: 1 });
    expect(typeof run.gzip_url).toBe('string');
    expect((await api.run(RUNNER)).body.gzip_url).toBeNull(); // the runner key is in VM user data
    expect((await api.run(null)).body.gzip_url).toBeNull();
    await stack.assemblyIdle();
    expect((await api.claim(runId - 5, 'a', 'late')).body).toEqual({ status: 'done' });
    expect((await api.claim(runId, 'a', 'late')).body).toEqual({ status: 'done' });
    // a newer run id than every run waits: the start is on its way
    expect((await api.claim(runId + 10, 'a', 'next')).body.status).toBe('wait');
    // run ids must grow
    const again = await api.start({ run_id: runId, local: ['a'] });
    expect(again.status).toBe(400);
    expect(JSON.stringify(again.body)).toContain('run_id');
  }));

it('fences heartbeats and completes by runner and attempt, and counts a repeated complete once', () =>
  withStack(async (_s, api) => {
    const { run_id } = (await api.start({ runs_per_instance_type: 2, local: ['a'] })).body;
    const c = assigned(await api.claim(run_id, 'a', 'r1'));
    const id = c.task.id;
    expect((await api.heartbeat(id, 'r2')).body).toMatchObject({ error: 'not_your_task' });
    // an attempt the task never had is not called reaped
    expect((await api.heartbeat(id, 'r1', { attempt: 2 })).body).toEqual({
      error: 'stale_attempt',
      message: `task ${id} is on attempt 1; it has had no attempt 2, so a report for it is refused`,
    });
    expect(
      (await api.heartbeat(id, 'r1', { attempt: 1, current_benchmark: 'fib', progress_pct: 40 })).body,
    ).toEqual({
      action: 'continue',
    });
    expect((await api.run()).body.tasks).toMatchObject({ running: 1, pending: 1, claimed: 0 });
    expect((await api.complete(id, 'r1')).body).toMatchObject({ error: 'result_not_uploaded' });
    expect((await api.complete(id, 'r1', { s3_result_key: 'runs/1/other.tar.gz' })).status).toBe(400);
    await upload(c.presigned_urls.result);
    expect((await api.complete(id, 'r2')).body).toMatchObject({ error: 'not_your_task' });
    expect((await api.complete(id, 'r1', { s3_result_key: c.presigned_urls.result_key })).status).toBe(200);
    expect((await api.complete(id, 'r1')).status).toBe(200);
    expect((await api.heartbeat(id, 'r1')).body).toMatchObject({ error: 'task_finished' });
    expect((await api.fail(id, 'r1')).body).toMatchObject({ error: 'task_finished' });
    expect((await api.run()).body.tasks).toMatchObject({ total: 2, completed: 1, pending: 1, running: 0 });
    const list = await api.call<{ tasks: Array<{ id: number; status: string; runner_id: string }> }>(
      'GET',
      '/run/tasks',
    );
    expect(list.body.tasks.find((t) => t.id === id)).toMatchObject({ status: 'completed', runner_id: 'r1' });
  }));

it('answers done to an instance type with nothing left, so its VMs can power off early', () =>
  withStack(async (_s, api) => {
    const { run_id } = (await api.start({ runs_per_instance_type: 1, local: ['a', 'b'] })).body;
    const id = assigned(await api.claim(run_id, 'a', 'r1')).task.id;
    // claimed but not started: r1 may never have got the answer, so r2 stays to take it back
    expect((await api.claim(run_id, 'a', 'r2')).body).toMatchObject({ status: 'wait' });
    expect((await api.heartbeat(id, 'r1')).body).toEqual({ action: 'continue' });
    expect((await api.claim(run_id, 'a', 'r2')).body).toEqual({ status: 'done' });
    expect((await api.claim(run_id, 'zzz', 'r3')).body).toEqual({ status: 'done' });
    expect((await api.claim(run_id, 'b', 'r4', 'aws')).body).toEqual({ status: 'done' });
  }));

it('stops mid-run: cancels (keeps) unfinished tasks, aborts heartbeats, refuses late completes, archives the completed', () =>
  withStack(async (stack, api) => {
    const { run_id } = (await api.start({ runs_per_instance_type: 3, local: ['a'] })).body;
    const done = assigned(await api.claim(run_id, 'a', 'r1'));
    await upload(done.presigned_urls.result);
    await api.complete(done.task.id, 'r1');
    const busy = assigned(await api.claim(run_id, 'a', 'r2'));
    await api.heartbeat(busy.task.id, 'r2');
    const stop = await api.call('POST', '/run/stop', { key: OPERATOR });
    expect(stop.status).toBe(200);
    expect(stop.body).toMatchObject({ run_id });
    expect((await api.heartbeat(busy.task.id, 'r2')).body).toEqual({ action: 'abort' });
    await upload(busy.presigned_urls.result);
    expect((await api.complete(busy.task.id, 'r2')).body).toMatchObject({ error: 'task_finished' });
    expect((await api.fail(busy.task.id, 'r2', 'cancelled')).body).toMatchObject({ error: 'task_finished' });
    expect((await api.claim(run_id, 'a', 'r3')).body).toEqual({ status: 'done' });
    const run = await finished(api, 'cancelled');
    expect(run.tasks).toMatchObject({
      total: 3,
      completed: 1,
      failed: 0,
      cancelled: 2,
      pending: 0,
      running: 0,
    });
    expect(typeof run.gzip_url).toBe('string');
    // the archive says so too: the run cancelled, the tasks the stop ended cancelled with their reason
    const archive = await readArchive(Buffer.from(await (await fetch(run.gzip_url as string)).arrayBuffer()));
    const manifest = Manifest.parse(
      JSON.parse(String(archive.find((e) => e.name === 'manifest.json')?.data)),
    );
    expect(manifest.status).toBe('cancelled');
    expect(manifest.tasks.map((t) => [t.status, t.error_type])).toEqual([
      ['completed', null],
      ['cancelled', 'cancelled'],
      ['cancelled', 'cancelled'],
    ]);
    await stack.assemblyIdle();
    const list = await api.call<{ tasks: Array<{ status: string }> }>('GET', '/run/tasks');
    expect(list.body.tasks.map((t) => t.status).sort()).toEqual(['cancelled', 'cancelled', 'completed']);
    expect((await api.call('POST', '/run/stop', { key: OPERATOR })).status).toBe(404);
  }));

it('requeues a retryable failure while attempts remain and fences the old attempt', () =>
  withStack(async (_s, api) => {
    const { run_id } = (await api.start({ runs_per_instance_type: 1, local: ['a'], max_attempts: 2 })).body;
    const first = assigned(await api.claim(run_id, 'a', 'r1'));
    expect((await api.fail(first.task.id, 'r1', 'docker_error', { attempt: 1 })).status).toBe(200);
    expect((await api.run()).body.tasks).toMatchObject({ pending: 1, failed: 0 });
    // while it waits for its next attempt, the old holder is told in words that nobody holds it
    expect((await api.heartbeat(first.task.id, 'r1', { attempt: 1 })).body).toEqual({
      error: 'not_your_task',
      message: `task ${first.task.id} is pending and held by no runner, not by r1`,
    });
    const second = assigned(await api.claim(run_id, 'a', 'r2'));
    expect(second.task).toMatchObject({ id: first.task.id, attempt: 2 });
    expect((await api.heartbeat(first.task.id, 'r1', { attempt: 1 })).body).toMatchObject({
      error: 'not_your_task',
    });
    expect((await api.fail(second.task.id, 'r2', 'docker_error', { attempt: 2 })).status).toBe(200);
    const run = await finished(api, 'complete');
    expect(run.tasks).toMatchObject({ total: 1, failed: 1 });
  }));

it("shows a requeued task as pending with no trace of the dead attempt's claim, heartbeat or progress", () =>
  withStack(async (stack, api) => {
    const { run_id } = (await api.start({ runs_per_instance_type: 2, local: ['a'], max_attempts: 2 })).body;
    const byFail = assigned(await api.claim(run_id, 'a', 'r1'));
    const byReaper = assigned(await api.claim(run_id, 'a', 'r2'));
    for (const [c, runner] of [
      [byFail, 'r1'],
      [byReaper, 'r2'],
    ] as const) {
      const beat = { status: 'running', progress_pct: 40, message: 'fib', current_benchmark: 'fib' };
      expect((await api.heartbeat(c.task.id, runner, beat)).status).toBe(200);
    }
    expect((await api.fail(byFail.task.id, 'r1', 'docker_error', { attempt: 1 })).status).toBe(200);
    offsetMs = 121_000; // r2 went silent
    await stack.reapNow();
    const list = await api.call<{ tasks: Array<Record<string, unknown>> }>('GET', '/run/tasks');
    expect(list.body.tasks).toHaveLength(2);
    for (const t of list.body.tasks)
      expect(t).toMatchObject({
        status: 'pending',
        runner_id: null,
        attempt: 1,
        claimed_at: null,
        heartbeat_at: null,
        heartbeat_status: null,
        heartbeat_message: null,
        current_benchmark: null,
        progress_pct: null,
        error_type: null,
      });
    // the next attempt starts from there as a first one did
    const next = assigned(await api.claim(run_id, 'a', 'r3'));
    expect(next.task.attempt).toBe(2);
  }));

it('reaps a silent runner as heartbeat_timeout and drains the run', () =>
  withStack(async (stack, api) => {
    const { run_id } = (await api.start({ runs_per_instance_type: 1, local: ['a'] })).body;
    const c = assigned(await api.claim(run_id, 'a', 'r1'));
    await api.heartbeat(c.task.id, 'r1');
    offsetMs = 60_000;
    await stack.reapNow();
    expect((await api.run()).body.tasks).toMatchObject({ running: 1 });
    offsetMs = 121_000;
    await stack.reapNow();
    const run = await finished(api, 'complete');
    expect(run.tasks).toMatchObject({ failed: 1, running: 0 });
    const list = await api.call<{ tasks: Array<{ error_type: string }> }>('GET', '/run/tasks');
    expect(list.body.tasks[0]?.error_type).toBe('heartbeat_timeout');
    await upload(c.presigned_urls.result);
    expect((await api.complete(c.task.id, 'r1')).body).toMatchObject({ error: 'task_finished' });
  }));

it('fails the tasks of an instance type nobody claimed within pending_timeout_minutes as no_runner', () =>
  withStack(async (_s, api) => {
    const { run_id } = (
      await api.start({ runs_per_instance_type: 2, local: ['a', 'never'], pending_timeout_minutes: 1 })
    ).body;
    for (let i = 0; i < 2; i++) {
      const c = assigned(await api.claim(run_id, 'a', `r${i}`));
      await upload(c.presigned_urls.result);
      await api.complete(c.task.id, `r${i}`);
    }
    expect((await api.run()).body.status).toBe('running');
    offsetMs = 61_000;
    await _s.reapNow();
    const run = await finished(api, 'complete');
    expect(run.tasks).toMatchObject({ total: 4, completed: 2, failed: 2 });
    const list = await api.call<{ tasks: Array<{ instance_type: string; error_type: string | null }> }>(
      'GET',
      '/run/tasks',
    );
    expect(list.body.tasks.filter((t) => t.instance_type === 'never').map((t) => t.error_type)).toEqual([
      'no_runner',
      'no_runner',
    ]);
  }));

it('pages the task list with a cursor', () =>
  withStack(async (_s, api) => {
    await api.start({ runs_per_instance_type: 5, local: ['a', 'b', 'c'] });
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { tasks: Array<{ id: number }>; next_cursor: string | null } } = await api.call(
        'GET',
        `/run/tasks?limit=4${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.body.tasks.map((t) => t.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(15);
    expect(new Set(seen).size).toBe(15);
    // a last page that is exactly full offers no empty page after it
    const pages: number[] = [];
    cursor = null;
    do {
      const page: { body: { tasks: unknown[]; next_cursor: string | null } } = await api.call(
        'GET',
        `/run/tasks?limit=5${cursor ? `&cursor=${cursor}` : ''}`,
      );
      pages.push(page.body.tasks.length);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(pages).toEqual([5, 5, 5]);
  }));

it('stops only the run the caller names: a stale dashboard dialog cannot stop a newer run', () =>
  withStack(async (_s, api) => {
    const { run_id } = (await api.start({ runs_per_instance_type: 1, local: ['a'] })).body;
    const stale = await api.call('POST', '/run/stop', { key: OPERATOR, body: { run_id: run_id - 1 } });
    expect(stale.status).toBe(404);
    expect(stale.body).toMatchObject({
      error: 'not_found',
      message: `run ${run_id - 1} is not in progress: the current run is ${run_id} (running); nothing was stopped`,
    });
    expect((await api.run()).body.status).toBe('running');
    const named = await api.call('POST', '/run/stop', { key: OPERATOR, body: { run_id } });
    expect(named.status).toBe(200);
    expect((await api.run()).body.status).not.toBe('running');
  }));
