// The meta stack's wiring beyond the route table: the API's `$default` route, the reaper's async
// invocation settings, and the bundling options. Apart from orchestrator-stack.test.ts so each
// file stays short; both synthesize the same stack.
import { existsSync } from 'node:fs';
import type { CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { NOT_FOUND_HANDLER } from '../../../lambdas/shared/routes';
import type { FunctionName } from '../../../lib/access';
import { lambdaBundling, parseSdkSource, SDK_MODULE } from '../../../lib/bundling';
import { OrchestratorStack } from '../../../lib/orchestrator-stack';
import { handlerEntry } from '../../../lib/paths';
import { actionsOf, resourcesOf, roleStatements, stubBuild, testApp } from './helpers';

let stack: OrchestratorStack;
let template: Template;

const logicalId = (c: { node: { defaultChild?: unknown } }): string => {
  const cfn = c.node.defaultChild as CfnResource;
  return stack.resolve(stack.getLogicalId(cfn)) as string;
};
const fn = (name: FunctionName) => {
  const f = stack.functions.get(name);
  if (!f) throw new Error(`no function ${name}`);
  return f;
};

beforeAll(() => {
  stack = new OrchestratorStack(testApp(), 'Benchfleet', { build: stubBuild() });
  template = Template.fromStack(stack);
});

describe('API fallback', () => {
  it('sends every request no route matches to the not-found function, which answers from the route table', () => {
    const routes = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route'));
    const fallback = routes.find((r) => r.Properties?.RouteKey === '$default');
    expect(fallback).toBeDefined();
    const integrations = resourcesOf(template, 'AWS::ApiGatewayV2::Integration');
    const target = JSON.stringify(fallback?.Properties?.Target);
    const integrationId = Object.keys(integrations).find((id) => target.includes(id));
    expect(integrations[integrationId as string]?.Properties?.IntegrationUri).toEqual({
      'Fn::GetAtt': [logicalId(fn(NOT_FOUND_HANDLER)), 'Arn'],
    });
    expect(fn(NOT_FOUND_HANDLER).handlerName).toBe(NOT_FOUND_HANDLER);
    expect(existsSync(handlerEntry(NOT_FOUND_HANDLER))).toBe(true);
    // It reads nothing: no table, no keys, no bucket.
    const role = fn(NOT_FOUND_HANDLER).role as unknown as { node: { defaultChild?: unknown } };
    expect(roleStatements(template, logicalId(role)).flatMap(actionsOf)).toEqual([]);
  });
});

describe('reaper', () => {
  it('lets Lambda retry no failed reaper pass, so a retry never runs beside the next scheduled pass', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(fn('reap')) },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });
});

describe('bundling options', () => {
  it('leaves the SDK to the stack layer by default, and bundles it into each function only when asked', () => {
    expect(lambdaBundling(parseSdkSource(undefined))).toMatchObject({
      minify: true,
      sourceMap: true,
      target: 'node24',
      externalModules: [SDK_MODULE],
    });
    expect(lambdaBundling(parseSdkSource('bundled')).externalModules).toEqual([]);
    expect(() => parseSdkSource('runtime')).toThrow(/lambdaSdk must be "layer" or "bundled"/);
  });

  it('adds no layer when each function bundles its SDK', () => {
    const app = testApp();
    app.node.setContext('lambdaSdk', 'bundled');
    const other = new OrchestratorStack(app, 'Bundled', { build: stubBuild() });
    const layers = Object.values(resourcesOf(Template.fromStack(other), 'AWS::Lambda::LayerVersion'));
    expect(layers.filter((l) => String(l.Properties?.Description).startsWith(SDK_MODULE))).toEqual([]);
    for (const f of other.functions.values()) expect(f.node.tryFindChild('AwsSdkLayer')).toBeUndefined();
    const functions = resourcesOf(Template.fromStack(other), 'AWS::Lambda::Function');
    const ids = [...other.functions.values()].map((f) =>
      other.resolve(other.getLogicalId(f.node.defaultChild as CfnResource)),
    );
    for (const id of ids) expect(functions[id as string]?.Properties?.Layers).toBeUndefined();
  });
});
