// The meta stack's resources beyond its API and functions (those are in orchestrator-stack.test.ts):
// the table from the shared key schema, the reaper's schedule, the assembly workflow, the buckets and
// the dashboard behind CloudFront, the outputs the CLI reads, alarms, tags, and cdk-nag's findings.
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ACTIVE_INDEX, KEY } from '../../../lambdas/shared/table';
import { ASSEMBLY_STEPS } from '../../../lambdas/shared/workflow';
import { OrchestratorStack } from '../../../lib/orchestrator-stack';
import { functionLookups, nagFindings, policyStatements, resourcesOf, stubBuild, testApp } from './helpers';

let stack: OrchestratorStack;
let template: Template;
let nag: string[];
const { logicalId, fn } = functionLookups(
  () => stack,
  () => template,
);

beforeAll(() => {
  const app = testApp();
  stack = new OrchestratorStack(app, 'Benchfleet', { build: stubBuild() });
  template = Template.fromStack(stack);
  nag = nagFindings(stack);
});

describe('table, schedule, workflow', () => {
  it('builds the table from the shared key schema: on-demand, PITR, the sparse active index', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: KEY.pk, KeyType: 'HASH' },
        { AttributeName: KEY.sk, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: ACTIVE_INDEX.name,
          KeySchema: [
            { AttributeName: ACTIVE_INDEX.pk, KeyType: 'HASH' },
            { AttributeName: ACTIVE_INDEX.sk, KeyType: 'RANGE' },
          ],
        }),
      ],
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: false,
        }),
      ],
    });
  });

  it('keeps the logical ids and key schema of what holds state, written out here rather than imported', () => {
    // A refactor that renames or moves one of these (or changes the key schema) makes the next
    // `deploy` or `start` replace it: CloudFormation creates a new, empty resource and deletes the
    // old one with every run record, archive or key in it. Literals, so such a change fails here.
    const ids = (type: string): string[] => Object.keys(resourcesOf(template, type)).sort();
    expect(ids('AWS::DynamoDB::GlobalTable')).toEqual(['TableCD117FA1']);
    expect(ids('AWS::S3::Bucket')).toEqual([
      'DashboardBucketA782FB5B',
      'Results25575328',
      'RunnerArtifactBucketE4FBB39C',
    ]);
    expect(ids('AWS::SecretsManager::Secret')).toEqual([
      'ApiKeysOperatorKeyD0F6F995',
      'ApiKeysRunnerKey6C7F14BA',
    ]);
    const table = resourcesOf(template, 'AWS::DynamoDB::GlobalTable').TableCD117FA1?.Properties ?? {};
    expect(table.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
    );
  });

  it('schedules the reaper every minute, enabled by every deploy (its first idle pass switches it off)', () => {
    // DISABLED here would switch the reaper off under a run whenever a deploy updates the rule
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'Benchfleet-reaper',
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(fn('reap')), 'Arn'] } })],
    });
  });

  it('deploys the shared assembly definition with its Lambda steps, logged at level ALL', () => {
    const machines = Object.values(resourcesOf(template, 'AWS::StepFunctions::StateMachine'));
    expect(machines).toHaveLength(1);
    const props = machines[0]?.Properties ?? {};
    expect(props.StateMachineName).toBe('Benchfleet-assembly');
    expect(props.LoggingConfiguration).toMatchObject({ Level: 'ALL' });
    const definition = JSON.stringify(props.DefinitionString);
    for (const step of ASSEMBLY_STEPS) expect(definition).toContain(`\\"${step}\\":{\\"Type\\":\\"Task\\"`);
    for (const name of [
      'assembly-list-tasks',
      'assembly-build-archive',
      'assembly-finalize',
      'assembly-mark-failed',
    ] as const) {
      expect(definition).toContain(logicalId(fn(name)));
    }
  });
});

