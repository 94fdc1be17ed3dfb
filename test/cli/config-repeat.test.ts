// `--config results/<run-id>`: that run's config again, with a run id of its own, and the
// ruby-bench commit and image digest its tasks ran pinned in place of the branch and tag it named.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadRunConfig } from '../../cli/config';
import type { RunnerMeta } from '../../lambdas/shared/contract';
import { tempDir } from '../helpers/temp-dir';
import { metaFor } from '../site/helpers/run-folder';

const COMMIT = `4242${'a'.repeat(36)}`;
const DIGEST = `sha256:${'5e'.repeat(32)}`;
const CONFIG = {
  ruby_version: '3.4.7',
  runs_per_instance_type: 2,
  aws: ['c7g.medium'],
  ruby_bench_ref: 'main',
  image: 'ruby:3.4',
  run_id: 1_700_000_000,
};

/** A results folder as `download` leaves it: manifest.json and one folder per task with its meta.json. */
function resultsFolder(metas: Array<Partial<RunnerMeta>>, config: Record<string, unknown> = CONFIG): string {
  const dir = tempDir('bf-repeat-');
  const tasks = metas.map((over, k) => {
    const run = k + 1;
    mkdirSync(join(dir, `c7g.medium-${run}`));
    writeFileSync(
      join(dir, `c7g.medium-${run}`, 'meta.json'),
      JSON.stringify(metaFor('c7g.medium', run, over)),
    );
    return { instance_type: 'c7g.medium', run, status: 'completed' };
  });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ run_id: 1_700_000_000, config, tasks }));
  return dir;
}

it('repeats the run with the commit and image digest its tasks ran, and a run id of its own', () => {
  const dir = resultsFolder([
    { ruby_bench_commit: COMMIT, image: 'ruby:3.4', image_digest: DIGEST },
    { ruby_bench_commit: COMMIT, image: 'ruby:3.4', image_digest: DIGEST },
  ]);
  const said: string[] = [];
  for (const given of [dir, join(dir, 'manifest.json')]) {
    expect(loadRunConfig(given, (l) => said.push(l))).toEqual({
      ruby_version: '3.4.7',
      runs_per_instance_type: 2,
      aws: ['c7g.medium'],
      ruby_bench_ref: COMMIT,
      image: `ruby:3.4@${DIGEST}`,
    });
  }
  expect(said.slice(0, 3)).toEqual([
    `repeating run 1700000000's config from ${join(dir, 'manifest.json')} (with a run id of its own)`,
    `  ruby_bench_ref: ${COMMIT}, the commit its tasks ran (the config said main)`,
    `  image: ruby:3.4@${DIGEST}, the image its tasks ran (the config said ruby:3.4)`,
  ]);
});

it('keeps the names when the tasks ran different commits or images, and says so', () => {
  const dir = resultsFolder([
    { ruby_bench_commit: COMMIT, image: 'ruby:3.4', image_digest: DIGEST },
    {
      ruby_bench_commit: `9999${'b'.repeat(36)}`,
      image: 'ruby:3.4',
      image_digest: `sha256:${'11'.repeat(32)}`,
    },
  ]);
  const said: string[] = [];
  const config = loadRunConfig(dir, (l) => said.push(l));
  expect(config).toMatchObject({ ruby_bench_ref: 'main', image: 'ruby:3.4' });
  expect(said.slice(1)).toEqual([
    '  ruby_bench_ref: kept as the config said it, as its tasks ran different commits',
    '  image: kept as the config said it, as its tasks ran different images',
  ]);
});

it('says that nothing is pinned when its tasks did not record what they ran, as older runners did not', () => {
  const said: string[] = [];
  const older = resultsFolder([{ ruby_bench_commit: undefined, image: 'ruby:3.4', image_digest: undefined }]);
  expect(loadRunConfig(older, (l) => said.push(l))).toMatchObject({
    ruby_bench_ref: 'main',
    image: 'ruby:3.4',
  });
  expect(said.slice(1)).toEqual([
    "  ruby_bench_ref: NOT pinned: no completed task's meta.json (none, or from an older runner) names the commit it ran; the config's main is fetched again, and may be another commit by now",
    "  image: NOT pinned: no completed task's meta.json (none, or from an older runner) names the image digest it ran; ruby:3.4 is pulled again, and may be another build by now",
  ]);
  // a config that pinned both itself needs no word
  said.length = 0;
  const pinned = { ...CONFIG, ruby_bench_ref: COMMIT, image: `ruby:3.4@${DIGEST}` };
  loadRunConfig(resultsFolder([], pinned), (l) => said.push(l));
  expect(said).toHaveLength(1);
});

it('refuses a manifest whose config is no run config, saying what to do', () => {
  const dir = resultsFolder([{}], { ruby_version: '3.4.7', runs_per_instance_type: 0 });
  expect(() => loadRunConfig(dir, () => undefined)).toThrow(ConfigError);
  expect(() => loadRunConfig(dir, () => undefined)).toThrow(
    /its config is not a run config any more \(.*runs_per_instance_type/,
  );
});
