// The meta stack (`Benchfleet`): everything a run needs except the VMs. Reads top to bottom as
// the list of what gets deployed; the details live in lib/constructs and lib/workflows, and what
// each function may touch lives in lib/access.ts.
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { PROJECT_TAG_KEY } from '../lambdas/shared/fleet-plan';
import {
  HANDLERS,
  type HandlerName,
  NOT_FOUND_HANDLER,
  REAPER_HANDLER,
  ROUTES,
  routeKey,
} from '../lambdas/shared/routes';
import { ASSEMBLY_STEPS, STEP_TIMEOUT_SECONDS, type StepName } from '../lambdas/shared/workflow';
import { type FunctionName, grantUses, USES } from './access';
import { ApiKeys } from './constructs/api-keys';
import { DashboardSite } from './constructs/dashboard-site';
import { Monitoring } from './constructs/monitoring';
import { NodeFunction } from './constructs/node-function';
import { OrchestratorApi } from './constructs/orchestrator-api';
import { privateBucket, resultsLifecycle } from './constructs/private-bucket';
import { Reaper } from './constructs/reaper';
import { runTable } from './constructs/run-table';
import { RunnerArtifact } from './constructs/runner-artifact';
import { acknowledgeOrchestratorFindings } from './nag';
import type { BuildDirs } from './paths';
import { AssemblyWorkflow, STEP_HANDLERS } from './workflows/assembly-workflow';

export const PROJECT_TAG = { key: PROJECT_TAG_KEY, value: 'benchfleet' } as const;

export interface OrchestratorStackProps extends StackProps {
  readonly build: BuildDirs;
  readonly deletionProtection?: boolean;
  /** Results are kept this many days (default 365). */
  readonly resultsRetentionDays?: number;
  readonly alarmEmail?: string;
  readonly heartbeatTimeoutSeconds?: number;
  readonly waitRetrySeconds?: number;
}

export class OrchestratorStack extends Stack {
  readonly functions = new Map<FunctionName, NodeFunction>();

  constructor(scope: Construct, id: string, props: OrchestratorStackProps) {
    super(scope, id, props);
    Tags.of(this).add(PROJECT_TAG.key, PROJECT_TAG.value);

    // Storage and keys
    const table = runTable(this, 'Table', { deletionProtection: props.deletionProtection ?? false });
    const results = privateBucket(this, 'Results', {
      removalPolicy: props.deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      lifecycleRules: resultsLifecycle(props.resultsRetentionDays ?? 365),
    });
    const keys = new ApiKeys(this, 'ApiKeys');
    const runner = new RunnerArtifact(this, 'RunnerArtifact', { runnerDir: props.build.runnerDir });
    const site = new DashboardSite(this, 'Dashboard');

    // Names fixed up front: the functions need them as env vars and in their policies, while the
    // rule targets the reaper and the machine invokes the steps (tokens would make a cycle).
    const stateMachineName = `${this.stackName}-assembly`;
    const reaperRuleName = `${this.stackName}-reaper`;
    const stateMachineArn = this.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const reaperRuleArn = this.formatArn({
      service: 'events',
      resource: 'rule',
      resourceName: reaperRuleName,
    });

    // Functions: one per route handler, the reaper, one per workflow step (lambdas/shared/env.ts)
    const environment = {
      RESULTS_BUCKET: results.bucketName,
      STATE_MACHINE_ARN: stateMachineArn,
      REAPER_RULE_NAME: reaperRuleName,
      OPERATOR_KEY_SECRET_ARN: keys.operator.secretArn,
      RUNNER_KEY_SECRET_ARN: keys.runner.secretArn,
      HEARTBEAT_TIMEOUT_SECONDS: String(props.heartbeatTimeoutSeconds ?? 120),
      WAIT_RETRY_SECONDS: String(props.waitRetrySeconds ?? 30),
    };
    const targets = {
      resultsBucket: results,
      keys: [keys.operator, keys.runner],
      stateMachineArn,
      reaperRuleArn,
    };
    const lambda = (name: FunctionName, description: string, timeout?: Duration, memorySize?: number) => {
      const uses = USES[name];
      const fn = new NodeFunction(this, `Fn-${name}`, {
        handlerName: name,
        description,
        // A function that touches nothing gets no names either.
        environment: uses.table ? environment : {},
        timeout,
        memorySize,
      });
      if (uses.table) fn.bindTable(table, uses.table);
      grantUses(fn, uses, targets);
      this.functions.set(name, fn);
      return fn;
    };
    const routeFunctions = new Map<HandlerName, NodeFunction>();
    for (const handler of HANDLERS) {
      const served = ROUTES.filter((r) => r.handler === handler)
        .map(routeKey)
        .join(', ');
      routeFunctions.set(handler, lambda(handler, `Benchfleet API: ${served}`));
    }
    const notFoundFn = lambda(
      NOT_FOUND_HANDLER,
      'Benchfleet API: $default (the JSON 404 of every request no route matches)',
      Duration.seconds(5),
      128,
    );
    // Shorter than the one-minute schedule, so passes never overlap.
    const reaperFn = lambda(REAPER_HANDLER as 'reap', 'Benchfleet reaper', Duration.seconds(55));
    const steps = Object.fromEntries(
      ASSEMBLY_STEPS.map((step) => [
        step,
        lambda(
          STEP_HANDLERS[step],
          `Benchfleet assembly step ${step}`,
          Duration.seconds(STEP_TIMEOUT_SECONDS[step]),
          step === 'BuildArchive' ? 1024 : undefined, // gzip is CPU-bound: more memory, more CPU
        ),
      ]),
    ) as Record<StepName, NodeFunction>;

    // API, schedule, workflow
    const api = new OrchestratorApi(this, 'Api', {
      functions: routeFunctions,
      notFound: notFoundFn,
      allowedOrigins: [site.url],
    });
    new Reaper(this, 'Reaper', { fn: reaperFn, ruleName: reaperRuleName });
    const workflow = new AssemblyWorkflow(this, 'Assembly', { stateMachineName, steps });
    site.publish(props.build.dashboardDir, api.url);

    // Observability
    new Monitoring(this, 'Monitoring', {
      api: api.httpApi,
      reaper: reaperFn,
      stateMachine: workflow.stateMachine,
      functions: [...this.functions.values()],
      alarmEmail: props.alarmEmail,
    });

    // Outputs: the master CLI reads these exact keys.
    const output = (key: string, value: string, description: string): CfnOutput =>
      new CfnOutput(this, key, { value, description });
    output('ApiUrl', api.url, 'Base URL of the HTTP API (runners: --api)');
    output('DashboardUrl', site.url, 'The dashboard (CloudFront, HTTPS only)');
    output('OperatorKeySecretArn', keys.operator.secretArn, 'Secrets Manager secret: operator key');
    output('RunnerKeySecretArn', keys.runner.secretArn, 'Secrets Manager secret: runner key');
    output('ResultsBucket', results.bucketName, 'Results and archives');
    output('ArtifactBucket', runner.bucket.bucketName, 'Holds the runner bundle');
    output('RunnerArtifactKey', runner.key, 'Key of runner.js in the artifact bucket');
    output('StateMachineArn', workflow.stateMachine.stateMachineArn, 'Assembly workflow');

    acknowledgeOrchestratorFindings(this, {
      table,
      resultsBucket: results,
      stepFunctions: Object.values(steps),
      stateMachine: workflow.stateMachine,
      distribution: site.distribution,
      deployedBuckets: [site.bucket, runner.bucket],
    });
  }
}