describe('buckets and dashboard', () => {
  it('blocks public access, encrypts and enforces TLS on every bucket', () => {
    const buckets = resourcesOf(template, 'AWS::S3::Bucket');
    expect(Object.keys(buckets)).toHaveLength(3);
    const policies = Object.values(resourcesOf(template, 'AWS::S3::BucketPolicy'));
    for (const [id, b] of Object.entries(buckets)) {
      expect(b.Properties?.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(b.Properties?.BucketEncryption).toBeDefined();
      const policy = policies.find(
        (p) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify({ Ref: id }),
      );
      const statements = policyStatements(policy);
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('keeps results with a lifecycle: abort stale uploads, age out old runs', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
        ]),
      },
    });
  });

  it('sends the dashboard with the same security headers as the local server (no framing)', () => {
    const { DASHBOARD_SECURITY_HEADERS: h } = require('../../../dashboard/security-headers');
    template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({
        // unique per account: the region keeps a second region's deployment from clashing
        Name: { 'Fn::Join': ['', Match.arrayWith([{ Ref: 'AWS::Region' }])] },
        SecurityHeadersConfig: {
          ContentSecurityPolicy: { ContentSecurityPolicy: h['Content-Security-Policy'], Override: true },
          FrameOptions: { FrameOption: h['X-Frame-Options'], Override: true },
          ContentTypeOptions: { Override: true },
          ReferrerPolicy: { ReferrerPolicy: h['Referrer-Policy'], Override: true },
          StrictTransportSecurity: Match.objectLike({ IncludeSubdomains: true, Override: true }),
        },
      }),
    });
    const [policyId] = Object.keys(template.findResources('AWS::CloudFront::ResponseHeadersPolicy'));
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({ ResponseHeadersPolicyId: { Ref: policyId } }),
      }),
    });
  });

  it('serves the dashboard only through CloudFront with origin access control, HTTPS only', () => {
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'https-only' }),
        Origins: [
          Match.objectLike({ OriginAccessControlId: Match.anyValue(), S3OriginConfig: Match.anyValue() }),
        ],
      }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Action: 's3:GetObject',
          }),
        ]),
      },
    });
  });

  it('publishes config.json with the API URL and the runner bundle alone', () => {
    const deployments = Object.values(resourcesOf(template, 'Custom::CDKBucketDeployment'));
    expect(deployments).toHaveLength(2);
    const dashboard = deployments.find((d) => d.Properties?.DistributionPaths);
    expect(dashboard?.Properties?.DistributionPaths).toEqual(['/*']);
    expect(JSON.stringify(dashboard?.Properties?.SourceMarkers)).toContain(
      logicalId(stack.node.findChild('Api').node.findChild('HttpApi') as never),
    );
    const runner = deployments.find((d) => d.Properties?.DestinationBucketKeyPrefix === 'runner/');
    expect(runner).toBeDefined();
  });
});

describe('outputs, alarms, tags, cdk-nag', () => {
  it('exports exactly the outputs the master CLI reads', () => {
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual(
      [
        'ApiUrl',
        'ArtifactBucket',
        'DashboardUrl',
        'OperatorKeySecretArn',
        'ResultsBucket',
        'RunnerArtifactKey',
        'RunnerKeySecretArn',
        'StateMachineArn',
      ].sort(),
    );
    template.hasOutput('RunnerArtifactKey', { Value: 'runner/runner.js' });
  });

  it("alarms on API 5xx, reaper errors and failed assemblies, and graphs the handlers' metrics", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5xx',
      Namespace: 'AWS/ApiGateway',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn('reap')) } }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'failed + timedOut + aborted' })]),
    });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(Object.values(resourcesOf(template, 'AWS::CloudWatch::Dashboard'))[0]);
    for (const metric of ['QueueDepth', 'RunningTasks', 'Claims', 'Completions', 'Failures'])
      expect(body).toContain(metric);
  });

  it('tags resources with the project tag for the nuke sweep', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      Tags: Match.arrayWith([{ Key: 'benchfleet:project', Value: 'benchfleet' }]),
    });
    expect(Stack.of(stack).tags.tagValues()['benchfleet:project']).toBe('benchfleet');
  });

  it('passes cdk-nag AwsSolutions with every finding acknowledged', () => {
    expect(nag).toEqual([]);
  });
});
