// networkErrorText: what a network error's text keeps of its cause, which fetch hides behind
// `fetch failed` and a socket error keeps in its code.
import { networkErrorText } from '../../runner/log';

const withCode = (message: string, code?: string): Error => Object.assign(new Error(message), { code });
const fetchFailed = (cause: unknown): Error => new TypeError('fetch failed', { cause });

it.each([
  [
    'a refused port',
    fetchFailed(withCode('connect ECONNREFUSED 127.0.0.1:1999', 'ECONNREFUSED')),
    'fetch failed (ECONNREFUSED 127.0.0.1:1999)',
  ],
  [
    'an unknown host',
    fetchFailed(withCode('getaddrinfo ENOTFOUND api.invalid', 'ENOTFOUND')),
    'fetch failed (ENOTFOUND api.invalid)',
  ],
  ['a port fetch will not use', fetchFailed(new Error('bad port')), 'fetch failed (bad port)'],
  [
    'a TLS error',
    fetchFailed(withCode('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT')),
    'fetch failed (DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate)',
  ],
  [
    'one refusal per address (an AggregateError has no message of its own)',
    fetchFailed(
      Object.assign(
        new AggregateError([
          withCode('connect ECONNREFUSED ::1:1999', 'ECONNREFUSED'),
          withCode('connect ECONNREFUSED 127.0.0.1:1999', 'ECONNREFUSED'),
        ]),
        { code: 'ECONNREFUSED' },
      ),
    ),
    'fetch failed (ECONNREFUSED ::1:1999, ECONNREFUSED 127.0.0.1:1999)',
  ],
  [
    'a socket error whose message leaves out its code',
    withCode('socket hang up', 'ECONNRESET'),
    'socket hang up (ECONNRESET)',
  ],
  ['a plain error', new Error('the PUT stalled'), 'the PUT stalled'],
])('%s', (_, err, text) => {
  expect(networkErrorText(err)).toBe(text);
});
