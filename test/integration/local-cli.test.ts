// `benchfleet local` end to end, as a user runs it: a child process, exit 0, results/<id>/ with
// every task's output.txt, a manifest that agrees, and the site.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Manifest, RunnerMeta } from '../../lambdas/shared/contract';
import { runCli } from '../helpers/cli';
import { cliTmpDir, tempDir } from '../helpers/temp-dir';

it('runs a complete local run into results/<run-id>/ with a manifest that agrees and a site', async () => {
  const dir = tempDir('bf-cli-');
  const config = join(dir, 'run.json');
  writeFileSync(
    config,
    '{\n  // two types, two runs each\n  "ruby_version": "3.4.7",\n  "runs_per_instance_type": 2,\n  "local": ["small", "large"]\n}\n',
  );
  const out = await runCli([
    'local',
    '--config',
    config,
    '--results-dir',
    join(dir, 'results'),
    '--synthetic-size',
    '0',
    '--json',
  ]);
  expect(out.stderr).toContain('== done ==');
  expect(out.code).toBe(0);
  // the progress block ends with the final summary line, printed once
  expect(out.stderr.match(/^run \d+ complete: /gm)).toHaveLength(1);
  const report = JSON.parse(out.stdout) as {
    run: { run_id: number; status: string };
    results: { results_dir: string; site: string };
  };
  expect(report.run.status).toBe('complete');
  const resultsDir = report.results.results_dir;
  const manifest = Manifest.parse(JSON.parse(readFileSync(join(resultsDir, 'manifest.json'), 'utf8')));
  expect(manifest.run_id).toBe(report.run.run_id);
  expect(manifest.tasks).toHaveLength(4);
  for (const t of manifest.tasks) {
    expect(t.status).toBe('completed');
    expect(t.files).toContain(`${t.instance_type}-${t.run}/output.txt`);
    expect(existsSync(join(resultsDir, `${t.instance_type}-${t.run}`, 'output.txt'))).toBe(true);
    // the synthetic workload's meta.json says where it ran and beside how many, as a VM's does
    const meta = RunnerMeta.parse(
      JSON.parse(readFileSync(join(resultsDir, `${t.instance_type}-${t.run}`, 'meta.json'), 'utf8')),
    );
    expect(meta).toMatchObject({
      // the data dir's hash in it: two `benchfleet local` at once never share a host id
      host_id: expect.stringMatching(new RegExp(`^local-${t.instance_type}-[0-9a-f]{8}$`)),
      runner_version: expect.any(String),
      busy_slots_at_start: expect.any(Number),
      busy_slots_max: expect.any(Number),
    });
    expect(meta.runner_id.startsWith(`${meta.host_id}-`)).toBe(true);
  }
  expect(readdirSync(resultsDir).sort()).toEqual([
    'large-1',
    'large-2',
    'manifest.json',
    'site',
    'small-1',
    'small-2',
  ]);
  expect(readFileSync(report.results.site, 'utf8')).toContain('small');
}, 180_000);

it('names the file, line and field of a bad config, exits non-zero and starts nothing', async () => {
  const dir = tempDir('bf-cli-');
  const config = join(dir, 'bad.json');
  writeFileSync(
    config,
    '{\n  "ruby_version": "3.4.7",\n  "runs_per_instance_type": "two",\n  "local": ["a"]\n}\n',
  );
  const out = await runCli(['local', '--config', config, '--results-dir', join(dir, 'results')]);
  expect(out.code).not.toBe(0);
  expect(out.stderr).toContain('bad.json');
  expect(out.stderr).toContain('runs_per_instance_type');
  expect(out.stderr).toMatch(/bad\.json:3:\d+/);
  expect(out.stderr).not.toContain('Benchfleet local mode');
  expect(existsSync(join(dir, 'results'))).toBe(false);
}, 60_000);

it('puts the results under BENCHFLEET_RESULTS_DIR when --results-dir is not given', async () => {
  const dir = tempDir('bf-cli-');
  const config = join(dir, 'run.json');
  writeFileSync(config, '{"ruby_version": "3.4.7", "runs_per_instance_type": 1, "local": ["solo"]}\n');
  const root = join(dir, 'from-env');
  const out = await runCli(['local', '--config', config, '--synthetic-size', '0', '--json'], {
    BENCHFLEET_RESULTS_DIR: root,
  });
  expect(out.stderr).toContain('== done ==');
  expect(out.code).toBe(0);
  const report = JSON.parse(out.stdout) as { run: { run_id: number }; results: { results_dir: string } };
  expect(report.results.results_dir).toBe(join(root, String(report.run.run_id)));
  expect(existsSync(join(root, String(report.run.run_id), 'site', 'index.html'))).toBe(true);
}, 180_000);

it('keeps stdout valid JSON with --json --verbose: the handler logs go to stderr', async () => {
  const dir = tempDir('bf-cli-');
  const config = join(dir, 'run.json');
  writeFileSync(config, '{"ruby_version": "3.4.7", "runs_per_instance_type": 1, "local": ["solo"]}\n');
  const args = ['local', '--config', config, '--results-dir', join(dir, 'results'), '--synthetic-size', '0'];
  // runCli sets POWERTOOLS_LOG_LEVEL=WARN, as bin/benchfleet.js does by default; --verbose asks for INFO
  const out = await runCli([...args, '--json', '--verbose']);
  expect(out.code).toBe(0);
  const report = JSON.parse(out.stdout) as { run: { status: string } };
  expect(report.run.status).toBe('complete');
  expect(out.stderr).toMatch(/^\{"level":"INFO","message":"archive built"/m);
}, 180_000);

it('keeps the archive, and says where, when it cannot be unpacked after the run', async () => {
  const dir = tempDir('bf-cli-');
  const config = join(dir, 'run.json');
  writeFileSync(config, '{"ruby_version": "3.4.7", "runs_per_instance_type": 1, "local": ["solo"]}\n');
  const tmp = cliTmpDir(join(dir, 'tmp'));
  const preload = join(__dirname, '..', 'cli', 'fakes', 'fail-unpack.cjs');
  const out = await runCli(
    ['local', '--config', config, '--results-dir', join(dir, 'results'), '--synthetic-size', '0'],
    { TMPDIR: tmp, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}` },
  );
  expect(out.code).toBe(1);
  const m = /the archive is kept in (\S+results-(\d+)\.tar\.gz): unpack it with/.exec(out.stderr);
  expect(m).not.toBeNull();
  const [, archive = '', runId = ''] = m as RegExpExecArray;
  expect(out.stderr).toContain(`run ${runId} is complete, but`);
  expect(out.stderr).toContain('ENOSPC');
  // the results folder the run took before it started is gone again, and named as nothing written
  expect(readdirSync(join(dir, 'results'))).toEqual([]);
  expect(out.stderr).not.toContain('the previous results');
  // the temp data dir holding it is not removed at exit, and says so
  const dataDir = join(tmp, readdirSync(tmp).find((f) => f.startsWith('benchfleet-local-')) ?? 'none');
  expect(archive).toBe(join(dataDir, `results-${runId}.tar.gz`));
  expect(out.stderr).toContain(`the data dir ${dataDir} is not removed`);
  const listing = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' });
  expect(listing).toMatch(/manifest\.json/);
  expect(listing).toMatch(/solo-1\/output\.txt/);
}, 180_000);
