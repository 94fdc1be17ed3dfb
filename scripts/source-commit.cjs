// The commit a build comes from: `git describe`'s short hash, with `-dirty` when the checkout has
// changes; null outside git. The runner bundle (scripts/build-runner.mjs) and the Lambda bundles
// (lib/bundling.ts) bake it in as BENCHFLEET_BUILD_COMMIT; the CLI compares it with the API's.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
/** @type {string | null | undefined} */
let cached;

/** @returns {string | null} */
function sourceCommit() {
  if (cached !== undefined) return cached;
  try {
    const out = execFileSync('git', ['describe', '--always', '--dirty', '--abbrev=12', '--exclude=*'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    cached = out.trim() || null;
  } catch {
    cached = null;
  }
  return cached;
}

module.exports = { sourceCommit };
