// The `$default` route's handler: what API Gateway hands it for a request no route matches, and
// the JSON 404 it answers, the same one the local server gives (both call unmatchedRoute).
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handler } from '../../../lambdas/handlers/not-found';
import { ErrorBody } from '../../../lambdas/shared/contract';
import { ROUTES, unmatchedRoute } from '../../../lambdas/shared/routes';

/** The parts of a `$default` route's event the handler reads, as API Gateway sends them. */
const event = (method: string, path: string): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: { http: { method, path } },
  }) as unknown as APIGatewayProxyEventV2;

const answer = async (method: string, path: string) => {
  const out = await handler(event(method, path));
  return {
    status: out.statusCode,
    type: out.headers?.['content-type'],
    cache: out.headers?.['cache-control'],
    body: JSON.parse(String(out.body)),
  };
};

it('answers an unknown path with the JSON not_found error of every other 404', async () => {
  const a = await answer('GET', '/nope');
  expect(a).toEqual({
    status: 404,
    type: 'application/json',
    cache: 'no-store',
    body: { error: 'not_found', message: 'no route GET /nope' },
  });
  expect(ErrorBody.safeParse(a.body).success).toBe(true);
});

it('names the methods a known path takes when the method is wrong', async () => {
  expect((await answer('GET', '/run/start')).body).toEqual({
    error: 'not_found',
    message: 'GET is not allowed on /run/start: use POST',
  });
  expect((await answer('DELETE', '/tasks/17/heartbeat')).body.message).toBe(
    'DELETE is not allowed on /tasks/17/heartbeat: use POST',
  );
  expect((await answer('PUT', '/run')).body.message).toBe('PUT is not allowed on /run: use GET');
});

it('answers every method on every table path outside its route, and nothing inside one', async () => {
  for (const route of ROUTES) {
    const path = route.path.replace(/\{\w+\}/g, '42');
    const other = route.method === 'GET' ? 'POST' : 'GET';
    // /run takes GET only and /run/start POST only, so the other method is always unmatched here.
    expect((await answer(other, path)).status).toBe(404);
    expect(unmatchedRoute(other, path).body.message).toContain(`use ${route.method}`);
  }
});

it('keeps a very long path out of the message', async () => {
  const a = await answer('GET', `/${'x'.repeat(5000)}`);
  expect(a.body.message.length).toBeLessThan(300);
});
