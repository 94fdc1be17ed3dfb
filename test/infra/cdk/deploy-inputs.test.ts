// What a synth uploads for the VMs and the browser is built from the checkout as it is, not taken
// from a dist/ that an older `npm run build` left (after a `git pull`, deploys shipped old runners).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildDeployInputs } from '../../../lib/deploy-inputs';
import { BUILD_OUTPUTS, REPO_ROOT } from '../../../lib/paths';
import { sourceCommit } from '../../helpers/source-commit';

const commit = sourceCommit();

it('builds the runner and the dashboard from this checkout into a folder of its own, and removes it', () => {
  const distRunner = join(BUILD_OUTPUTS.runnerDir, BUILD_OUTPUTS.runnerFile);
  const distBefore = existsSync(distRunner) ? statSync(distRunner).mtimeMs : undefined;
  const [a, b] = [buildDeployInputs(), buildDeployInputs()]; // two cdk commands of one checkout
  try {
    expect(a.runnerDir).not.toBe(b.runnerDir);
    for (const dirs of [a, b]) {
      expect(dirs.runnerDir.startsWith(REPO_ROOT)).toBe(false);
      // the bundle names the commit it was built from (runner/version.ts): this one
      expect(readFileSync(join(dirs.runnerDir, 'runner.js'), 'utf8')).toContain(JSON.stringify(commit));
      expect(readFileSync(join(dirs.dashboardDir, 'index.html'), 'utf8')).toContain('<html');
      expect(existsSync(join(dirs.dashboardDir, 'app.js'))).toBe(true);
    }
  } finally {
    a.remove();
    b.remove();
  }
  expect(existsSync(a.runnerDir)).toBe(false);
  expect(existsSync(b.dashboardDir)).toBe(false);
  // the checkout's own build is neither read nor written
  expect(existsSync(distRunner) ? statSync(distRunner).mtimeMs : undefined).toBe(distBefore);
}, 60_000);
