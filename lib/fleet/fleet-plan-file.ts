// The fleet plan file the master CLI writes (.benchfleet/fleet-<runId>.json) and hands to
// `cdk deploy BenchfleetFleet -c fleetPlan=...`. Its schema lives with the fleet plan in
// lambdas/shared/fleet-plan.ts, so the CLI writes the file typed by the schema that reads it here.
import { readFileSync } from 'node:fs';
import { type FleetPlanFile, parseFleetPlan } from '../../lambdas/shared/fleet-plan';

export { FleetPlanFile, parseFleetPlan } from '../../lambdas/shared/fleet-plan';

export function readFleetPlanFile(path: string): FleetPlanFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the fleet plan ${path} (context fleetPlan): ${(err as Error).message}`);
  }
  return parseFleetPlan(JSON.parse(text) as unknown, path);
}
