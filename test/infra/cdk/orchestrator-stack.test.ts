// The meta stack (lib/orchestrator-stack.ts) as CloudFormation, its API and functions: one route per
// entry of the shared route table, the function defaults (runtime, SDK layer, environment), CORS and
// throttling, who may invoke them, least-privilege grants, and the start function's timeout. The
// stack's other resources are in orchestrator-resources.test.ts; each file synthesizes it.
import { existsSync } from 'node:fs';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RESUME_CREATING_AFTER_S } from '../../../lambdas/core/runs';
import { LambdaEnv } from '../../../lambdas/shared/env';
import { NOT_FOUND_HANDLER, ROUTES, routeKey } from '../../../lambdas/shared/routes';
import { ASSEMBLY_STEPS } from '../../../lambdas/shared/workflow';
import { type FunctionName, USES } from '../../../lib/access';
import { SDK_MODULE } from '../../../lib/bundling';
import { OrchestratorStack } from '../../../lib/orchestrator-stack';
import { handlerEntry } from '../../../lib/paths';
import {
  actionsOf,
  functionLookups,
  policyStatements,
  resourcesOf,
  type Statement,
  stubBuild,
  testApp,
} from './helpers';

let stack: OrchestratorStack;
let template: Template;
const { logicalId, fn, statementsOf, allowed } = functionLookups(
  () => stack,
  () => template,
);

beforeAll(() => {
  const app = testApp();
  stack = new OrchestratorStack(app, 'Benchfleet', { build: stubBuild() });
  template = Template.fromStack(stack);
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

  it('gives the public read routes a limit of their own, set once those routes exist', () => {
    const publicKeys = ROUTES.filter((r) => r.access === 'public').map(routeKey);
    expect(publicKeys).toEqual(['GET /run', 'GET /run/tasks']);
    const limit = { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 };
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    expect(stage?.Properties.RouteSettings).toEqual(Object.fromEntries(publicKeys.map((k) => [k, limit])));
    const routes = template.findResources('AWS::ApiGatewayV2::Route');
    const idOf = (key: string) => Object.keys(routes).find((id) => routes[id]?.Properties.RouteKey === key);
    for (const key of publicKeys) expect(stage?.DependsOn).toContain(idOf(key));
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

  it('lets only the start of a run delete items or write them in batches', () => {
    const withDelete = (Object.keys(USES) as FunctionName[]).filter((name) =>
      allowed(name).some((a) => a === 'dynamodb:DeleteItem' || a === 'dynamodb:BatchWriteItem'),
    );
    expect(withDelete).toEqual(['start-run']);
    expect(allowed('start-run')).toEqual(
      expect.arrayContaining(['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']),
    );
    // the reaper's resume of a half-created run puts each missing task on its own
    expect(allowed('reap')).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem']));
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
