// A task whose container cannot fetch ruby-bench fails with what git said of it: the cause (its
// first fatal: or error: line), not the advice git prints after it, so the one-line error message
// tells a full disk from a network or a wrong ref. The stderr here is git's own, as the container's
// script (runner/executors/docker.ts) gets it.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { gitSaid } from '../../runner/executors/docker';
import { tempDir } from '../helpers/temp-dir';

const hasGit = spawnSync('git', ['--version'], { stdio: 'ignore' }).status === 0;

it("takes git's fatal line, not the advice after it, from a real failed clone", () => {
  if (!hasGit) return; // the fixed texts below still cover the rule
  const dir = tempDir('bf-git-said-');
  const r = spawnSync('git', ['clone', '-q', 'file:///nonexistent/ruby-bench.git', join(dir, 'rb')], {
    encoding: 'utf8',
  });
  expect(r.status).not.toBe(0);
  expect(gitSaid(r.stderr)).toMatch(/^fatal: .*nonexistent\/ruby-bench\.git/);
  // and a checkout of a ref the clone does not have
  execFileSync('git', ['init', '-q', join(dir, 'repo')]);
  const c = spawnSync('git', ['-C', join(dir, 'repo'), 'checkout', '-q', 'no-such-ref'], {
    encoding: 'utf8',
  });
  expect(gitSaid(c.stderr)).toMatch(/^error: pathspec 'no-such-ref' did not match/);
});

it('names the cause of the usual failures', () => {
  const cases: Array<[string, string]> = [
    [
      "Cloning into '/tmp/ruby-bench'...\nfatal: could not create work tree dir '/tmp/ruby-bench': No space left on device\n",
      "fatal: could not create work tree dir '/tmp/ruby-bench': No space left on device",
    ],
    [
      "fatal: unable to access 'https://github.com/ruby/ruby-bench.git/': Could not resolve host: github.com\n",
      "fatal: unable to access 'https://github.com/ruby/ruby-bench.git/': Could not resolve host: github.com",
    ],
    [
      "fatal: '/x.git' does not appear to be a git repository\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n",
      "fatal: '/x.git' does not appear to be a git repository",
    ],
    // no git in the image: the shell's words, the last line
    ['sh: 4: git: not found\n', 'sh: 4: git: not found'],
    // colours and control characters out; the commit mark of an earlier step is no cause
    ['benchfleet: ruby-bench commit 0123\n\u001b[31merror: bad\u0007 ref\u001b[0m\n', 'error: bad  ref'],
  ];
  for (const [stderr, said] of cases) expect(gitSaid(stderr)).toBe(said);
  expect(gitSaid('')).toBeUndefined();
  expect(gitSaid(`fatal: ${'x'.repeat(500)}`)).toHaveLength(200);
});
