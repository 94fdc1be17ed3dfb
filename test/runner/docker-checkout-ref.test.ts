// With --ruby-bench-dir the container runs that checkout, not a clone at the pinned ref: meta.json's
// ruby_bench_ref and the running status must say what ran (its commit, marked local), not a ref
// that was never used; without a mount it is the run's ref, else the pinned one.
import { execFileSync } from 'node:child_process';
import type { ClaimedTask } from '../../lambdas/shared/contract';
import { DEFAULT_RUBY_BENCH_REF, DockerExecutor } from '../../runner/executors/docker';
import { standIn } from '../helpers/ruby-bench-stand-in';
import { FakeDocker } from './fake-docker';
import { execContext } from './helpers';

let engine: FakeDocker;
beforeEach(async () => {
  engine = await new FakeDocker().start();
});
afterEach(() => engine.stop());

const context = (task: Partial<ClaimedTask> = {}) => execContext('bf-checkout-ref-', task);

const git = (dir: string, ...args: string[]): string =>
  execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
    encoding: 'utf8',
  }).trim();

it("records a mounted git checkout's commit, marked local, and says the run's own ref did not run", async () => {
  const dir = standIn();
  git(dir, 'init', '-q');
  git(dir, 'add', '.');
  git(dir, 'commit', '-qm', 'stand-in');
  const sha = git(dir, 'rev-parse', '--short=7', 'HEAD');
  const { ctx, lines, statuses } = context({ ruby_bench_ref: 'abc1234' });
  const res = await new DockerExecutor({ dockerHost: engine.host, rubyBenchDir: dir }).run(ctx);
  expect(res.rubyBenchRef).toBe(`${sha} (local checkout)`);
  expect(statuses).toContain(`running ruby-bench ${sha} (local checkout) in ruby:3.4.7 on cpu 0`);
  expect(lines.join('\n')).toContain(
    `the run asks for ruby-bench abc1234, but the checkout in --ruby-bench-dir ${dir}`,
  );
});

it('records a mounted folder that is no git checkout as a local checkout', async () => {
  const { ctx } = context();
  const res = await new DockerExecutor({ dockerHost: engine.host, rubyBenchDir: standIn() }).run(ctx);
  expect(res.rubyBenchRef).toBe('local checkout');
});

it("records the run's ref, else the pinned one, when nothing is mounted", async () => {
  const run = await new DockerExecutor({ dockerHost: engine.host }).run(
    context({ ruby_bench_ref: 'abc1234' }).ctx,
  );
  expect(run.rubyBenchRef).toBe('abc1234');
  const pinned = await new DockerExecutor({ dockerHost: engine.host }).run(context().ctx);
  expect(pinned.rubyBenchRef).toBe(DEFAULT_RUBY_BENCH_REF);
});

it('records the commit the clone checked out and the digest of the image that ran', async () => {
  const commit = 'f'.repeat(8) + '0123456789abcdef0123456789abcdef';
  const digest = `sha256:${'ab'.repeat(32)}`;
  engine.output = {
    stdout: 'Running benchmark "fib" (1/1)\n',
    stderr: `benchfleet: ruby-bench commit ${commit}\nruby-bench's own stderr\n`,
  };
  engine.repoDigests = [`ruby@${digest}`];
  const res = await new DockerExecutor({ dockerHost: engine.host }).run(
    context({ ruby_bench_ref: 'main' }).ctx,
  );
  expect(res).toMatchObject({ rubyBenchRef: 'main', rubyBenchCommit: commit, imageDigest: digest });
});

it('records no commit or digest where there is none: a locally built image, no commit line', async () => {
  const res = await new DockerExecutor({ dockerHost: engine.host }).run(context().ctx);
  expect(res).toMatchObject({ rubyBenchCommit: null, imageDigest: null });
});
