// The assembly state machine in CDK: the very definition the local mode runs
// (lambdas/shared/workflow.ts), given the ARNs of its Lambda steps. Retries, catch and timeouts
// live in that definition, not here.
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ASSEMBLY_STEPS, assemblyDefinition, type StepName } from '../../lambdas/shared/workflow';
import type { StepHandlerName } from '../access';
import type { NodeFunction } from '../constructs/node-function';

/** The handler file of each step: `lambdas/handlers/assembly-*.ts`. */
export const STEP_HANDLERS: Readonly<Record<StepName, StepHandlerName>> = {
  ListTasks: 'assembly-list-tasks',
  BuildArchive: 'assembly-build-archive',
  Finalize: 'assembly-finalize',
  MarkFailed: 'assembly-mark-failed',
};

export interface AssemblyWorkflowProps {
  /** Fixed, so the step functions (and the API) can be told the ARN before the machine exists. */
  readonly stateMachineName: string;
  readonly steps: Readonly<Record<StepName, NodeFunction>>;
}

export class AssemblyWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: AssemblyWorkflowProps) {
    super(scope, id);
    const arns = Object.fromEntries(
      ASSEMBLY_STEPS.map((step) => [step, props.steps[step].functionArn]),
    ) as Record<StepName, string>;
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      // toJsonString resolves the ARN tokens inside the shared definition.
      definitionBody: sfn.DefinitionBody.fromString(Stack.of(this).toJsonString(assemblyDefinition(arns))),
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    for (const step of ASSEMBLY_STEPS) props.steps[step].grantInvoke(this.stateMachine);
  }
}
