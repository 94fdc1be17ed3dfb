// CORS preflights in the cloud: API Gateway hands an OPTIONS request no route takes to the `$default`
// route, and with CORS configured adds its own CORS headers to that integration's answer. So the
// not-found function must answer a preflight 204, or every keyed request of the dashboard (its
// Authorization header makes the browser ask first) fails. The local server answers alike.

import { Template } from 'aws-cdk-lib/assertions';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handler } from '../../../lambdas/handlers/not-found';
import { isPreflight, PREFLIGHT, ROUTES } from '../../../lambdas/shared/routes';
import { OrchestratorStack } from '../../../lib/orchestrator-stack';
import { type Resource, resourcesOf, stubBuild, testApp } from './helpers';

/** A `$default` route event as API Gateway sends it (the fields the handler reads). */
const event = (method: string, path: string): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { origin: 'https://d111111abcdef8.cloudfront.net', 'access-control-request-method': 'POST' },
    isBase64Encoded: false,
    requestContext: { http: { method, path } },
  }) as unknown as APIGatewayProxyEventV2;

describe('the not-found function', () => {
  it('answers a preflight 204 with an empty body, on a route path and on an unknown one', async () => {
    const paths = [...ROUTES.map((r) => r.path.replace(/\{\w+\}/g, '42')), '/nope'];
    for (const path of paths) {
      const out = await handler(event('OPTIONS', path));
      expect({ path, status: out.statusCode, body: out.body ?? '' }).toEqual({ path, status: 204, body: '' });
      // API Gateway adds the CORS headers; a JSON content type on an empty body would be a lie.
      expect(out.headers?.['content-type']).toBeUndefined();
    }
  });

  it('still answers every other method outside the table with the JSON 404', async () => {
    for (const method of ['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD']) {
      const out = await handler(event(method, '/nope'));
      expect(out.statusCode).toBe(404);
      expect(out.headers?.['content-type']).toBe('application/json');
      expect(JSON.parse(String(out.body))).toEqual({
        error: 'not_found',
        message: `no route ${method} /nope`,
      });
    }
  });

  it('takes the preflight answer from the one shared definition the local server uses too', () => {
    expect(PREFLIGHT).toEqual({ status: 204, body: '' });
    expect(isPreflight('OPTIONS')).toBe(true);
    for (const m of ['GET', 'POST', 'options-ish']) expect(isPreflight(m)).toBe(false);
    expect(ROUTES.some((r) => isPreflight(r.method))).toBe(false);
  });
});

describe('the synthesized API', () => {
  let template: Template;
  let stack: OrchestratorStack;
  beforeAll(() => {
    stack = new OrchestratorStack(testApp(), 'Benchfleet', { build: stubBuild() });
    template = Template.fromStack(stack);
  });

  it('sends preflights to the not-found function: `$default` routes to it, and no route is an OPTIONS one', () => {
    const routes = Object.values(resourcesOf(template, 'AWS::ApiGatewayV2::Route'));
    expect(routes.map((r) => String(r.Properties?.RouteKey)).filter((k) => k.startsWith('OPTIONS'))).toEqual(
      [],
    );
    const fallback = routes.find((r) => r.Properties?.RouteKey === '$default') as Resource;
    // No authorizer on it: a preflight carries no key.
    expect(fallback.Properties?.AuthorizationType ?? 'NONE').toBe('NONE');
    const integrations = resourcesOf(template, 'AWS::ApiGatewayV2::Integration');
    const target = JSON.stringify(fallback.Properties?.Target);
    const id = Object.keys(integrations).find((k) => target.includes(k)) as string;
    const notFound = stack.functions.get('not-found');
    const fnId = stack.resolve(stack.getLogicalId(notFound?.node.defaultChild as never)) as string;
    expect(integrations[id]?.Properties?.IntegrationUri).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
  });

  it('lets the dashboard send its key: CORS allows the authorization header and OPTIONS', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: {
        AllowHeaders: ['authorization', 'content-type'],
        AllowMethods: ['GET', 'POST', 'OPTIONS'],
      },
    });
  });
});
