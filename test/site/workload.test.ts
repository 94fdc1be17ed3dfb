// Tasks that ran different Rubies, ruby-bench versions or images are not a fair comparison of
// machines: the page says which tasks ran which. The platform part of `ruby -v` differs between
// x86 and ARM by design and is not a difference.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aggregate } from '../../site/aggregate';
import { loadResults } from '../../site/load';
import { rubyWithoutPlatform } from '../../site/workload';
import { metaFor, standardRun } from './helpers/run-folder';

const rewriteMeta = (dir: string, type: string, over: Parameters<typeof metaFor>[2]): void => {
  for (const run of [1, 2, 3]) {
    writeFileSync(join(dir, `${type}-${run}`, 'meta.json'), JSON.stringify(metaFor(type, run, over)));
  }
};
const PIN = ' Pin them in the config (`image` by @sha256 digest, `ruby_bench_ref` as a commit) and run again';
const workloadWarnings = async (dir: string) =>
  aggregate(await loadResults(dir)).warnings.filter((w) => w.startsWith('the tasks ran different'));

it('x86 and ARM builds of one Ruby are the same Ruby', async () => {
  const dir = standardRun();
  rewriteMeta(dir, 'c8g.large', {
    arch: 'aarch64',
    ruby_description: 'ruby 3.4.7 (2025-10-08 revision 7a5688e2a2) +PRISM [aarch64-linux]',
  });
  expect(await workloadWarnings(dir)).toEqual([]);
  expect(
    rubyWithoutPlatform('ruby 3.5.0dev (2026-11-01T00:00:00Z master 1a2b3c) +PRISM [arm64-darwin24]'),
  ).toBe('ruby 3.5.0dev (2026-11-01T00:00:00Z master 1a2b3c) +PRISM');
});

it('compares commits and image digests when every task gives one, not the names they went by', async () => {
  const dir = standardRun();
  // another branch name and tag, but the same commit and the same image content: the same workload
  rewriteMeta(dir, 'm5.large', { ruby_bench_ref: 'main', image: 'ruby:3.4' });
  expect(await workloadWarnings(dir)).toEqual([]);
  // one branch name and one tag, but a branch that moved and a tag that was pushed again
  rewriteMeta(dir, 'c7a.large', {
    ruby_bench_commit: `4242${'1'.repeat(36)}`,
    image_digest: `sha256:${'77'.repeat(32)}`,
  });
  expect(await workloadWarnings(dir)).toEqual([
    'the tasks ran different ruby-bench versions: "09b76c800000" (09b76c8, main) on c8g.large-1, c8g.large-2, ' +
      'c8g.large-3 and 3 more; "424211111111" (09b76c8) on c7a.large-1, c7a.large-2, c7a.large-3. Their figures ' +
      'compare the ruby-bench versions as much as the machines.' +
      PIN,
    'the tasks ran different images: "sha256:e1e1e1e1e1e1" (ruby:3.4.7, ruby:3.4) on c8g.large-1, c8g.large-2, ' +
      'c8g.large-3 and 3 more; "sha256:777777777777" (ruby:3.4.7) on c7a.large-1, c7a.large-2, c7a.large-3. ' +
      'Their figures compare the images as much as the machines.' +
      PIN,
  ]);
});

it('names the tasks that ran another Ruby, ruby-bench or image (older runners: no commit, no digest)', async () => {
  const dir = standardRun();
  rewriteMeta(dir, 'm5.large', {
    ruby_description: 'ruby 3.4.8 (2025-12-01 revision 0123456789) +PRISM [x86_64-linux]',
    ruby_bench_ref: 'main',
    image: 'ruby:3.4',
    ruby_bench_commit: null,
    image_digest: null,
  });
  expect(await workloadWarnings(dir)).toEqual([
    'the tasks ran different Rubies: "ruby 3.4.7 (2025-10-08 revision 7a5688e2a2) +PRISM" on c7a.large-1, ' +
      'c7a.large-2, c7a.large-3 and 3 more; "ruby 3.4.8 (2025-12-01 revision 0123456789) +PRISM" on ' +
      'm5.large-1, m5.large-2, m5.large-3. Their figures compare the Rubies as much as the machines.' +
      PIN,
    'the tasks ran different ruby-bench versions: "09b76c8" on c7a.large-1, c7a.large-2, c7a.large-3 and 3 more; ' +
      '"main" on m5.large-1, m5.large-2, m5.large-3. Their figures compare the ruby-bench versions as much as ' +
      'the machines.' +
      PIN,
    'the tasks ran different images: "ruby:3.4.7" on c7a.large-1, c7a.large-2, c7a.large-3 and 3 more; ' +
      '"ruby:3.4" on m5.large-1, m5.large-2, m5.large-3. Their figures compare the images as much as the ' +
      'machines.' +
      PIN,
  ]);
});
