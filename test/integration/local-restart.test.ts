// The local server killed during assembly and started again on the same data dir: the run left
// `assembling` is assembled again and ends complete, with its keys and tasks intact. And
// `benchfleet local --data-dir` started again on a run left `running` carries that run to its end.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../../lambdas/adapters/local/stack';
import { Manifest } from '../../lambdas/shared/contract';
import { client, OPERATOR, RUNNER, upload, waitFor } from '../helpers/api';
import { runCli } from '../helpers/cli';

it('resumes a run left assembling when the local server starts again on its data dir', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bf-restart-'));
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
  const dir = mkdtempSync(join(tmpdir(), 'bf-resume-'));
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
