// The fleet plan file the master CLI writes (.benchfleet/fleet-<runId>.json) and hands to
// `cdk deploy BenchfleetFleet -c fleetPlan=...`. Every value ends up in a shell script (user
// data), so each is checked against a strict pattern here, before it gets near one.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InstanceTypeName, RubyVersion, RunId } from '../../lambdas/shared/contract';

const FleetEntry = z.looseObject({
  instance_type: InstanceTypeName,
  arch: z.enum(['x86_64', 'arm64']),
  vm_count: z.number().int().min(0).max(500),
});

export const FleetPlanFile = z.object({
  runId: RunId,
  apiUrl: z
    .string()
    .regex(/^https:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[A-Za-z0-9._~/-]*)?$/, 'must be an https URL without query'),
  runnerKeySecretArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/),
  artifactBucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/),
  artifactKey: z.string().regex(/^[A-Za-z0-9!_.*'()/-]{1,512}$/),
  rubyVersion: RubyVersion,
  // planFleet(config).aws; a whole plan is accepted too, and only its AWS part is used.
  plan: z.union([z.array(FleetEntry), z.looseObject({ aws: z.array(FleetEntry) }).transform((p) => p.aws)]),
});
export type FleetPlanFile = z.infer<typeof FleetPlanFile>;
export type FleetPlanEntry = FleetPlanFile['plan'][number];

export function parseFleetPlan(json: unknown, source = 'fleet plan'): FleetPlanFile {
  const parsed = FleetPlanFile.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${source} is invalid: ${issues.join('; ')}`);
  }
  return parsed.data;
}

export function readFleetPlanFile(path: string): FleetPlanFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the fleet plan ${path} (context fleetPlan): ${(err as Error).message}`);
  }
  return parseFleetPlan(JSON.parse(text) as unknown, path);
}
