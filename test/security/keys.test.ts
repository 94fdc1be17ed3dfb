// The key check is constant-time: both sides are hashed to equal-length digests and compared with
// crypto.timingSafeEqual (a plain `===` leaks the matching prefix length through timing). The
// 401-per-route table lives in test/integration/api-errors.test.ts; this adds what it lacks.
// No wall-clock timing here (flaky): instead timingSafeEqual is replaced (jest.spyOn on the
// node:crypto module object that lambdas/shared/http.ts calls it through) to show that the decision
// is the one it makes, on fixed-length digests, with no other compare able to decide first.
import crypto, { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { ErrorBody } from '../../lambdas/shared/contract';
import { callerOf, httpRoute } from '../../lambdas/shared/http';
import { localContext } from '../../lambdas/shared/task';
import { client, OPERATOR, RUNNER, startTestStack } from '../helpers/api';

const keys = { operator: OPERATOR, runner: RUNNER };
const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();
/** Wrong keys as long as the right ones (sameSecret also compares the lengths, after a match). */
const WRONG_OPERATOR = 'w'.repeat(OPERATOR.length);
const WRONG_RUNNER = 'v'.repeat(RUNNER.length);

/** timingSafeEqual answering "equal" exactly when one side is the digest of `key`. */
function equalOnlyTo(key: string): (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => boolean {
  const digest = sha256(key);
  return (a, b) => [a, b].some((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(digest));
}

/** The real middy chain of every HTTP route (httpRoute), on an operator-only route. */
async function callOperatorRoute(token: string): Promise<number> {
  const route = httpRoute({ access: 'operator', keys: async () => keys }, async () => ({
    status: 200,
    body: { ok: true },
  }));
  const event = {
    version: '2.0',
    headers: { authorization: `Bearer ${token}` },
    requestContext: { http: { method: 'POST', path: '/run/stop' } },
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
  const out = (await route(event, localContext('keys-test', 5))) as APIGatewayProxyStructuredResultV2;
  return out.statusCode as number;
}

describe('callerOf compares keys in constant time', () => {
  afterEach(() => jest.restoreAllMocks());

  it('hands timingSafeEqual two equal-length digests, for both keys, whatever the token length', () => {
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    for (const token of ['x', OPERATOR, `${OPERATOR}x`, 'y'.repeat(5000)]) {
      spy.mockClear();
      callerOf(`Bearer ${token}`, keys);
      // both keys are always compared, so timing does not tell which one (if any) matched
      expect(spy).toHaveBeenCalledTimes(2);
      for (const [a, b] of spy.mock.calls) {
        const x = a as Buffer;
        const y = b as Buffer;
        expect(x.length).toBe(32);
        expect(y.length).toBe(32);
      }
    }
  });

  it('never compares the raw strings with === or startsWith', () => {
    // timingSafeEqual throws on unequal lengths; if the raw token reached it, this would throw
    expect(() => callerOf('Bearer a', keys)).not.toThrow();
    expect(callerOf(`Bearer ${OPERATOR}`, keys)).toBe('operator');
    expect(callerOf(`Bearer ${RUNNER}`, keys)).toBe('runner');
  });

  it('refuses prefixes, extensions and case changes of a key', () => {
    const near = [
      OPERATOR.slice(0, -1),
      `${OPERATOR}a`,
      OPERATOR.toUpperCase(),
      RUNNER.slice(1),
      `${RUNNER}${RUNNER}`,
      `${OPERATOR} ${RUNNER}`,
    ];
    for (const token of near) expect(callerOf(`Bearer ${token}`, keys)).toBeNull();
    expect(callerOf(OPERATOR, keys)).toBeNull(); // no Bearer scheme
    expect(callerOf(undefined, keys)).toBeNull();
  });
});

describe("the decision is the constant-time compare's", () => {
  afterEach(() => jest.restoreAllMocks());

  it('refuses the right keys when timingSafeEqual says the digests differ', async () => {
    jest.spyOn(crypto, 'timingSafeEqual').mockReturnValue(false);
    expect(callerOf(`Bearer ${OPERATOR}`, keys)).toBeNull();
    expect(callerOf(`Bearer ${RUNNER}`, keys)).toBeNull();
    expect(await callOperatorRoute(OPERATOR)).toBe(401);
  });

  it('accepts a wrong key of the right length when timingSafeEqual says the digests are equal', async () => {
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    expect(callerOf(`Bearer ${WRONG_OPERATOR}`, keys)).toBeNull(); // the real compare refuses it
    expect(await callOperatorRoute(WRONG_OPERATOR)).toBe(401);
    spy.mockImplementation(equalOnlyTo(OPERATOR));
    expect(callerOf(`Bearer ${WRONG_OPERATOR}`, keys)).toBe('operator');
    expect(await callOperatorRoute(WRONG_OPERATOR)).toBe(200);
    spy.mockImplementation(equalOnlyTo(RUNNER));
    expect(callerOf(`Bearer ${WRONG_RUNNER}`, keys)).toBe('runner');
    expect(await callOperatorRoute(WRONG_RUNNER)).toBe(401); // the runner key on an operator route
  });

  it('compares the 32-byte digests of the token and of each key, whatever the lengths of either', () => {
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    const hex = (x: NodeJS.ArrayBufferView): string =>
      Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');
    const keySets = [
      { operator: 'o', runner: 'r'.repeat(4096) },
      { operator: 'O'.repeat(300), runner: 'ru' },
      keys,
    ];
    for (const k of keySets) {
      for (const token of [
        't',
        k.operator,
        k.runner,
        `${k.operator}x`,
        k.runner.slice(1) || 'z',
        'z'.repeat(10_000),
      ]) {
        spy.mockClear();
        const caller = callerOf(`Bearer ${token}`, k);
        // exactly one compare per key, each of two SHA-256 digests: no early exit on a length
        const pairs = spy.mock.calls.map(([a, b]) => [hex(a), hex(b)].sort());
        expect(pairs).toHaveLength(2);
        expect(pairs).toEqual(
          expect.arrayContaining([
            [sha256(token).toString('hex'), sha256(k.operator).toString('hex')].sort(),
            [sha256(token).toString('hex'), sha256(k.runner).toString('hex')].sort(),
          ]),
        );
        for (const [a, b] of spy.mock.calls) expect([a.byteLength, b.byteLength]).toEqual([32, 32]);
        expect(caller).toBe(token === k.operator ? 'operator' : token === k.runner ? 'runner' : null);
      }
    }
  });
});

describe('keys of other lengths over HTTP', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.stop());

  it('answers 401 to keys shorter, longer or near the real ones and starts nothing', async () => {
    const api = client(stack.apiUrl);
    const cfg = { ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['k'] };
    const tokens = ['a', OPERATOR.slice(0, -1), `${OPERATOR}0`, 'k'.repeat(4096), RUNNER];
    for (const key of tokens) {
      const answer = await api.call('POST', '/run/start', { key, body: cfg });
      expect(answer.status).toBe(401);
      expect(ErrorBody.parse(answer.body).error).toBe('unauthorized');
    }
    const claim = await api.call('POST', '/tasks/claim', {
      key: `${RUNNER}\u00e9`,
      body: { provider: 'local', instance_type: 'k', runner_id: 'r' },
    });
    expect(claim.status).toBe(401);
    expect((await api.run()).status).toBe(404); // no run was ever started
  });

  it('lets the constant-time compare decide, through the local server too', async () => {
    const api = client(stack.apiUrl);
    const cfg = { ruby_version: '3.4.7', runs_per_instance_type: 1, local: ['k'] };
    const spy = jest.spyOn(crypto, 'timingSafeEqual').mockReturnValue(false);
    try {
      expect((await api.call('POST', '/run/start', { key: OPERATOR, body: cfg })).status).toBe(401);
      spy.mockImplementation(equalOnlyTo(OPERATOR));
      // past the key check: no run to stop is a 404, not a 401
      const stop = await api.call('POST', '/run/stop', { key: WRONG_OPERATOR });
      expect(stop.status).toBe(404);
      expect(ErrorBody.parse(stop.body).error).toBe('not_found');
    } finally {
      spy.mockRestore();
    }
    expect((await api.call('POST', '/run/stop', { key: WRONG_OPERATOR })).status).toBe(401);
    expect((await api.run()).status).toBe(404); // still no run
  });

  it('answers a public read sent a wrong key with 401, and without a key, either key or another scheme as before', async () => {
    const api = client(stack.apiUrl);
    const started = await api.start({ local: ['k'], runs_per_instance_type: 1 });
    expect(started.status).toBe(201);
    for (const path of ['/run', '/run/tasks']) {
      for (const key of [WRONG_OPERATOR, 'a', `${OPERATOR}0`]) {
        const answer = await api.call('GET', path, { key });
        expect({ path, status: answer.status }).toEqual({ path, status: 401 });
        expect(ErrorBody.parse(answer.body).message).toMatch(
          /a read needs no key, but a key sent with one is checked/,
        );
      }
      for (const key of [null, OPERATOR, RUNNER]) {
        expect({ path, key, status: (await api.call('GET', path, { key })).status }).toEqual({
          path,
          key,
          status: 200,
        });
      }
      // a proxy's Basic auth in front of the dashboard is not a key of this API
      const basic = await api.call('GET', path, { headers: { authorization: `Basic ${OPERATOR}` } });
      expect(basic.status).toBe(200);
    }
    expect((await api.call('POST', '/run/stop', { key: OPERATOR })).status).toBe(200);
  });
});
