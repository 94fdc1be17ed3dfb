// Shared by the CDK assertion tests: an app that skips bundling (no esbuild per function), stub
// build outputs in a temp dir, a fleet plan fixture, and small template and function lookups.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnResource, type Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { FunctionName } from '../../../lib/access';
import type { NodeFunction } from '../../../lib/constructs/node-function';
import type { FleetPlanFile } from '../../../lib/fleet/fleet-plan-file';
import type { OrchestratorStack } from '../../../lib/orchestrator-stack';
import type { BuildDirs } from '../../../lib/paths';
import { tempDir } from '../../helpers/temp-dir';

// An App without outdir synthesizes into a new cdk.out* folder in the temp dir (about 12 MB) that
// nothing removes; this one's goes with the test file's temp folders.
export const testApp = (): App =>
  new App({ outdir: tempDir('bf-cdk-out-'), context: { 'aws:cdk:bundling-stacks': [] } });

/** A runner.js and a dashboard index.html in a fresh temp dir (the real ones need a build). */
export function stubBuild(): BuildDirs {
  const root = tempDir('benchfleet-cdk-');
  const build = { runnerDir: join(root, 'dist'), dashboardDir: join(root, 'dashboard') };
  mkdirSync(build.runnerDir);
  mkdirSync(build.dashboardDir);
  writeFileSync(join(build.runnerDir, 'runner.js'), 'process.exit(0);\n');
  writeFileSync(join(build.runnerDir, 'other.js'), '// not shipped\n');
  writeFileSync(join(build.dashboardDir, 'index.html'), '<!doctype html><title>stub</title>\n');
  return build;
}

export const FLEET_FIXTURE: FleetPlanFile = {
  runId: 1_767_000_000,
  apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
  runnerKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:BenchfleetRunnerKey-AbCdEf',
  artifactBucket: 'benchfleet-runnerartifact-1a2b3c',
  artifactKey: 'runner/runner.js',
  rubyVersion: '3.4.7',
  plan: [
    { instance_type: 'c7g.large', arch: 'arm64', vm_count: 2 },
    { instance_type: 'c7a.large', arch: 'x86_64', vm_count: 1 },
  ],
};

/** Unacknowledged cdk-nag AwsSolutions findings as `rule @ construct path` lines. */
export function nagFindings(stack: Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((v) =>
    v.violatingResources.map(
      (r) => `${v.ruleName} @ ${(r as { constructPath?: string }).constructPath ?? r.resourceLogicalId}`,
    ),
  );
}

export type Resource = { Type: string; Properties?: Record<string, unknown>; DependsOn?: unknown };

export const resourcesOf = (template: Template, type: string): Record<string, Resource> =>
  template.findResources(type) as Record<string, Resource>;

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

/** Every statement of the inline policies attached to the role with this logical id. */
export function roleStatements(template: Template, roleLogicalId: string): Statement[] {
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((p) =>
      ((p.Properties?.Roles as unknown[]) ?? []).some(
        (r) => JSON.stringify(r) === JSON.stringify({ Ref: roleLogicalId }),
      ),
    )
    .flatMap(policyStatements);
}

/** The statements of an IAM or bucket policy resource. */
export const policyStatements = (p: Resource | undefined): Statement[] =>
  (p?.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)?.Statement ?? [];

export interface FunctionLookups {
  /** The logical id of a construct (its default child) or of a CloudFormation resource. */
  logicalId(c: { node: { defaultChild?: unknown } } | CfnResource): string;
  /** The meta stack's function of that name; throws when there is none. */
  fn(name: FunctionName): NodeFunction;
  /** Every statement of the function's role policies. */
  statementsOf(name: FunctionName): Statement[];
  /** Every action those statements allow. */
  allowed(name: FunctionName): string[];
}

/**
 * Lookups into the meta stack by function name; the stack and its template are getters, as a test
 * file synthesizes them in beforeAll.
 */
export function functionLookups(stack: () => OrchestratorStack, template: () => Template): FunctionLookups {
  const logicalId: FunctionLookups['logicalId'] = (c) => {
    const cfn = ('cfnOptions' in c ? c : c.node.defaultChild) as CfnResource;
    return stack().resolve(stack().getLogicalId(cfn)) as string;
  };
  const fn = (name: FunctionName): NodeFunction => {
    const f = stack().functions.get(name);
    if (!f) throw new Error(`no function ${name}`);
    return f;
  };
  const statementsOf = (name: FunctionName): Statement[] =>
    roleStatements(template(), logicalId(fn(name).role as unknown as { node: { defaultChild?: unknown } }));
  const allowed = (name: FunctionName): string[] => statementsOf(name).flatMap(actionsOf);
  return { logicalId, fn, statementsOf, allowed };
}
