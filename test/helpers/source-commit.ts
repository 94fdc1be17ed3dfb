// The commit scripts/build-runner.mjs bakes into the runner bundle (its sourceCommit(), which tests
// cannot import: it is an ES module): this checkout's, with `-dirty` when it has changes.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export const sourceCommit = (): string =>
  execFileSync('git', ['describe', '--always', '--dirty', '--abbrev=12', '--exclude=*'], {
    cwd: join(__dirname, '..', '..'),
    encoding: 'utf8',
  }).trim();
