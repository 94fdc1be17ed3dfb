// Unit files checked by systemd's own parser where this machine has one (`systemd-analyze verify`
// reads unit files without a running systemd), as `terraform fmt` is where terraform exists: a
// typo in a directive is silently ignored by systemd at boot, so the timer would never fire.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const hasSystemdAnalyze =
  spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

/** What `systemd-analyze verify` says of the files (empty: nothing), or undefined without it. */
export function verifyUnits(files: string[]): { status: number | null; output: string } | undefined {
  if (!hasSystemdAnalyze) return undefined;
  const r = spawnSync('systemd-analyze', ['verify', ...files], {
    encoding: 'utf8',
    // no pager, no colours; a unit's dependencies outside the given files are not its problem here
    env: { ...process.env, SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** A systemd time span in seconds as systemd parses it (`300 min` -> 18000), or undefined without it. */
export function timespanSeconds(value: string): number | undefined {
  if (!hasSystemdAnalyze) return undefined;
  const r = spawnSync('systemd-analyze', ['timespan', value], { encoding: 'utf8' });
  const us = /μs: (\d+)/.exec(r.stdout)?.[1];
  if (r.status !== 0 || us === undefined)
    throw new Error(`systemd cannot parse the time span ${value}: ${r.stderr}`);
  return Number(us) / 1e6;
}

/** The moment this machine booted, in epoch seconds, as the timer scripts compute it. */
export const bootEpochS = (): number =>
  Math.floor(Date.now() / 1000) - Math.floor(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]));

/**
 * The `OnCalendar=` deadline of a timer's lines, checked to be `minutes` after this machine's boot
 * (within a few seconds: the script and this check each read the clock), and, where systemd is
 * installed, read as that same moment by its own calendar parser.
 */
export function expectDeadlineAfterBoot(timer: string[], minutes: number): void {
  const lines = timer.filter((l) => l.startsWith('OnCalendar='));
  expect(lines).toHaveLength(1);
  const value = (lines[0] as string).slice('OnCalendar='.length);
  expect(value).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  const at = Date.parse(value.replace(' UTC', 'Z').replace(' ', 'T')) / 1000;
  expect(Math.abs(at - (bootEpochS() + minutes * 60))).toBeLessThanOrEqual(3);
  if (!hasSystemdAnalyze) return;
  const r = spawnSync('systemd-analyze', ['calendar', value], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC', SYSTEMD_COLORS: '0' },
  });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`Normalized form: ${value}`);
}
