import { existsSync } from 'node:fs';
import type { CfnResource } from 'aws-cdk-lib';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RESUME_CREATING_AFTER_S } from '../../../lambdas/core/runs';
import { LambdaEnv } from '../../../lambdas/shared/env';
import { NOT_FOUND_HANDLER, ROUTES, routeKey } from '../../../lambdas/shared/routes';
import { ACTIVE_INDEX, KEY } from '../../../lambdas/shared/table';
import { ASSEMBLY_STEPS } from '../../../lambdas/shared/workflow';
import type { FunctionName } from '../../../lib/access';
import { SDK_MODULE } from '../../../lib/bundling';
import { OrchestratorStack } from '../../../lib/orchestrator-stack';
import { handlerEntry } from '../../../lib/paths';
import {
  actionsOf,
  nagFindings,
  policyStatements,
  resourcesOf,
  roleStatements,
  type Statement,
  stubBuild,
  testApp,
} from './helpers';

let stack: OrchestratorStack;
let template: Template;
let nag: string[];

const logicalId = (c: { node: { defaultChild?: unknown } } | CfnResource): string => {
  const cfn = ('cfnOptions' in c ? c : c.node.defaultChild) as CfnResource;
  return stack.resolve(stack.getLogicalId(cfn)) as string;
};
const fn = (name: FunctionName) => {
  const f = stack.functions.get(name);
  if (!f) throw new Error(`no function ${name}`);
  return f;
};
const statementsOf = (name: FunctionName): Statement[] =>
  roleStatements(template, logicalId(fn(name).role as unknown as { node: { defaultChild?: unknown } }));
const allowed = (name: FunctionName): string[] => statementsOf(name).flatMap(actionsOf);

beforeAll(() => {
  const app = testApp();
  stack = new OrchestratorStack(app, 'Benchfleet', { build: stubBuild() });
  template = Template.fromStack(stack);
  nag = nagFindings(stack);
});

