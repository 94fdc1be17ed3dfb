// nuke's closing lines. A dry run's "0 found" is only true of what it could list: when a provider
// could not be listed (no region, no credentials), the summary says so and names what, since the
// command's last word points at those "not checked" lines.
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
    '  not checked: could not list aws vpc: Region is missing',
  ]);
});

it('keeps a dry run that could look everywhere to one line', async () => {
  const report = await sweep([], { dryRun: true });
  expect(summarize(report, true)).toEqual(['dry run: 0 tagged resource(s) found, nothing was changed']);
});
