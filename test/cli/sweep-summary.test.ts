// nuke's closing lines. A dry run's "0 found" is only true of what it could list: when a provider
// could not be listed (no region, no credentials), the summary says so and names what, since the
// command's last word points at those "not checked" lines. A missing AWS region is said once.
import { type SweepStep, summarize, sweep } from '../../cli/lib/sweep';

const quiet = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
afterAll(() => quiet.mockRestore());

const steps: SweepStep[] = [
  {
    provider: 'aws',
    kind: 'vpc',
    find: () => Promise.reject(new Error('Region is missing')),
    remove: () => Promise.resolve(),
  },
];

it('says a dry run could not look everywhere, and where', async () => {
  const report = await sweep(steps, { dryRun: true });
  expect(summarize(report, true)).toEqual([
    'dry run: 0 tagged resource(s) found where it could look (see "not checked" below), nothing was changed',
    '  not checked: could not list any aws resource: no AWS region is set: set AWS_REGION (or AWS_PROFILE, for a profile with a region), or run `aws configure`',
  ]);
});

it('says a missing AWS region once, not once per step, and skips the other AWS steps', async () => {
  const noRegion = () => Promise.reject(new Error('Region is missing'));
  const finds = jest.fn(noRegion);
  quiet.mockClear();
  const report = await sweep(
    ['stack', 'instance', 'log-group', 'log-group'].map((kind) => ({
      provider: 'aws' as const,
      kind,
      find: finds,
      remove: () => Promise.resolve(),
    })),
    { dryRun: true },
  );
  expect(finds).toHaveBeenCalledTimes(1);
  expect(report.skipped).toEqual([
    'could not list any aws resource: no AWS region is set: set AWS_REGION (or AWS_PROFILE, for a profile with a region), or run `aws configure`',
  ]);
  expect(quiet.mock.calls.map(([s]) => String(s)).filter((s) => s.includes('could not list'))).toHaveLength(
    1,
  );
});

it('says once that two steps of one kind could not be listed for the same reason', async () => {
  const denied = () => Promise.reject(new Error('not allowed to list log groups'));
  quiet.mockClear();
  const report = await sweep(
    [1, 2].map(() => ({
      provider: 'aws' as const,
      kind: 'log-group',
      find: denied,
      remove: () => Promise.resolve(),
    })),
    { dryRun: true },
  );
  expect(report.skipped).toEqual(['could not list aws log-group: not allowed to list log groups']);
  expect(quiet.mock.calls.filter(([s]) => String(s).includes('could not list'))).toHaveLength(1);
});

it('keeps a dry run that could look everywhere to one line', async () => {
  const report = await sweep([], { dryRun: true });
  expect(summarize(report, true)).toEqual(['dry run: 0 tagged resource(s) found, nothing was changed']);
});
