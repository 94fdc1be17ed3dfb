// Where the CDK app finds what it deploys: handler sources, the runner bundle, the dashboard build.
// Everything is resolved from the repository root so `cdk synth` works from any working directory.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..');

/** `lambdas/handlers/<name>.ts`: the route table's and the workflow's naming rule. */
export const handlerEntry = (name: string): string => join(REPO_ROOT, 'lambdas', 'handlers', `${name}.ts`);

/** What `npm run build` (scripts/build.mjs) makes; a synth builds the same files afresh (lib/deploy-inputs.ts). */
export const BUILD_OUTPUTS = {
  runnerDir: join(REPO_ROOT, 'dist'),
  runnerFile: 'runner.js',
  dashboardDir: join(REPO_ROOT, 'dashboard', 'dist'),
  dashboardIndex: 'index.html',
} as const;

export interface BuildDirs {
  /** Directory holding runner.js (only that file is uploaded). */
  runnerDir: string;
  /** Directory holding the built dashboard (index.html, app.js, styles.css). */
  dashboardDir: string;
}

/** Throws a message that says how to fix it when a build output is missing. */
export function assertBuilt(dirs: BuildDirs): void {
  const missing = [
    join(dirs.runnerDir, BUILD_OUTPUTS.runnerFile),
    join(dirs.dashboardDir, BUILD_OUTPUTS.dashboardIndex),
  ].filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new Error(
      `missing build output: ${missing.join(', ')}; scripts/build.mjs, whose output is above, should have made it`,
    );
  }
}