describe('API routes', () => {
  it('creates one route per entry of the shared route table, each integrated with its handler', () => {
    const routes = resourcesOf(template, 'AWS::ApiGatewayV2::Route');
    const integrations = resourcesOf(template, 'AWS::ApiGatewayV2::Integration');
    // and the `$default` route (next test)
    expect(Object.keys(routes)).toHaveLength(ROUTES.length + 1);
    for (const route of ROUTES) {
      const found = Object.values(routes).find((r) => r.Properties?.RouteKey === routeKey(route));
      expect(found).toBeDefined();
      const target = JSON.stringify(found?.Properties?.Target);
      const integrationId = Object.keys(integrations).find((id) => target.includes(id));
      expect(integrationId).toBeDefined();
      expect(integrations[integrationId as string]?.Properties?.IntegrationUri).toEqual({
        'Fn::GetAtt': [logicalId(fn(route.handler)), 'Arn'],
      });
      expect(fn(route.handler).handlerName).toBe(route.handler);
      expect(existsSync(handlerEntry(route.handler))).toBe(true);
    }
  });

  it('runs every function on the newest Node.js LTS runtime, arm64, with source maps and a log retention', () => {
    const functions = resourcesOf(template, 'AWS::Lambda::Function');
    const ours = [...stack.functions.values()].map((f) => functions[logicalId(f)]);
    expect(ours).toHaveLength(
      ROUTES.filter((r, i) => ROUTES.findIndex((x) => x.handler === r.handler) === i).length +
        2 + // the reaper and the not-found function
        ASSEMBLY_STEPS.length,
    );
    for (const f of ours) {
      expect(f?.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Environment: { Variables: expect.objectContaining({ NODE_OPTIONS: '--enable-source-maps' }) },
      });
    }
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('gives every function the one AWS SDK layer of the stack, for the same runtime and architecture', () => {
    const layers = Object.entries(resourcesOf(template, 'AWS::Lambda::LayerVersion')).filter(([, l]) =>
      String(l.Properties?.Description).startsWith(SDK_MODULE),
    );
    expect(layers).toHaveLength(1);
    const [layerId, layer] = layers[0] ?? [];
    expect(layer?.Properties).toMatchObject({
      CompatibleRuntimes: ['nodejs24.x'],
      CompatibleArchitectures: ['arm64'],
    });
    const functions = resourcesOf(template, 'AWS::Lambda::Function');
    for (const f of stack.functions.values()) {
      expect(functions[logicalId(f)]?.Properties?.Layers).toEqual([{ Ref: layerId }]);
    }
  });

  it('gives every function the environment lambdas/shared/env.ts requires', () => {
    const functions = resourcesOf(template, 'AWS::Lambda::Function');
    for (const [fnName, f] of stack.functions) {
      if (fnName === NOT_FOUND_HANDLER) continue; // builds no deps, so needs none of it
      const env = functions[logicalId(f)]?.Properties?.Environment as
        | { Variables?: Record<string, unknown> }
        | undefined;
      const vars = env?.Variables ?? {};
      for (const name of Object.keys(LambdaEnv.shape)) expect(vars).toHaveProperty(name);
      expect(vars.POWERTOOLS_METRICS_NAMESPACE).toBe('Benchfleet');
    }
  });

  it('allows CORS from the dashboard origin only and throttles the stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: {
        AllowOrigins: [
          {
            'Fn::Join': [
              '',
              ['https://', { 'Fn::GetAtt': [Match.stringLikeRegexp('^DashboardCdn'), 'DomainName'] }],
            ],
          },
        ],
        AllowHeaders: ['authorization', 'content-type'],
        ExposeHeaders: ['date'], // the dashboard's clock-skew correction reads it
      },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it('puts writes behind no public grant: only API Gateway and EventBridge may invoke, every keyed route reads both keys', () => {
    expect(Object.keys(resourcesOf(template, 'AWS::Lambda::Url'))).toHaveLength(0);
    for (const p of Object.values(resourcesOf(template, 'AWS::Lambda::Permission'))) {
      expect(['apigateway.amazonaws.com', 'events.amazonaws.com']).toContain(p.Properties?.Principal);
      expect(p.Properties?.SourceArn).toBeDefined();
    }
    const secretRefs = [
      logicalId(stack.node.findChild('ApiKeys').node.findChild('OperatorKey') as never),
      logicalId(stack.node.findChild('ApiKeys').node.findChild('RunnerKey') as never),
    ];
    for (const route of ROUTES.filter((r) => r.access !== 'public')) {
      const reads = statementsOf(route.handler).filter((s) =>
        actionsOf(s).includes('secretsmanager:GetSecretValue'),
      );
      expect(reads.map((s) => JSON.stringify(s.Resource)).sort()).toEqual(
        secretRefs.map((id) => JSON.stringify({ Ref: id })).sort(),
      );
    }
  });
});

describe('least privilege', () => {
  it('never grants a wildcard action, and names table actions one by one (no Scan)', () => {
    for (const p of Object.values(resourcesOf(template, 'AWS::IAM::Policy'))) {
      for (const s of policyStatements(p)) {
        for (const a of actionsOf(s)) {
          expect(a).not.toBe('*');
          if (a.startsWith('dynamodb:')) {
            expect(a).not.toContain('*');
            expect(a).not.toBe('dynamodb:Scan');
          }
        }
      }
    }
  });

  it('gives the read routes read-only table access', () => {
    for (const name of ['get-run', 'list-tasks', 'upload-urls', 'assembly-build-archive'] as const) {
      const actions = allowed(name);
      expect(actions).toContain('dynamodb:GetItem');
      for (const write of [
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:BatchWriteItem',
      ]) {
        expect(actions).not.toContain(write);
      }
    }
    expect(allowed('claim-task')).toEqual(expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:Query']));
  });

  it('lets only claim and upload-urls presign uploads, only under runs/*/tasks/*', () => {
    for (const [name, allowedPut] of [
      ['claim-task', true],
      ['upload-urls', true],
      ['heartbeat-task', false],
      ['get-run', false],
      ['start-run', false],
    ] as const) {
      const puts = statementsOf(name).filter((s) => actionsOf(s).includes('s3:PutObject'));
      expect(puts.length > 0).toBe(allowedPut);
      for (const s of puts) expect(JSON.stringify(s.Resource)).toContain('/runs/*/tasks/*');
    }
    const head = statementsOf('complete-task').filter((s) => actionsOf(s).includes('s3:GetObject'));
    expect(JSON.stringify(head.map((s) => s.Resource))).toContain('/runs/*/tasks/*');
  });

  it('grants StartExecution and the reaper switch only to the functions that use them', () => {
    const smArn = 'stateMachine:Benchfleet-assembly';
    for (const name of [
      'stop-run',
      'complete-task',
      'fail-task',
      'assemble-run',
      'reap',
      'start-run',
    ] as const) {
      const s = statementsOf(name).find((x) => actionsOf(x).includes('states:StartExecution'));
      expect(JSON.stringify(s?.Resource)).toContain(smArn);
    }
    for (const name of ['get-run', 'claim-task', 'heartbeat-task'] as const) {
      expect(allowed(name)).not.toContain('states:StartExecution');
    }
    for (const name of ['start-run', 'reap', 'assembly-finalize', 'assembly-mark-failed'] as const) {
      const s = statementsOf(name).find((x) => actionsOf(x).includes('events:EnableRule'));
      expect(actionsOf(s as Statement)).toEqual(['events:EnableRule', 'events:DisableRule']);
      expect(JSON.stringify(s?.Resource)).toContain('rule/Benchfleet-reaper');
    }
    expect(allowed('claim-task')).not.toContain('events:EnableRule');
    // workflow steps never see the API keys
    for (const name of ['assembly-list-tasks', 'assembly-build-archive', 'reap'] as const) {
      expect(allowed(name)).not.toContain('secretsmanager:GetSecretValue');
    }
  });
});

describe('timeouts', () => {
  it('ends the start function before the reaper would resume its run: its batch writes never meet a resume', () => {
    const timeout = template.toJSON().Resources[logicalId(fn('start-run'))].Properties.Timeout as number;
    expect(timeout).toBeLessThan(RESUME_CREATING_AFTER_S);
  });
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

  it('schedules the reaper every minute, created disabled', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'Benchfleet-reaper',
      ScheduleExpression: 'rate(1 minute)',
      State: 'DISABLED',
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
