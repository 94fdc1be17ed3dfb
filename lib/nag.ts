// cdk-nag (AwsSolutions) acknowledgements, each with the reason the rule does not fit here. cdk-nag
// 3 matches findings by exact id (`AwsSolutions-IAM5[Resource::<Logical.Arn>/runs/*]`), so the ids
// that name resources are built from the resources' logical ids.
import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

const ack = (scope: IConstruct, id: string, reason: string): void =>
  Validations.of(scope).acknowledge({ id, reason });

/** `<LogicalId.Arn>`: how cdk-nag writes a resource's ARN in a finding id. */
const arnOf = (resource: IConstruct): string => {
  const cfn = resource instanceof CfnResource ? resource : resource.node.defaultChild;
  if (!(cfn instanceof CfnResource)) throw new Error(`${resource.node.path} has no CloudFormation resource`);
  const stack = Stack.of(cfn);
  return `<${stack.resolve(stack.getLogicalId(cfn)) as string}.Arn>`;
};

export interface OrchestratorNagTargets {
  readonly table: IConstruct;
  readonly resultsBucket: IConstruct;
  readonly stepFunctions: readonly IConstruct[];
  readonly stateMachine: IConstruct;
  readonly distribution: IConstruct;
  /** Destination buckets of BucketDeployments (the dashboard, the runner artifact). */
  readonly deployedBuckets: readonly IConstruct[];
}

export function acknowledgeOrchestratorFindings(stack: Stack, t: OrchestratorNagTargets): void {
  ack(
    stack,
    'AwsSolutions-S1',
    'No server access logs: results are reached only through URLs the API presigns (each mint is in the API access log and the function logs), the other two buckets hold deploy outputs; a log bucket would be one more thing to leak.',
  );
  ack(
    stack,
    'AwsSolutions-SMG4',
    'The API keys are not rotated on a schedule: a rotation during a run would lock out the runners that read the key at boot. Rotate between runs (put-secret-value); handlers re-read the keys every 5 minutes.',
  );
  ack(
    stack,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'AWSLambdaBasicExecutionRole only allows writing the function’s own CloudWatch logs.',
  );
  ack(
    stack,
    'AwsSolutions-APIG4',
    'Authorization is done in each handler (lambdas/shared/http.ts): Bearer operator or runner key, compared in constant time against Secrets Manager; reads are public by design (DESIGN.md, Decisions).',
  );
  ack(
    stack,
    `AwsSolutions-IAM5[Resource::${arnOf(t.table)}/index/*]`,
    'The table has one index (`active`, the reaper’s sparse index); the grant names the table’s own indexes only.',
  );
  const results = arnOf(t.resultsBucket);
  const keyPatterns: Array<[string, string]> = [
    ['runs/*/tasks/*', 'task result/error tarballs: one key per task, minted by the API'],
    ['runs/*/results.tar.gz', 'the archive of each run'],
    ['runs/*/assembly/*', 'the assembly workflow’s scratch listing of each run'],
    ['runs/*', 'assembly reads every task tarball and the listing of the run it builds'],
  ];
  for (const [pattern, what] of keyPatterns) {
    ack(
      stack,
      `AwsSolutions-IAM5[Resource::${results}/${pattern}]`,
      `Object keys are per run and per task (${what}); the pattern is the narrowest that covers runs not yet created.`,
    );
  }
  for (const fn of t.stepFunctions) {
    ack(
      t.stateMachine,
      `AwsSolutions-IAM5[Resource::${arnOf(fn)}:*]`,
      'CDK’s Lambda invoke grant includes the function’s versions and aliases (`:*`); it is still this one function.',
    );
  }
  ack(
    t.stateMachine,
    'AwsSolutions-IAM5[Resource::*]',
    'Step Functions log delivery (logs:CreateLogDelivery, ...) has no resource-level permissions.',
  );
  ack(
    t.stateMachine,
    'AwsSolutions-SF2',
    'No X-Ray: an execution is four Lambda calls, logged at level ALL and measured by CloudWatch.',
  );
  ack(
    t.distribution,
    'AwsSolutions-CFR1',
    'The dashboard is meant for operators anywhere; no geo restriction.',
  );
  ack(
    t.distribution,
    'AwsSolutions-CFR2',
    'No WAF: a static page of public run status; the API has its own throttling.',
  );
  ack(
    t.distribution,
    'AwsSolutions-CFR3',
    'No access logs for a static page; the API it calls logs every request.',
  );
  ack(
    t.distribution,
    'AwsSolutions-CFR4',
    'The default *.cloudfront.net certificate is used (no custom domain), where CloudFront fixes the policy; set minimumProtocolVersion when a custom domain and certificate are added.',
  );

  // aws-s3-deployment's singleton upload function (one per stack, created by CDK).
  for (const child of stack.node.children) {
    if (!child.node.id.startsWith('Custom::CDKBucketDeployment')) continue;
    ack(child, 'AwsSolutions-L1', 'Runtime chosen by aws-cdk-lib for its BucketDeployment handler.');
    for (const finding of [
      'Action::s3:GetObject*',
      'Action::s3:GetBucket*',
      'Action::s3:List*',
      'Action::s3:DeleteObject*',
      'Action::s3:Abort*',
      'Resource::*',
      'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
      ...t.deployedBuckets.map((b) => `Resource::${arnOf(b)}/*`),
    ]) {
      ack(
        child,
        `AwsSolutions-IAM5[${finding}]`,
        'The grants aws-cdk-lib gives its BucketDeployment handler: read the CDK asset bucket, replace the files of the destination buckets, invalidate the distribution.',
      );
    }
  }
}

export function acknowledgeFleetFindings(stack: Stack): void {
  ack(
    stack,
    'AwsSolutions-VPC7',
    'No flow logs: the VPC has no inbound rules and lives for one run; a flow-log group would outlive the fleet as a stray.',
  );
  ack(
    stack,
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
    'AmazonSSMManagedInstanceCore is the documented minimum for Session Manager, which replaces SSH and a bastion.',
  );
  ack(
    stack,
    'AwsSolutions-EC28',
    'Runner VMs live for one run; basic monitoring is enough, the API tracks progress.',
  );
  ack(
    stack,
    'AwsSolutions-EC29',
    'Runner VMs must end themselves: instance-initiated shutdown terminates them when their work is done.',
  );
}
