// The key check is constant-time: both sides are hashed to equal-length digests and compared with
// crypto.timingSafeEqual (a plain `===` leaks the matching prefix length through timing). The
// 401-per-route table lives in test/integration/api-errors.test.ts; this adds what it lacks.
import crypto from 'node:crypto';
import type { LocalStack } from '../../lambdas/adapters/local/stack';
import { ErrorBody } from '../../lambdas/shared/contract';
import { callerOf } from '../../lambdas/shared/http';
import { client, OPERATOR, RUNNER, startTestStack } from '../helpers/api';

const keys = { operator: OPERATOR, runner: RUNNER };

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
});
