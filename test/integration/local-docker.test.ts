// `benchfleet local --workload docker` end to end on a real engine (scripts/ci/20-docker.sh starts
// one and imports an offline Debian image); ruby-bench is the stand-in, mounted with --ruby-bench-dir.
// In CI the engine is required: the test fails rather than skips.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Manifest, RunnerMeta } from '../../lambdas/shared/contract';
import { runCli } from '../helpers/cli';
import { standIn } from '../helpers/ruby-bench-stand-in';
import { tempDir } from '../helpers/temp-dir';

const host = process.env.BENCHFLEET_DOCKER_HOST;
const image = process.env.BENCHFLEET_TEST_IMAGE ?? 'benchfleet-test-base:bookworm';
const itEngine = host || process.env.CI ? it : it.skip;

itEngine(
  'runs ruby-bench in containers through benchfleet local --workload docker',
  async () => {
    const dir = tempDir('bf-docker-');
    const config = join(dir, 'run.json');
    writeFileSync(
      config,
      JSON.stringify({
        ruby_version: '3.4.7',
        runs_per_instance_type: 2,
        local: ['dock'],
        benchmarks: ['fib', 'nbody'],
      }),
    );
    const args = [
      'local',
      '--config',
      config,
      '--workload',
      'docker',
      '--image',
      image,
      '--ruby-bench-dir',
      standIn(),
    ];
    const out = await runCli([...args, '--results-dir', join(dir, 'results'), '--slots', '1', '--json']);
    expect(out.stderr).toContain('== done ==');
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout) as { results: { results_dir: string } };
    const resultsDir = report.results.results_dir;
    const manifest = Manifest.parse(JSON.parse(readFileSync(join(resultsDir, 'manifest.json'), 'utf8')));
    expect(manifest.tasks.map((t) => t.status)).toEqual(['completed', 'completed']);
    const output = readFileSync(join(resultsDir, 'dock-1', 'output.txt'), 'utf8');
    expect(output).toContain('stand-in');
    expect(output).toContain('nbody');
    const meta = RunnerMeta.parse(JSON.parse(readFileSync(join(resultsDir, 'dock-1', 'meta.json'), 'utf8')));
    expect(meta.image).toBe(image);
    expect(meta.docker_version).toEqual(expect.any(String));
  },
  240_000,
);
