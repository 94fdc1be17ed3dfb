// The claim loop against a fake API: the protocol's edge cases, each on demand.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RunnerMeta, storageKeys } from '../../lambdas/shared/contract';
import { createRunner, startRunner } from '../../runner/agent';
import { ExecError } from '../../runner/executors/types';
import { FakeApi, untar } from './fake-api';
import { failingFirstRun, testRunner, waitFor } from './helpers';

let api: FakeApi;
afterEach(async () => {
  await api?.stop();
});

describe('runner against a fake API', () => {
  it('drains every task from two slots and uploads complete result tarballs', async () => {
    api = await new FakeApi({ tasks: 5 }).start();
    const r = testRunner(api.url);
    const res = await startRunner(r.input);
    expect(res).toMatchObject({ exitCode: 0, tasksCompleted: 5, tasksFailed: 0, interrupted: false });
    expect(res.runnerIds).toEqual(['testhost-0', 'testhost-1']);
    for (const t of api.tasks) {
      expect(t.status).toBe('completed');
      const key = storageKeys.result(t.task.run_id, t.task.id);
      expect(t.complete).toEqual({ runner_id: t.runnerId, s3_result_key: key, attempt: 1 });
      for (const hb of t.heartbeats) expect(hb).toMatchObject({ runner_id: t.runnerId, attempt: 1 });
      const files = await untar(api.objects.get(key) as Buffer);
      expect([...files.keys()].sort()).toEqual([
        'logs/stderr.log',
        'logs/stdout.log',
        'meta.json',
        'output.csv',
        'output.json',
        'output.txt',
      ]);
      const meta = RunnerMeta.strict().parse(JSON.parse(files.get('meta.json') ?? ''));
      expect(meta).toMatchObject({ task_id: t.task.id, run: t.task.run, attempt: 1, exit_code: 0 });
      expect(meta.ruby_description).toMatch(/^SYNTHETIC/);
      expect(files.get('output.txt')).toMatch(/SYNTHETIC/);
    }
    // Acknowledged tasks leave nothing behind.
    expect(readdirSync(r.workDir)).toEqual([]);
  });

  it('counts the claim as the first heartbeat: an instant task sends none, a longer one its status a second in', async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    await startRunner(testRunner(api.url, { slots: 1, heartbeatS: 30 }).input);
    expect(api.tasks[0]?.status).toBe('completed');
    expect(api.tasks[0]?.heartbeats).toEqual([]);

    await api.stop();
    api = await new FakeApi({ tasks: 1 }).start();
    api.putDelayMs = 1500; // the upload outlasts the first second
    const started = Date.now();
    let firstAt = 0;
    api.onHeartbeat = () => {
      firstAt ||= Date.now();
    };
    await startRunner(testRunner(api.url, { slots: 1, heartbeatS: 30 }).input);
    expect(api.tasks[0]?.heartbeats.length).toBe(1);
    expect(api.tasks[0]?.heartbeats[0]?.status).toBe('uploading');
    expect(firstAt - started).toBeGreaterThanOrEqual(1000);
  });

  it('fetches fresh upload URLs, and again after a 403, until the upload works', async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    api.putPlan = [500, 403];
    const res = await startRunner(testRunner(api.url, { slots: 1 }).input);
    expect(res.tasksCompleted).toBe(1);
    expect(api.calls.filter((c) => c.endsWith('/upload-urls'))).toHaveLength(2);
    expect(api.calls.filter((c) => c.startsWith('PUT'))).toHaveLength(3);
  });

  it('asks for upload URLs with the attempt it claimed: 1, then 2 once a retryable failure requeued the task', async () => {
    api = await new FakeApi({ tasks: 1, maxAttempts: 2 }).start();
    // attempt 1 fails as docker_error (retryable: the fake requeues it) and uploads error.tar.gz
    const engineGone = new ExecError('docker_error', 'the container engine is not answering');
    const res = await startRunner(
      testRunner(api.url, { slots: 1, executorOverride: failingFirstRun(engineGone) }).input,
    );
    expect(res).toMatchObject({ tasksFailed: 1, tasksCompleted: 1 });
    const t = api.tasks[0];
    expect(t?.fail).toMatchObject({ error_type: 'docker_error', attempt: 1 });
    expect(t?.complete).toMatchObject({ attempt: 2 });
    // the claim's URLs had expired both times: one upload-urls per attempt, each naming it
    expect(t?.urlRequests).toEqual([
      { runner_id: 'testhost-0', attempt: 1 },
      { runner_id: 'testhost-0', attempt: 2 },
    ]);
  });

  it('fails the task as upload_failed with an error tarball when the result URL never works', async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    api.putFail = (key) => (key.endsWith('result.tar.gz') ? 500 : undefined);
    const res = await startRunner(testRunner(api.url, { slots: 1 }).input);
    expect(res).toMatchObject({ tasksCompleted: 0, tasksFailed: 1 });
    const t = api.tasks[0];
    expect(t?.fail).toMatchObject({ error_type: 'upload_failed', attempt: 1 });
    const key = storageKeys.error(t?.task.run_id ?? 0, t?.task.id ?? 0);
    expect(t?.fail?.s3_error_key).toBe(key);
    const files = await untar(api.objects.get(key) as Buffer);
    expect([...files.keys()].sort()).toEqual(['logs/stderr.log', 'logs/stdout.log', 'meta.json']);
  }, 60_000);

  it('waits out an API outage, including one that starts mid-task, and loses nothing', async () => {
    api = await new FakeApi({ tasks: 4 }).start();
    api.down = true;
    setTimeout(() => {
      api.down = false;
    }, 1500);
    let outages = 0;
    api.onHeartbeat = (t) => {
      if (t.task.id === api.tasks[2]?.task.id && outages++ === 0) {
        api.down = true;
        setTimeout(() => {
          api.down = false;
        }, 1500);
      }
    };
    // tasks long enough to heartbeat (a task that ends within a second may send none), so the
    // second outage really starts mid-task
    const res = await startRunner(testRunner(api.url, { syntheticSize: 5 }).input);
    expect(res).toMatchObject({ exitCode: 0, tasksCompleted: 4 });
    expect(api.tasks.every((t) => t.status === 'completed')).toBe(true);
    expect(outages).toBeGreaterThan(0);
  });

  it('keeps the task folder and its tarball when complete is never acknowledged', async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    api.completeStatus = 503;
    const r = testRunner(api.url, { slots: 1, maxRetryS: 1 });
    const res = await startRunner(r.input);
    // the run counts the task as lost: the runner's exit status says so
    expect(res).toMatchObject({ exitCode: 1, tasksCompleted: 0, tasksUnacknowledged: 1 });
    expect(r.lines.join('\n')).toMatch(/1 task\(s\) were never acknowledged by the API: .*exiting 1/);
    const [dir] = readdirSync(r.workDir);
    expect(readdirSync(join(r.workDir, dir ?? ''))).toContain('result.tar.gz');
    expect(r.lines.join('\n')).toMatch(/never acknowledged task \d+; its files stay in/);
  });

  it('gives up with exit code 1 and says what it tried when the API never answers', async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    api.down = true;
    const r = testRunner(api.url, { maxRetryS: 1, slots: 1 });
    const res = await startRunner(r.input);
    expect(res.exitCode).toBe(1);
    expect(r.lines.join('\n')).toMatch(
      /giving up on claims: POST http:\/\/127\.0\.0\.1:\d+\/tasks\/claim: no usable answer after \d+ attempt/,
    );
  });

  it('names the network cause (the refused port) and what to check when it gives up on claims', async () => {
    // a port nothing listens on: fetch says only "fetch failed", the refusal is its cause
    const { createServer } = await import('node:net');
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    api = await new FakeApi({ tasks: 1 }).start(); // only for afterEach
    const apiUrl = `http://127.0.0.1:${port}`;
    const r = testRunner(apiUrl, { maxRetryS: 1, slots: 1 });
    const res = await startRunner(r.input);
    expect(res.exitCode).toBe(1);
    const giveUp = r.lines.find((l) => l.includes('giving up on claims')) ?? '';
    expect(giveUp).toContain(`last: network: fetch failed (ECONNREFUSED 127.0.0.1:${port})`);
    expect(giveUp).toContain(`check --api / BENCHFLEET_API_URL (now ${apiUrl}) and that the API is deployed`);
    expect(giveUp.split('\n')).toHaveLength(1);
  });

  it('retries a malformed claim answer, then carries on', async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    api.rawClaims = ['{"status":"sleeping"}', 'not json'];
    const r = testRunner(api.url, { slots: 1 });
    const res = await startRunner(r.input);
    expect(res.tasksCompleted).toBe(1);
    expect(r.lines.join('\n')).toMatch(/malformed answer/);
  });

  it.each([429, 404])(
    'retries a claim answered %d (throttled, or no run yet), then carries on',
    async (status) => {
      api = await new FakeApi({ tasks: 1 }).start();
      api.claimPlan = [status, status];
      const res = await startRunner(testRunner(api.url, { slots: 1 }).input);
      expect(res).toMatchObject({ exitCode: 0, tasksCompleted: 1 });
      // two answered `status`, then the task, then done
      expect(api.calls.filter((c) => c.endsWith('/claim'))).toHaveLength(4);
    },
  );

  it('claims at /runs/{run_id}/tasks/claim when given a run id', async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    await startRunner(testRunner(api.url, { slots: 1, runId: 1700000000 }).input);
    expect(api.calls[0]).toBe('POST /runs/1700000000/tasks/claim');
  });

  it('aborts within one heartbeat when the API answers abort, and fails the task as cancelled', async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    let cancelledAt = 0;
    api.onHeartbeat = (t, hb) => {
      if (hb.status === 'running' && !cancelledAt) {
        cancelledAt = Date.now();
        api.cancel(t.task.id);
      }
    };
    const r = testRunner(api.url, { slots: 1, syntheticSize: 1000, heartbeatS: 0.5 });
    const res = await startRunner(r.input);
    const t = api.tasks[0];
    expect(t?.status).toBe('cancelled');
    // a stop of the run is no failure of this host: counted apart (a --debug VM still powers off)
    expect(res).toMatchObject({ tasksFailed: 0, tasksCancelled: 1 });
    // The next heartbeat (at most 0.5 s later) carries the abort; the worker stops at once.
    expect(r.lines.join('\n')).toMatch(/the API answered the heartbeat with abort/);
    expect(r.lines.join('\n')).toMatch(/fail answered 409 task_finished/);
    expect(Date.now() - cancelledAt).toBeLessThan(5000);
    // the task's keys are no longer this attempt's: no error.tar.gz is written
    expect(api.calls.filter((c) => c.startsWith('PUT'))).toEqual([]);
  });

  it("a task reaped under it (heartbeat 409): stops at once and writes nothing to the task's keys", async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    api.onHeartbeat = (t, hb) => {
      if (hb.status === 'running') api.reap(t.task.id);
    };
    const r = testRunner(api.url, { slots: 1, syntheticSize: 1000, heartbeatS: 0.5 });
    const res = await startRunner(r.input);
    expect(res.tasksFailed).toBe(1);
    const t = api.tasks[0];
    expect(t).toMatchObject({ status: 'failed', reaped: true });
    expect(t?.fail).toBeUndefined();
    expect(r.lines.join('\n')).toMatch(/stopping the task: HTTP 409 task_finished: task is failed/);
    expect(r.lines.join('\n')).toMatch(/error\.tar\.gz not uploaded: the task is no longer ours/);
    expect(api.calls.filter((c) => c.startsWith('PUT'))).toEqual([]);
    expect(api.objects.size).toBe(0);
  });

  it('a task found cancelled by upload-urls (409) during result retries writes no error.tar.gz', async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    api.claimUrlsValidS = 3600; // the claim's URLs are good: the first PUT uses them
    const t = api.tasks[0] as NonNullable<(typeof api.tasks)[0]>;
    const resultKey = storageKeys.result(t.task.run_id, t.task.id);
    api.putFail = (key) => {
      if (key !== resultKey) return undefined;
      api.cancel(t.task.id); // a stop lands while S3 refuses the result PUT
      return 500;
    };
    const res = await startRunner(testRunner(api.url, { slots: 1, syntheticSize: 0, heartbeatS: 30 }).input);
    expect(res.tasksFailed).toBe(1);
    expect(t.status).toBe('cancelled');
    expect(api.calls.filter((c) => c.endsWith('/upload-urls'))).toHaveLength(1);
    expect(api.objects.size).toBe(0);
  });

  it('a task found cancelled by upload-urls (409) stops uploading there, when no heartbeat gets through to say so', async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    api.claimUrlsValidS = 3600; // the claim's URLs are good: the first PUT uses them
    api.heartbeatPlan = Array(1000).fill(503); // only upload-urls can tell the runner
    const t = api.tasks[0] as NonNullable<(typeof api.tasks)[0]>;
    const resultKey = storageKeys.result(t.task.run_id, t.task.id);
    api.putFail = (key) => {
      if (key !== resultKey) return undefined;
      api.cancel(t.task.id);
      return 500;
    };
    const r = testRunner(api.url, { slots: 1, syntheticSize: 0, heartbeatS: 0.2, maxRetryS: 3 });
    const res = await startRunner(r.input);
    expect(res.tasksFailed).toBe(1);
    // no second PUT with the claim's URLs, and no error.tar.gz, once the API said the task is over
    expect(api.calls.filter((c) => c.startsWith('PUT'))).toHaveLength(1);
    expect(api.objects.size).toBe(0);
  });

  it('fails a task that passes --task-timeout-s as timeout', async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    const res = await startRunner(
      testRunner(api.url, { slots: 1, syntheticSize: 1000, taskTimeoutS: 0.5 }).input,
    );
    expect(res.tasksFailed).toBe(1);
    expect(api.tasks[0]?.fail).toMatchObject({ error_type: 'timeout' });
  });

  it('heartbeats from a timer while the workload runs, with the current benchmark and rising percent', async () => {
    api = await new FakeApi({ tasks: 1, benchmarks: ['fib', 'nbody', 'json', 'regex'] }).start();
    api.putDelayMs = 400;
    // about 1.5 s of workload on a fast machine: enough 50 ms beats to see the percent rise
    await startRunner(testRunner(api.url, { slots: 1, syntheticSize: 10, heartbeatS: 0.05 }).input);
    const running =
      api.tasks[0]?.heartbeats.filter((h) => h.status === 'running' && h.current_benchmark) ?? [];
    expect(running.length).toBeGreaterThan(2);
    const pcts = running.map((h) => h.progress_pct ?? 0);
    expect(pcts).toEqual([...pcts].sort((a, b) => a - b));
    expect(new Set(running.map((h) => h.current_benchmark)).size).toBeGreaterThan(1);
    expect(api.tasks[0]?.heartbeats.map((h) => h.status)).toContain('uploading');
    // every beat names its attempt, so a reaped attempt's beats cannot keep a retry alive
    for (const hb of api.tasks[0]?.heartbeats ?? [])
      expect(hb).toMatchObject({ runner_id: 'testhost-0', attempt: 1 });
  });

  it('on stop() fails the in-flight task as interrupted, claims nothing more and does not power off', async () => {
    api = await new FakeApi({ tasks: 3 }).start();
    const r = testRunner(api.url, {
      slots: 1,
      syntheticSize: 1000,
      shutdownOnDone: true,
      shutdownCommand: `touch ${join('WORK', 'powered-off')}`,
    });
    r.input.shutdownCommand = `touch ${join(r.workDir, 'powered-off')}`;
    const h = createRunner(r.input);
    await waitFor(() => (api.tasks[0]?.heartbeats.length ?? 0) > 1, 10_000, 'a heartbeat');
    h.stop();
    const res = await h.done;
    expect(res.interrupted).toBe(true);
    expect(api.tasks[0]?.fail).toMatchObject({ error_type: 'interrupted' });
    expect(api.tasks.slice(1).every((t) => t.status === 'pending')).toBe(true);
    expect(existsSync(join(r.workDir, 'powered-off'))).toBe(false);
  });

  it('a stop that comes while a claim is in flight fails the task that claim brings as interrupted, unrun', async () => {
    api = await new FakeApi({ tasks: 2 }).start();
    let release = (): void => undefined;
    api.claimGate = new Promise<void>((r) => {
      release = r;
    });
    const r = testRunner(api.url, { slots: 1, syntheticSize: 1000 });
    const h = createRunner(r.input);
    await waitFor(() => api.calls.some((c) => c.endsWith('/claim')), 10_000, 'a claim');
    h.stop();
    release();
    const res = await h.done;
    expect(res.interrupted).toBe(true);
    // the claim's answer still came (within the stop budget): the task is handed back, not run
    expect(api.tasks[0]?.fail).toMatchObject({ error_type: 'interrupted' });
    expect(api.tasks[0]?.heartbeats.map((hb) => hb.status)).not.toContain('running');
    expect(api.calls.filter((c) => c.endsWith('/claim'))).toHaveLength(1);
    expect(api.tasks[1]?.status).toBe('pending');
  });

  it('runs the shutdown command when every slot is done, but not in debug mode after a failure', async () => {
    api = await new FakeApi({ tasks: 1 }).start();
    const ok = testRunner(api.url, { shutdownOnDone: true });
    ok.input.shutdownCommand = `touch ${join(ok.workDir, 'powered-off')}`;
    expect((await startRunner(ok.input)).shutdownRan).toBe(true);
    expect(existsSync(join(ok.workDir, 'powered-off'))).toBe(true);
    await api.stop();

    api = await new FakeApi({ tasks: 1 }).start();
    api.putFail = () => 500;
    const dbg = testRunner(api.url, { shutdownOnDone: true, debug: true, slots: 1 });
    dbg.input.shutdownCommand = `touch ${join(dbg.workDir, 'powered-off')}`;
    const res = await startRunner(dbg.input);
    expect(res).toMatchObject({ tasksFailed: 1, shutdownRan: false });
    expect(dbg.lines.join('\n')).toMatch(/staying up for inspection/);
    // Debug keeps the failed task's files for inspection.
    expect(readdirSync(dbg.workDir).some((f) => f.startsWith('task-'))).toBe(true);
  }, 60_000);
});
