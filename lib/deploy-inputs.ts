// The runner bundle and the dashboard a synth uploads, built from the checkout as it is now, into a
// folder of this process's own. Built once and kept in dist/, they went stale: after a `git pull`,
// `deploy` and `start` shipped new Lambdas beside the runner and dashboard of the last
// `npm run build`, and VMs ran old runner code. A private folder, as the CLI's cloud assembly
// folders are (cli/lib/exec.ts), because two cdk commands of one checkout may synth at once.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBuilt, type BuildDirs, REPO_ROOT } from './paths';

export interface DeployInputs extends BuildDirs {
  /** Removes the folder; call it once the synth has staged the assets into the cloud assembly. */
  remove(): void;
}

/** Builds both with scripts/build.mjs (about a second), its lines on stderr: stdout is cdk's. */
export function buildDeployInputs(): DeployInputs {
  const root = mkdtempSync(join(tmpdir(), 'benchfleet-build-'));
  const remove = () => rmSync(root, { recursive: true, force: true });
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs'), '--out-dir', root], {
      cwd: REPO_ROOT,
      stdio: ['ignore', process.stderr, 'inherit'],
    });
    const dirs = { runnerDir: join(root, 'runner'), dashboardDir: join(root, 'dashboard') };
    assertBuilt(dirs);
    return { ...dirs, remove };
  } catch (err) {
    remove();
    throw err;
  }
}
