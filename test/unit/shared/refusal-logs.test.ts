// A runner VM is gone by the time an operator asks why its complete was refused: the API's own log
// keeps each refusal (a report refused as another runner's, too late or stale, and a refused key)
// as one line that names the route and says what happened. A client's malformed request is not
// logged: it is the client's to read.
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { ConflictError } from '../../../lambdas/core/errors';
import { httpRoute } from '../../../lambdas/shared/http';
import { logger } from '../../../lambdas/shared/logger';

const keys = { operator: 'op-key-0123456789', runner: 'rn-key-0123456789' };
const route = httpRoute({ access: 'runner', keys: async () => keys }, async () => {
  throw new ConflictError(
    'not_your_task',
    'task 170000000000001 is held by runner host-b-0 (attempt 2), not by runner host-a-0',
  );
});
const call = (authorization: string, body = '{}') =>
  route(
    {
      routeKey: 'POST /task/{task_id}/complete',
      headers: { authorization, 'content-type': 'application/json' },
      pathParameters: { task_id: '170000000000001' },
      body,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2,
    { awsRequestId: 'req-7' } as Context,
  );

let lines: Array<Record<string, unknown>>;
let restore: () => void;
beforeEach(() => {
  lines = [];
  logger.setLogLevel('INFO');
  const spies = (['stdout', 'stderr'] as const).map((s) =>
    jest.spyOn(process[s], 'write').mockImplementation((chunk: string | Uint8Array) => {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      return true;
    }),
  );
  restore = () => {
    for (const spy of spies) spy.mockRestore();
  };
});
afterEach(() => restore());

it('logs a refused report with its route, status, code and message, and no key', async () => {
  const reply = (await call(`Bearer ${keys.runner}`)) as { statusCode: number };
  expect(reply.statusCode).toBe(409);
  restore();
  expect(lines).toEqual([
    expect.objectContaining({
      level: 'INFO',
      message:
        'POST /task/{task_id}/complete refused (409 not_your_task): task 170000000000001 is held by runner host-b-0 (attempt 2), not by runner host-a-0',
      route: 'POST /task/{task_id}/complete',
      error: 'not_your_task',
      requestId: 'req-7',
    }),
  ]);
});

it('logs a refused key without the key, and not a malformed request', async () => {
  expect(((await call('Bearer wrong-key-abcdef')) as { statusCode: number }).statusCode).toBe(401);
  expect(((await call(`Bearer ${keys.runner}`, '{"nope":')) as { statusCode: number }).statusCode).toBe(400);
  restore();
  expect(lines.map((l) => l.message)).toEqual([
    'POST /task/{task_id}/complete refused (401 unauthorized): the API key is wrong: this route takes the runner key (or the operator key)',
  ]);
  expect(JSON.stringify(lines)).not.toContain('wrong-key-abcdef');
});
