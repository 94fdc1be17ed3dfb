// The local server killed during assembly and started again on the same data dir: the run left
// `assembling` is assembled again and ends complete, with its keys and tasks intact. And
// `benchfleet local --data-dir` started again on a run left `running` carries that run to its end.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalStack } from '../../lambdas/adapters/local/stack';
import { Manifest } from '../../lambdas/shared/contract';
import { client, OPERATOR, RUNNER, upload, waitFor } from '../helpers/api';
import { runCli } from '../helpers/cli';
import { CliProcess } from '../helpers/cli-process';
import { tempDir } from '../helpers/temp-dir';

it('resumes a run left assembling when the local server starts again on its data dir', async () => {
  const dataDir = tempDir('bf-restart-');
  // First server: its assembly never gets going, as if the process died right after the drain.
  let started = 0;
  const first = await startLocalStack({
    dataDir,
    operatorKey: OPERATOR,
    runnerKey: RUNNER,
    reaperIntervalS: 3600,
    assembly: () => ({
      start: async () => {
        started++;
        return 'started' as const;
      },
    }),
  });
  const api = client(first.apiUrl);
  const { run_id } = (await api.start({ runs_per_instance_type: 1, local: ['a', 'b'] })).body;
  for (const type of ['a', 'b']) {
    const c = await api.claim(run_id, type, `r-${type}`);
    if (c.body.status !== 'assigned') throw new Error('expected a task');
    await upload(c.body.presigned_urls.result);
    expect((await api.complete(c.body.task.id, `r-${type}`)).status).toBe(200);
  }
  expect((await api.run()).body.status).toBe('assembling');
  expect(started).toBe(1);
  await first.stop();

  // Second server on the same data dir (keys come from it too): the assembly runs for real.
  const second = await startLocalStack({ dataDir, reaperIntervalS: 3600 });
  try {
    expect(second.operatorKey).toBe(OPERATOR);
    const api2 = client(second.apiUrl);
    const run = await waitFor('the resumed assembly', async () => {
      const r = await api2.run(OPERATOR);
      return r.body.status === 'complete' ? r.body : undefined;
    });
    expect(run.tasks).toMatchObject({ total: 2, completed: 2 });
    expect(typeof run.gzip_url).toBe('string');
    const archive = await fetch(run.gzip_url as string);
    expect(archive.status).toBe(200);
    expect(Buffer.from(await archive.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  } finally {
    await second.stop();
  }
}, 120_000);

it('`benchfleet local --data-dir` resumes a run an earlier local run left running', async () => {
  const dir = tempDir('bf-resume-');
  const dataDir = join(dir, 'data');
  // The earlier `benchfleet local`: one task done, one in flight, then the process is gone.
  const first = await startLocalStack({
    dataDir,
    operatorKey: OPERATOR,
    runnerKey: RUNNER,
    reaperIntervalS: 3600,
  });
  const api = client(first.apiUrl);
  const { run_id } = (await api.start({ runs_per_instance_type: 2, local: ['a', 'b'], max_attempts: 2 }))
    .body;
  const done = await api.claim(run_id, 'b', 'old-b');
  if (done.body.status !== 'assigned') throw new Error('expected a task');
  await upload(done.body.presigned_urls.result);
  expect((await api.complete(done.body.task.id, 'old-b')).status).toBe(200);
  const inFlight = await api.claim(run_id, 'a', 'old-a');
  if (inFlight.body.status !== 'assigned') throw new Error('expected a task');
  expect((await api.run()).body.status).toBe('running');
  await first.stop();

  // Started again on that data dir with some other config: it attaches to the run, not /run/start.
  const config = join(dir, 'next.json');
  writeFileSync(config, '{"ruby_version": "3.4.7", "runs_per_instance_type": 1, "local": ["other"]}\n');
  const results = join(dir, 'results');
  const out = await runCli([
    'local',
    '--config',
    config,
    '--data-dir',
    dataDir,
    '--results-dir',
    results,
    '--synthetic-size',
    '0',
    '--heartbeat-timeout-s',
    '2',
    '--reaper-interval-s',
    '1',
    '--json',
  ]);
  expect(out.stderr).toContain(`resuming run ${run_id} from the data dir ${dataDir}`);
  expect(out.stderr).not.toContain('run_in_progress');
  expect(out.stderr).toContain('== done ==');
  expect(out.code).toBe(0);
  const report = JSON.parse(out.stdout) as {
    run: { run_id: number; status: string; tasks: Record<string, number> };
    results: { results_dir: string; site: string };
  };
  expect(report.run).toMatchObject({ run_id, status: 'complete' });
  expect(report.run.tasks).toMatchObject({ total: 4, completed: 4 });
  expect(report.results.results_dir).toBe(join(results, String(run_id)));
  const manifest = Manifest.parse(
    JSON.parse(readFileSync(join(report.results.results_dir, 'manifest.json'), 'utf8')),
  );
  expect(manifest.tasks.map((t) => `${t.instance_type}-${t.run}`).sort()).toEqual([
    'a-1',
    'a-2',
    'b-1',
    'b-2',
  ]);
  expect(existsSync(report.results.site)).toBe(true);
}, 180_000);

it('a resumed run takes back at once the tasks the killed `benchfleet local` had in flight', async () => {
  const dir = tempDir('bf-resume-dead-');
  const dataDir = join(dir, 'data');
  // The killed `benchfleet local`: its in-process runners (host id local-a) held two tasks, one
  // running, one claimed but never started; a runner outside it held a third, and lives on.
  const first = await startLocalStack({
    dataDir,
    operatorKey: OPERATOR,
    runnerKey: RUNNER,
    reaperIntervalS: 3600,
  });
  const old = client(first.apiUrl);
  const { run_id } = (await old.start({ runs_per_instance_type: 3, local: ['a'] })).body;
  const ids: Record<string, number> = {};
  for (const runner of ['local-a-1', 'local-a-2', 'outside-1']) {
    const c = await old.claim(run_id, 'a', runner);
    if (c.body.status !== 'assigned') throw new Error('expected a task');
    ids[runner] = c.body.task.id;
  }
  for (const runner of ['local-a-1', 'outside-1'])
    expect((await old.heartbeat(ids[runner] as number, runner)).status).toBe(200);
  await first.stop();

  const config = join(dir, 'next.json');
  writeFileSync(config, '{"ruby_version": "3.4.7", "runs_per_instance_type": 1, "local": ["other"]}\n');
  // A heartbeat timeout far longer than the test's: a task left to wait it out never ends in time.
  const cli = new CliProcess([
    'local',
    '--config',
    config,
    '--data-dir',
    dataDir,
    '--results-dir',
    join(dir, 'results'),
    '--synthetic-size',
    '0',
    '--heartbeat-timeout-s',
    '3600',
    '--json',
  ]);
  try {
    const apiUrl = (await cli.waitFor(/API: +(http:\/\/\S+)/))[1] as string;
    const line = (await cli.waitFor(/\d+ task\(s\) were in flight[^\n]*/))[0];
    expect(line).toBe(
      '3 task(s) were in flight when it stopped, their runners gone with it: 1 queued again; 1 failed as heartbeat_timeout (no attempt left); 1 held by other runners stay theirs (if those are gone too, they fail as heartbeat_timeout after --heartbeat-timeout-s, 3600 s, and are retried while attempts remain)',
    );
    // the outside runner's task was left alone: it beats, uploads and completes as usual
    const api = client(apiUrl);
    const outside = ids['outside-1'] as number;
    expect((await api.heartbeat(outside, 'outside-1')).body).toEqual({ action: 'continue' });
    const urls = await api.call<{ result: string }>('POST', `/tasks/${outside}/upload-urls`, {
      key: RUNNER,
      body: { runner_id: 'outside-1' },
    });
    await upload(urls.body.result);
    expect((await api.complete(outside, 'outside-1')).status).toBe(200);
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    const report = JSON.parse(cli.stdout) as { run: { status: string; tasks: Record<string, number> } };
    expect(report.run.status).toBe('complete');
    expect(report.run.tasks).toMatchObject({ total: 3, completed: 2, failed: 1 });
    const results = join(dir, 'results', String(run_id));
    const manifest = Manifest.parse(JSON.parse(readFileSync(join(results, 'manifest.json'), 'utf8')));
    const failed = manifest.tasks.find((t) => t.id === ids['local-a-1']);
    expect(failed).toMatchObject({ status: 'failed', error_type: 'heartbeat_timeout' });
    expect(failed?.error_message).toBe('runner local-a-1 died with the `benchfleet local` that ran it');
  } finally {
    cli.kill();
  }
}, 180_000);
