// The CDK app: the meta stack `Benchfleet`, and the AWS runner fleet `BenchfleetFleet` when the
// context names a fleet plan file (`npx cdk deploy BenchfleetFleet -c fleetPlan=.benchfleet/fleet-<runId>.json`).
import { App, Tags } from 'aws-cdk-lib';
import { buildDeployInputs } from '../lib/deploy-inputs';
import { readFleetPlanFile } from '../lib/fleet/fleet-plan-file';
import { FleetStack } from '../lib/fleet-stack';
import { OrchestratorStack, PROJECT_TAG } from '../lib/orchestrator-stack';

const app = new App();
const context = (name: string): string | undefined => {
  const v: unknown = app.node.tryGetContext(name);
  return v === undefined || v === null || v === '' ? undefined : String(v);
};

// The runner bundle and the dashboard, built afresh from this checkout for every synth (never a
// dist/ left from an older build), in a folder removed once the assets are staged.
const build = buildDeployInputs();
process.once('exit', () => build.remove());

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
app.synth(); // stages the assets (copies) into the cloud assembly, so the build folder can go
build.remove();
