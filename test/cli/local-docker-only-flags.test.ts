// --image and --ruby-bench-dir only mean something to the docker workload: given for a synthetic
// run (which runs no container) they are refused, naming the flags, the workload and what to do,
// before a run starts. A run resumed from --data-dir without --workload goes on with its recorded
// workload, so there they are judged against that one (cli/lib/local-run-record.ts).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_RECORD_FILE } from '../../cli/lib/local-run-record';
import { startLocalStack } from '../../lambdas/adapters/local/stack';
import { runCli } from '../helpers/cli';

jest.setTimeout(60_000);

let dir: string;
let config: string;
let results: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-docker-only-'));
  config = join(dir, 'run.json');
  writeFileSync(config, '{"ruby_version": "3.4.7", "runs_per_instance_type": 1, "local": ["solo"]}\n');
  results = join(dir, 'results');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const local = (...args: string[]) =>
  runCli(['local', '-c', config, '--results-dir', results, '--synthetic-size', '0', ...args]);

it('refuses --image with the default workload before anything starts, saying to add --workload docker', async () => {
  const r = await local('--image', 'ruby:3.3');
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(
    'benchfleet local: --image is for --workload docker, but this run would use the synthetic workload (the default), which runs no container, so it would be ignored: add --workload docker, or leave it out\n',
  );
  expect(existsSync(results)).toBe(false);
});

it('refuses --image and --ruby-bench-dir with --workload synthetic, naming both', async () => {
  const r = await local('--workload', 'synthetic', '--image', 'ruby:3.3', '--ruby-bench-dir', dir);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe(
    'benchfleet local: --image and --ruby-bench-dir are for --workload docker, but this run would use the synthetic workload, which runs no container, so they would be ignored: add --workload docker, or leave them out\n',
  );
});

it('with --data-dir: refuses them for a new synthetic run before it starts, and judges a resumed run by its recorded workload', async () => {
  const data = join(dir, 'data');
  const fresh = await local('--data-dir', data, '--image', 'ruby:3.3');
  expect(fresh.code).toBe(1);
  expect(fresh.stderr).toContain(
    '\nbenchfleet local: --image is for --workload docker, but this run would use the synthetic workload (the default)',
  );
  expect(existsSync(join(data, RUN_RECORD_FILE))).toBe(false); // no run was started
  expect(existsSync(results) ? readdirSync(results) : []).toEqual([]);

  // a run left running in the data dir, as a killed `benchfleet local` leaves it
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const stack = await startLocalStack({ dataDir: data, reaperIntervalS: 3600 });
  const res = await fetch(`${stack.apiUrl}/run/start`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.operatorKey}`, 'content-type': 'application/json' },
    body: readFileSync(config, 'utf8'),
  });
  const runId = ((await res.json()) as { run_id: number }).run_id;
  await stack.stop();

  writeFileSync(
    join(data, RUN_RECORD_FILE),
    JSON.stringify({ run_id: runId, workload: 'synthetic', synthetic_size: 0 }),
  );
  const synthetic = await local('--data-dir', data, '--image', 'ruby:3.3');
  expect(synthetic.code).toBe(1);
  expect(synthetic.stderr).toContain(
    `\nbenchfleet local: run ${runId} in the data dir ${data} goes on with the synthetic workload, which runs no container, so --image would be ignored: leave it out to resume it, or start a docker run with another --data-dir\n`,
  );
  expect(synthetic.stderr).not.toContain('runner logs:');

  // recorded as a docker run: --image is taken for it (here it then needs an engine, and has none)
  writeFileSync(
    join(data, RUN_RECORD_FILE),
    JSON.stringify({ run_id: runId, workload: 'docker', image: 'ruby:3.3' }),
  );
  const noEngine = `unix://${join(dir, 'no-docker.sock')}`;
  const docker = await runCli(
    ['local', '-c', config, '--results-dir', results, '--data-dir', data, '--image', 'ruby:3.3'],
    { BENCHFLEET_DOCKER_HOST: noEngine },
  );
  expect(docker.code).toBe(1);
  expect(docker.stderr).toContain('  1 local instance type, docker workload\n');
  expect(docker.stderr).toContain('--workload docker needs a Docker engine, and none answered');
  expect(docker.stderr).not.toContain('is for --workload docker');
});
