// Seconds options that become a timer's delay: Node holds at most 2^31-1 ms (about 24.8 days) and
// fires after 1 ms when given more, which would time every task out at once. Such values are
// refused with a clear error, on the command line and in the programmatic options alike.
import { parseArgs } from '../../runner/cli';
import { MAX_TIMER_S, resolveOptions } from '../../runner/options';

const required = [
  '--api',
  'http://api',
  '--api-key',
  'k',
  '--provider',
  'aws',
  '--instance-type',
  'c7a.large',
];
const base = { apiUrl: 'http://api', apiKey: 'k', provider: 'aws' as const, instanceType: 'c7a.large' };

let stderr: jest.SpyInstance;
beforeEach(() => {
  stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => stderr.mockRestore());

it('is the longest whole number of seconds a Node timer holds', () => {
  expect(MAX_TIMER_S).toBe(2147483);
  expect(MAX_TIMER_S * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
});

it.each(['--task-timeout-s', '--heartbeat-s'])(
  '%s above the limit is refused on the command line',
  (flag) => {
    expect(() => parseArgs([...required, flag, '3000000'], {})).toThrow(
      /3000000 is too long: at most 2147483 s/,
    );
    expect(() => parseArgs([...required, flag, '2147483'], {})).not.toThrow();
  },
);

it('BENCHFLEET_TASK_TIMEOUT_S above the limit is refused too', () => {
  expect(() => parseArgs(required, { BENCHFLEET_TASK_TIMEOUT_S: '2147484' })).toThrow(/too long/);
});

it.each([
  ['taskTimeoutS', '--task-timeout-s'],
  ['heartbeatS', '--heartbeat-s'],
])('%s above the limit is refused by resolveOptions', (key, flag) => {
  expect(() => resolveOptions({ ...base, [key]: 3_000_000 })).toThrow(
    `${flag} 3000000 is too long: at most 2147483 s (about 24.8 days)`,
  );
  expect(resolveOptions({ ...base, [key]: MAX_TIMER_S })).toMatchObject({ [key]: MAX_TIMER_S });
});
