// The flags a `benchfleet local` run was started with, recorded in its data dir
// (cli/lib/local-run-record.ts): on resume a flag left out takes the recorded value, one given with
// another value is refused naming both, flags of the other workload do not matter, and a data dir
// without a record of its run resumes with the flags given. The flags are parsed by the real
// `local` options, so "given" is what commander saw on the command line.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { checkLocalFlags, givenFlags, type LocalFlags, localOptions } from '../../cli/lib/local-flags';
import { RUN_RECORD_FILE, recordRun, resumeSettings } from '../../cli/lib/local-run-record';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bf-run-record-'));
  file = join(dir, RUN_RECORD_FILE);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The settings of `benchfleet local ...args`. */
function settingsOf(...args: string[]): ReturnType<typeof checkLocalFlags> {
  const cmd = localOptions(new Command('local')).exitOverride();
  cmd.parse(args, { from: 'user' });
  return checkLocalFlags(cmd.opts<LocalFlags>(), {}, givenFlags(cmd));
}

const RUN = 1_700_000_000;
const refusal = (was: string, now: string, flag: string, leaveOut = true): string =>
  `run ${RUN} in the data dir ${dir} was started ${was}; resuming it ${now} would mix two kinds of numbers in one archive. Resume it ${was}${leaveOut ? ` (or leave ${flag} out)` : ''}, or start a new run with another --data-dir`;

it('records, atomically, the workload and the flags that change what its tasks measure', () => {
  recordRun(dir, RUN, settingsOf('--workload', 'docker', '--image', 'ruby:3.4', '--synthetic-size', '0'));
  expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
    run_id: RUN,
    workload: 'docker',
    image: 'ruby:3.4',
  });
  recordRun(dir, RUN + 1, settingsOf('--synthetic-size', '0', '--image', 'ruby:3.4'));
  expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
    run_id: RUN + 1,
    workload: 'synthetic',
    synthetic_size: 0,
  });
  expect(readdirSync(dir)).toEqual([RUN_RECORD_FILE]); // no temp file left beside it
});

it('resumes with the recorded workload and image when --workload and --image are left out, saying so', () => {
  recordRun(dir, RUN, settingsOf('--workload', 'docker', '--image', 'ruby:3.4'));
  const resumed = resumeSettings(dir, RUN, settingsOf('--synthetic-size', '0'));
  expect(resumed.settings).toMatchObject({ workload: 'docker', image: 'ruby:3.4', syntheticSize: 0 });
  expect(resumed.note).toBe(
    `  resuming with --workload docker --image ruby:3.4, as the run was started (recorded in ${file}; flags given now must match it)`,
  );
  // the same flags given again: nothing to say
  expect(resumeSettings(dir, RUN, settingsOf('--workload', 'docker', '--image', 'ruby:3.4'))).toEqual({
    settings: settingsOf('--workload', 'docker', '--image', 'ruby:3.4'),
  });
});

it('refuses a resume with another --workload, naming both and what to do', () => {
  recordRun(dir, RUN, settingsOf('--workload', 'docker'));
  expect(() => resumeSettings(dir, RUN, settingsOf('--workload', 'synthetic'))).toThrow(
    refusal('with --workload docker', 'with --workload synthetic', '--workload'),
  );
  recordRun(dir, RUN, settingsOf());
  expect(() => resumeSettings(dir, RUN, settingsOf('--workload', 'docker'))).toThrow(
    refusal('with --workload synthetic', 'with --workload docker', '--workload'),
  );
});

it("refuses another --image, --ruby-bench-dir or --synthetic-size than the run's; the other workload's flags do not matter", () => {
  recordRun(dir, RUN, settingsOf('--workload', 'docker'));
  expect(() => resumeSettings(dir, RUN, settingsOf('--image', 'ruby:3.3'))).toThrow(
    refusal('without --image', 'with --image ruby:3.3', '--image', false),
  );
  expect(() => resumeSettings(dir, RUN, settingsOf('--ruby-bench-dir', dir))).toThrow(
    refusal('without --ruby-bench-dir', `with --ruby-bench-dir ${dir}`, '--ruby-bench-dir', false),
  );
  expect(resumeSettings(dir, RUN, settingsOf('--synthetic-size', '3')).settings.workload).toBe('docker');

  recordRun(dir, RUN, settingsOf('--synthetic-size', '0'));
  expect(() => resumeSettings(dir, RUN, settingsOf('--synthetic-size', '2'))).toThrow(
    refusal('with --synthetic-size 0', 'with --synthetic-size 2', '--synthetic-size'),
  );
  const resumed = resumeSettings(dir, RUN, settingsOf('--image', 'ruby:3.3'));
  expect(resumed.settings).toMatchObject({ workload: 'synthetic', syntheticSize: 0 });
  expect(resumed.note).toContain('resuming with --synthetic-size 0, as the run was started');
});

it('refuses to resume a docker run whose recorded ruby-bench checkout is gone, naming it', () => {
  const checkout = join(dir, 'ruby-bench');
  mkdirSync(checkout);
  recordRun(dir, RUN, settingsOf('--workload', 'docker', '--ruby-bench-dir', checkout));
  expect(resumeSettings(dir, RUN, settingsOf()).settings).toMatchObject({ rubyBenchDir: checkout });
  rmSync(checkout, { recursive: true });
  expect(() => resumeSettings(dir, RUN, settingsOf())).toThrow(
    `run ${RUN} in the data dir ${dir} was started with --ruby-bench-dir ${checkout}, which is no longer a folder; put the ruby-bench checkout back there to resume it, or start a new run with another --data-dir`,
  );
  writeFileSync(checkout, 'a file now'); // something else in its place
  expect(() => resumeSettings(dir, RUN, settingsOf('--workload', 'docker'))).toThrow('no longer a folder');
});

it('resumes with the flags given when the data dir has no record of its run (an older benchfleet)', () => {
  const given = settingsOf('--workload', 'docker', '--image', 'ruby:3.3');
  expect(resumeSettings(dir, RUN, given)).toEqual({ settings: given });
  recordRun(dir, RUN - 1, settingsOf()); // an earlier run's record: not this run's
  expect(resumeSettings(dir, RUN, given)).toEqual({ settings: given });
});

it('refuses a damaged record, naming it and what to do', () => {
  for (const text of ['', '{"run_id": 1', '{"run_id": 1, "workload": "vm"}', '[]']) {
    writeFileSync(file, text);
    expect(() => resumeSettings(dir, RUN, settingsOf())).toThrow(
      `${file} is damaged: it records the workload the data dir's run was started with; delete it to resume that run with the flags given now`,
    );
  }
});
