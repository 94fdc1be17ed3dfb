// The CDK app: the meta stack `Benchfleet`, and the AWS runner fleet `BenchfleetFleet` when the
// context names a fleet plan file (`npx cdk deploy BenchfleetFleet -c fleetPlan=.benchfleet/fleet-<runId>.json`).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { App, Tags } from 'aws-cdk-lib';
import { readFleetPlanFile } from '../lib/fleet/fleet-plan-file';
import { FleetStack } from '../lib/fleet-stack';
import { OrchestratorStack, PROJECT_TAG } from '../lib/orchestrator-stack';
import { assertBuilt, BUILD_OUTPUTS, REPO_ROOT } from '../lib/paths';

const app = new App();
const context = (name: string): string | undefined => {
  const v: unknown = app.node.tryGetContext(name);
  return v === undefined || v === null || v === '' ? undefined : String(v);
};

// The runner bundle and the dashboard are deploy inputs: build them on a fresh checkout.
const build = { runnerDir: BUILD_OUTPUTS.runnerDir, dashboardDir: BUILD_OUTPUTS.dashboardDir };
const built =
  existsSync(join(build.runnerDir, BUILD_OUTPUTS.runnerFile)) &&
  existsSync(join(build.dashboardDir, BUILD_OUTPUTS.dashboardIndex));
if (!built) {
  process.stderr.write(
    'benchfleet: dist/runner.js or dashboard/dist is missing; running scripts/build.mjs\n',
  );
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs')], {
    stdio: 'inherit',
    cwd: REPO_ROOT,
  });
}
assertBuilt(build);

const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
new OrchestratorStack(app, 'Benchfleet', {
  env,
  description: 'Benchfleet orchestrator: API, table, workflow, buckets, dashboard',
  build,
  deletionProtection: context('deletionProtection') === 'true',
  alarmEmail: context('alarmEmail'),
});

const fleetPlan = context('fleetPlan');
if (fleetPlan) {
  new FleetStack(app, 'BenchfleetFleet', {
    env,
    description: 'Benchfleet AWS runner fleet for one run',
    fleet: readFleetPlanFile(fleetPlan),
  });
}

Tags.of(app).add(PROJECT_TAG.key, PROJECT_TAG.value);
